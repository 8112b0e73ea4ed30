// Snapshots: a fuzzy snapshot taken while writes go on, plus the log after it, rebuilds exactly the
// live tree; damaged snapshots are skipped for older ones; a tree that does not match stops recovery.
#include <fstream>
#include <random>

#include "persistence/files.hpp"
#include "storage_fixture.hpp"

using namespace corral;
using namespace corral::persistence;
using corral::test::storage_fixture;
namespace fs = boost::filesystem;

class snapshots : public storage_fixture {
protected:
  // Takes a snapshot in small chunks, running `between` after each chunk (writes during the snapshot).
  std::string take_snapshot(const std::function<void()>& between) {
    snapshot_writer w(dir, db->last_applied(), true);
    EXPECT_EQ(w.add(snapshot_header{db_id, db->last_applied(), db->session_images()}).code, error_code::ok);
    std::string cursor;
    uint64_t count = 0;
    chunk_encoder encoder; // as the state machine does: one encoder and one buffer for every chunk
    word_buffer chunk;
    while (auto n = encoder.encode(db->tree(), cursor, 3, chunk)) {
      count += n;
      EXPECT_EQ(w.add_chunk(kj::ArrayPtr<const capnp::word>(chunk.data(), chunk.size())).code, error_code::ok);
      between();
    }
    EXPECT_EQ(w.finish(snapshot_trailer{db->last_applied(), count, db->tree().digest()}).code, error_code::ok);
    return w.final_path();
  }
};

TEST_F(snapshots, a_snapshot_taken_during_writes_plus_replay_equals_the_live_tree) {
  workload(100, "/a");
  int step = 0;
  auto path = take_snapshot([&] {
    // Everything changes while the walk goes on: creates ahead of and behind the cursor, deletes,
    // data and ACL changes, sequential names, an ephemeral.
    ++step;
    write(create_request{"/a/late" + std::to_string(step), "x", open_acl_unsafe(), create_mode::persistent, -1});
    write(set_data_request{"/a/n3", "step" + std::to_string(step), -1});
    write(delete_request{"/a/late" + std::to_string(step - 1), -1});
    write(create_request{"/zz" + std::to_string(step), "", open_acl_unsafe(), create_mode::ephemeral, -1});
    write(create_request{"/a/s-", "", open_acl_unsafe(), create_mode::persistent_sequential, -1});
    write(create_request{"/a/null" + std::to_string(step), "", open_acl_unsafe(), create_mode::persistent, -1, true});
  });
  write(set_data_request{"/a/n4", "", -1, true}); // in the log after the snapshot
  EXPECT_GT(step, 5);
  workload(50, "/b");
  log.reset();
  auto r = recover();
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->snapshot, path);
  EXPECT_LT(r->replayed, static_cast<size_t>(db->last_applied())) << "the snapshot spared most of the log";
  expect_same_tree(r->db->tree(), db->tree());
  EXPECT_EQ(r->db->last_applied(), db->last_applied());
  EXPECT_EQ(r->db->tree().ephemerals(session), db->tree().ephemerals(session));
}

TEST_F(snapshots, sessions_come_back_from_the_snapshot_and_the_log) {
  auto second = open_session();
  take_snapshot([] {});
  auto third = open_session();
  write(close_request{}); // closes `session`
  log.reset();
  auto r = recover();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->db->check_resume(second, "pw"), error_code::ok);
  EXPECT_EQ(r->db->check_resume(third, "pw"), error_code::ok);
  EXPECT_EQ(r->db->check_resume(session, "pw"), error_code::session_expired);
}

TEST_F(snapshots, a_damaged_newest_snapshot_falls_back_to_an_older_one) {
  workload(30);
  auto older = take_snapshot([] {});
  workload(30, "/more");
  auto newer = take_snapshot([] {});
  { // flip every bit of one byte (writing a fixed value left the file intact when it held that value)
    std::fstream f(newer, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(40);
    char c = 0;
    f.get(c);
    f.seekp(40);
    f.put(static_cast<char>(~c));
  }
  log.reset();
  auto r = recover();
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->snapshot, older);
  ASSERT_FALSE(r->notes.empty());
  EXPECT_NE(r->notes[0].find(newer), std::string::npos);
  expect_same_tree(r->db->tree(), db->tree());
}

TEST_F(snapshots, a_log_that_disagrees_with_the_tree_stops_recovery) {
  workload(20);
  // A digest record that does not match what replay produces.
  log->add(digest_check{db->last_applied(), db->tree().digest() ^ 1});
  bool fatal;
  ASSERT_EQ(log->commit(fatal).code, error_code::ok);
  log.reset();
  auto r = recover();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail.find("digest"), std::string::npos) << r.error().detail;
}

TEST_F(snapshots, a_snapshot_that_does_not_match_the_replayed_tree_stops_recovery) {
  workload(20);
  {
    snapshot_writer w(dir, db->last_applied(), true);
    ASSERT_EQ(w.add(snapshot_header{db_id, db->last_applied(), db->session_images()}).code, error_code::ok);
    std::string cursor;
    std::vector<node_image> all;
    while (db->tree().visit_after(cursor, 1000, all)) {
    }
    all.back().data += "!"; // the snapshot holds something the live tree never had
    ASSERT_EQ(w.add(all).code, error_code::ok);
    ASSERT_EQ(w.finish(snapshot_trailer{db->last_applied(), all.size(), db->tree().digest()}).code, error_code::ok);
  }
  log.reset();
  auto r = recover();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail.find("does not match snapshot"), std::string::npos) << r.error().detail;
}

TEST_F(snapshots, small_files_are_replaced_atomically) {
  auto path = dir + "/epoch";
  ASSERT_EQ(write_file_atomically(path, "1\n").code, error_code::ok);
  ASSERT_EQ(write_file_atomically(path, "2\n").code, error_code::ok);
  EXPECT_EQ(*read_file(path), "2\n");
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  EXPECT_EQ(write_file_atomically(dir + "/no/such/dir/x", "y").code, error_code::system_error);
}

TEST_F(snapshots, retention_keeps_the_newest) {
  for (int i = 0; i < 5; ++i) {
    create("/k" + std::to_string(i));
    take_snapshot([] {});
  }
  auto removed = purge_snapshots(dir, 3);
  EXPECT_EQ(removed.size(), 2u);
  EXPECT_EQ(list_snapshots(dir).size(), 3u);
}

TEST_F(snapshots, a_leader_can_ship_its_tree_as_bytes_and_a_learner_installs_them) {
  workload(60);
  open_session();
  auto bytes = snapshot_bytes(*db, db_id);
  // The learner: another data directory of the same database.
  auto other = dir + "/learner";
  fs::create_directories(other);
  // Another server of an ensemble has its own database id: the snapshot is relabelled on install.
  auto installed = install_snapshot_bytes(other, db_id + 1, bytes);
  ASSERT_TRUE(installed.ok()) << installed.error().detail;
  EXPECT_EQ(*installed, other + "/" + snapshot_name(db->last_applied()));
  persistence::recovery_options r;
  auto rec = persistence::recover(other, db_id + 1, opts, r);
  ASSERT_TRUE(rec.ok()) << rec.error().detail;
  expect_same_tree(rec->db->tree(), db->tree());
  EXPECT_EQ(rec->db->last_applied(), db->last_applied());
  EXPECT_EQ(rec->db->sessions().size(), db->sessions().size());
  // Damaged bytes are refused and leave nothing behind.
  auto bad = bytes;
  bad[bad.size() / 2] ^= 0x40;
  EXPECT_FALSE(install_snapshot_bytes(other, db_id + 1, bad).ok());
  EXPECT_EQ(list_snapshots(other).size(), 1u);
}

TEST_F(snapshots, recovery_can_keep_the_replayed_txns_for_the_replication_history) {
  workload(10);
  log.reset();
  persistence::recovery_options r;
  r.keep_replayed = true;
  auto rec = persistence::recover(dir, db_id, opts, r);
  ASSERT_TRUE(rec.ok());
  ASSERT_EQ(rec->replayed_txns.size(), rec->replayed);
  EXPECT_EQ(rec->replayed_txns.back().zxid, db->last_applied());
}

TEST_F(snapshots, files_a_crash_left_unfinished_are_removed_at_recovery_and_named) {
  workload(10, "/a");
  auto path = take_snapshot([] {});
  // A snapshot cut short by a crash, before its rename: it must not count as a snapshot, and it
  // must not stay to fill the disk.
  auto unfinished = (fs::path(dir) / "snapshot.00000000000000ff.tmp").string();
  std::ofstream(unfinished) << "half a snapshot";
  log.reset();
  auto r = recover();
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->snapshot, path);
  EXPECT_FALSE(fs::exists(unfinished));
  ASSERT_FALSE(r->notes.empty());
  EXPECT_NE(r->notes[0].find(unfinished), std::string::npos) << r->notes[0];
  EXPECT_TRUE(fs::exists(path)) << "finished files stay";
}

// Each chunk of a snapshot walk finds its place by path; a walk in one chunk and a walk in chunks of
// one node must give the same pre-order, over nested folders and leaves alike (the guard for a walk
// that follows pointers within a chunk, which is what a faster snapshot needs).
// The state machine encodes chunks from the nodes in place; they must decode to exactly the images
// visit_after makes (every field, the ACLs through the chunk's table, null data).
TEST_F(snapshots, a_chunk_encoded_from_the_tree_decodes_to_the_nodes_images) {
  workload(40, "/a");
  write(create_request{"/a/null", "", open_acl_unsafe(), create_mode::persistent, -1, true});
  write(create_request{"/locked", "secret", {acl_entry{perm::read, "digest", "bob:xyz"}}, create_mode::persistent, -1});
  write(create_request{
      "/a/ro", "r", {acl_entry{perm::read | perm::admin, "world", "anyone"}}, create_mode::persistent, -1});
  write(set_acl_request{"/a/n7", {acl_entry{perm::all, "ip", "127.0.0.1"}}, -1});
  std::string enc_cursor, img_cursor;
  size_t total = 0;
  chunk_encoder encoder;
  word_buffer payload;
  for (;;) {
    auto n = encoder.encode(db->tree(), enc_cursor, 7, payload);
    std::vector<node_image> want;
    db->tree().visit_after(img_cursor, 7, want);
    ASSERT_EQ(n, want.size());
    EXPECT_EQ(enc_cursor, img_cursor);
    if (n == 0)
      break;
    auto frame = decode_snapshot_frame(kj::ArrayPtr<const capnp::word>(payload.data(), payload.size()));
    ASSERT_TRUE(frame.ok()) << frame.error().detail;
    auto& got = std::get<std::vector<node_image>>(*frame);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      auto &g = got[i], &w = want[i];
      EXPECT_EQ(g.path, w.path);
      EXPECT_EQ(g.data, w.data) << w.path;
      EXPECT_EQ(g.null_data, w.null_data) << w.path;
      EXPECT_EQ(g.acl, w.acl) << w.path;
      EXPECT_EQ(
          std::tie(g.czxid, g.mzxid, g.pzxid, g.ctime, g.mtime, g.ephemeral_owner, g.version, g.cversion, g.aversion),
          std::tie(w.czxid, w.mzxid, w.pzxid, w.ctime, w.mtime, w.ephemeral_owner, w.version, w.cversion, w.aversion))
          << w.path;
    }
    total += n;
  }
  EXPECT_EQ(total, db->tree().node_count());
}

TEST_F(snapshots, a_walk_in_one_chunk_visits_what_a_walk_in_chunks_of_one_does) {
  workload(60, "/a");
  workload(40, "/a/b");
  workload(30, "/c");
  std::vector<node_image> whole, single;
  std::string cursor;
  EXPECT_FALSE(db->tree().visit_after(cursor, 1000000, whole)) << "one call reaches the end";
  cursor.clear();
  while (db->tree().visit_after(cursor, 1, single)) {
  }
  ASSERT_EQ(whole.size(), single.size());
  ASSERT_EQ(whole.size(), db->tree().node_count());
  for (size_t i = 0; i < whole.size(); ++i)
    EXPECT_EQ(whole[i].path, single[i].path) << i;
}

TEST(snapshot_policy, the_txns_before_a_snapshot_are_drawn_in_zookeepers_range_and_grow_with_the_tree) {
  snapshot_policy p;
  p.every_txns = 100000;
  uint64_t lowest = UINT64_MAX, highest = 0;
  std::mt19937_64 rng(7);
  for (int i = 0; i < 10000; ++i) {
    auto n = p.txns_before_snapshot(1000, rng());
    lowest = std::min(lowest, n);
    highest = std::max(highest, n);
  }
  EXPECT_GE(lowest, 50001u);
  EXPECT_LE(highest, 100000u);
  EXPECT_LT(lowest, 51000u) << "the draw spreads over the range";
  EXPECT_GT(highest, 99000u);
  // A tree bigger than twice snap-count: half its size bounds the draw instead.
  EXPECT_EQ(p.txns_before_snapshot(1000000, 0), 250001u);
  EXPECT_EQ(p.txns_before_snapshot(1000000, 249999), 500000u);
  EXPECT_EQ(p.txns_before_snapshot(1000000, 250000), 250001u);
  // The smallest setting still snapshots after every txn.
  p.every_txns = 1;
  EXPECT_EQ(p.txns_before_snapshot(0, 12345), 1u);
  EXPECT_EQ(p.txns_before_snapshot(1, 0), 1u);
}
