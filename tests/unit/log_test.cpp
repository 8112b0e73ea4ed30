// The transaction log: replay equals the live tree; a log cut at any byte keeps exactly its whole,
// valid prefix; bit flips are found; missing segments and foreign files stop recovery; a failed write
// leaves the log as it was.
#include <sys/resource.h>

#include <csignal>
#include <fstream>

#include "storage_fixture.hpp"

using namespace corral;
using namespace corral::persistence;
using corral::test::storage_fixture;
namespace fs = boost::filesystem;

namespace {

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<char>(std::istreambuf_iterator<char>(in), {});
}
void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

// Offsets where each record of a segment starts, and where the data ends.
std::vector<uint64_t> record_offsets(const std::vector<char>& bytes) {
  std::vector<uint64_t> out;
  uint64_t pos = segment_header_bytes;
  while (pos + record_header_bytes <= bytes.size()) {
    uint32_t len;
    std::memcpy(&len, bytes.data() + pos, 4);
    if (len == 0)
      break;
    out.push_back(pos);
    pos += record_header_bytes + len;
  }
  out.push_back(pos);
  return out;
}

size_t count_entries(const std::string& dir, uint64_t db_id, log_scan* scan_out, uint64_t window = 8 << 20,
                     zxid_t after = 0) {
  size_t n = 0;
  auto scan = scan_log(
      dir, db_id, after,
      [&](log_entry&&, const std::string&, uint64_t) {
        ++n;
        return error_info{};
      },
      window);
  EXPECT_TRUE(scan.ok());
  if (scan_out != nullptr && scan.ok())
    *scan_out = *scan;
  return n;
}

} // namespace

class log_format : public storage_fixture {};

TEST_F(log_format, replaying_the_log_rebuilds_the_same_tree) {
  workload(300);
  auto r = recover();
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->replayed, static_cast<size_t>(db->last_applied()));
  expect_same_tree(r->db->tree(), db->tree());
  EXPECT_EQ(r->db->sessions().size(), 1u);
  EXPECT_EQ(r->scan.damage.what, log_damage::kind::none);
}

TEST_F(log_format, a_log_cut_at_every_byte_keeps_exactly_its_whole_prefix) {
  workload(10);
  log.reset();
  auto segs = list_segments(dir);
  ASSERT_EQ(segs.size(), 1u);
  auto original = read_bytes(segs[0].path);
  auto offsets = record_offsets(original);
  ASSERT_GT(offsets.size(), 6u);
  auto data_end = offsets.back();
  // Cut anywhere in the last three records.
  for (uint64_t cut = offsets[offsets.size() - 4]; cut <= data_end; ++cut) {
    auto bytes = original;
    bytes.resize(cut);
    write_bytes(segs[0].path, bytes);
    size_t whole = 0;
    while (whole + 1 < offsets.size() && offsets[whole + 1] <= cut)
      ++whole;
    log_scan scan;
    EXPECT_EQ(count_entries(dir, db_id, &scan), whole) << "cut at " << cut;
    bool at_boundary = std::find(offsets.begin(), offsets.end(), cut) != offsets.end();
    EXPECT_EQ(scan.damage.what, at_boundary ? log_damage::kind::none : log_damage::kind::torn_tail) << cut;
    if (!at_boundary) {
      EXPECT_EQ(scan.damage.offset, offsets[whole]);
      EXPECT_EQ(scan.tail_offset, offsets[whole]);
    }
  }
}

TEST_F(log_format, a_flipped_bit_anywhere_is_found_and_only_the_prefix_before_it_is_kept) {
  workload(12);
  log.reset();
  auto seg = list_segments(dir).at(0).path;
  auto original = read_bytes(seg);
  auto offsets = record_offsets(original);
  for (size_t rec = 0; rec + 1 < offsets.size(); ++rec) {
    for (uint64_t byte = offsets[rec]; byte < offsets[rec + 1]; byte += 7) {
      auto bytes = original;
      bytes[byte] ^= static_cast<char>(1 << (byte % 8));
      write_bytes(seg, bytes);
      log_scan scan;
      // A small torn window: damage before the end is corruption.
      auto n = count_entries(dir, db_id, &scan, 0);
      EXPECT_EQ(n, rec) << "flip at " << byte;
      EXPECT_EQ(scan.damage.offset, offsets[rec]) << "flip at " << byte;
      EXPECT_EQ(scan.damage.what, log_damage::kind::corrupt) << "flip at " << byte;
    }
  }
  write_bytes(seg, original);
  // With the writer's real window the same damage in the last record reads as a torn tail.
  auto bytes = original;
  bytes[offsets[offsets.size() - 2] + 20] ^= 1;
  write_bytes(seg, bytes);
  log_scan scan;
  count_entries(dir, db_id, &scan);
  EXPECT_EQ(scan.damage.what, log_damage::kind::torn_tail);
}

// Recovery passes over the records its snapshot holds without decoding them (peek_entry): they are
// still checked, and still count towards the log's last zxid.
TEST_F(log_format, records_a_snapshot_covers_are_checked_but_not_visited) {
  workload(12);
  log.reset();
  auto seg = list_segments(dir).at(0).path;
  auto original = read_bytes(seg);
  auto offsets = record_offsets(original);
  log_scan all;
  auto total = count_entries(dir, db_id, &all);
  ASSERT_GT(total, 8u);
  zxid_t after = all.last_zxid - 3;
  log_scan tail;
  auto visited = count_entries(dir, db_id, &tail, 8 << 20, after);
  EXPECT_GE(visited, 3u) << "the txns after `after` (and their digest checks) are visited";
  EXPECT_LT(visited, total);
  EXPECT_EQ(tail.last_zxid, all.last_zxid);
  EXPECT_EQ(tail.damage.what, log_damage::kind::none);
  // A flipped bit in the first record, which nobody visits, is still corruption.
  auto bytes = original;
  bytes[offsets[0] + 24] ^= 4;
  write_bytes(seg, bytes);
  log_scan scan;
  EXPECT_EQ(count_entries(dir, db_id, &scan, 0, after), 0u);
  EXPECT_EQ(scan.damage.what, log_damage::kind::corrupt);
  EXPECT_EQ(scan.damage.offset, offsets[0]);
}

TEST_F(log_format, recovery_refuses_corruption_before_the_tail_and_repair_cuts_it) {
  workload(40);
  log.reset();
  auto seg = list_segments(dir).at(0).path;
  auto bytes = read_bytes(seg);
  auto offsets = record_offsets(bytes);
  bytes[offsets[5] + 20] ^= 0x10;
  write_bytes(seg, bytes);
  auto r = recover(false, 64); // a small window, so this is not the tail
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail.find(seg), std::string::npos) << r.error().detail;
  EXPECT_NE(r.error().detail.find("offset " + std::to_string(offsets[5])), std::string::npos) << r.error().detail;
  EXPECT_NE(r.error().detail.find("repair-log"), std::string::npos);
  auto repaired = recover(true, 64);
  ASSERT_TRUE(repaired.ok()) << repaired.error().detail;
  EXPECT_EQ(repaired->replayed, 3u); // records alternate txn / digest check: records 0, 2, 4 are txns
  EXPECT_FALSE(repaired->notes.empty());
}

TEST_F(log_format, a_missing_segment_stops_recovery) {
  reopen_log_with_segments(2048); // a few records per segment
  workload(60);
  log.reset();
  auto segs = list_segments(dir);
  ASSERT_GE(segs.size(), 3u);
  fs::remove(segs[1].path);
  auto r = recover();
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().detail.find("missing"), std::string::npos) << r.error().detail;
}

TEST_F(log_format, segments_of_another_database_are_refused) {
  workload(5);
  log.reset();
  auto scan = scan_log(
      dir, db_id + 1, 0, [](log_entry&&, const std::string&, uint64_t) { return error_info{}; }, 0);
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->damage.what, log_damage::kind::corrupt);
  EXPECT_NE(scan->damage.reason.find("belongs to database"), std::string::npos);
}

TEST_F(log_format, appending_after_a_torn_tail_overwrites_it) {
  workload(10);
  log.reset();
  auto seg = list_segments(dir).at(0).path;
  auto bytes = read_bytes(seg);
  auto offsets = record_offsets(bytes);
  auto end = offsets.back();
  // A torn record after the last good one: half a header and garbage.
  for (uint64_t i = end; i < end + 40; ++i)
    bytes[i] = static_cast<char>(0xAB);
  write_bytes(seg, bytes);
  auto r = recover();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->scan.damage.what, log_damage::kind::torn_tail);
  EXPECT_FALSE(r->notes.empty());
  db = std::move(r->db);
  log = std::make_unique<log_appender>(dir, db_id, log_opts());
  ASSERT_EQ(log->open(r->scan).code, error_code::ok);
  create("/after-recovery", "x");
  log.reset();
  auto again = recover();
  ASSERT_TRUE(again.ok()) << again.error().detail;
  EXPECT_EQ(again->scan.damage.what, log_damage::kind::none);
  EXPECT_NE(again->db->tree().find("/after-recovery"), nullptr);
}

TEST_F(log_format, a_failed_write_leaves_the_log_as_it_was) {
  workload(5);
  auto seg = log->current_segment();
  auto before = db->last_applied();
  // Make the next write fail: the file may not grow past its current size.
  std::signal(SIGXFSZ, SIG_IGN);
  rlimit old{};
  getrlimit(RLIMIT_FSIZE, &old);
  rlimit tight = old;
  tight.rlim_cur = fs::file_size(seg);
  setrlimit(RLIMIT_FSIZE, &tight);
  auto t = db->prepare(
      session,
      request{0, create_request{"/big", std::string(20000, 'x'), open_acl_unsafe(), create_mode::persistent, -1}}, now);
  log->add(t);
  bool fatal = false;
  auto e = log->commit(fatal);
  setrlimit(RLIMIT_FSIZE, &old);
  ASSERT_NE(e.code, error_code::ok);
  EXPECT_FALSE(fatal);
  EXPECT_NE(e.detail.find(seg), std::string::npos) << e.detail;
  db->abandon_prepared(now);
  EXPECT_EQ(db->last_prepared(), before);
  create("/next", "y"); // the zxid of the failed txn is reused
  log.reset();
  auto r = recover();
  ASSERT_TRUE(r.ok()) << r.error().detail;
  EXPECT_EQ(r->db->tree().find("/big"), nullptr);
  EXPECT_NE(r->db->tree().find("/next"), nullptr);
  expect_same_tree(r->db->tree(), db->tree());
}

TEST_F(log_format, segments_roll_and_purge_keeps_what_snapshots_need) {
  reopen_log_with_segments(4096); // a few records per segment
  workload(200);
  auto before = list_segments(dir);
  ASSERT_GE(before.size(), 4u);
  auto keep_after = before[2].first_zxid; // pretend a snapshot covers everything before this
  auto removed = log->purge_through(keep_after - 1);
  EXPECT_EQ(removed.size(), 2u);
  auto scan = scan_log(
      dir, db_id, keep_after - 1, [](log_entry&&, const std::string&, uint64_t) { return error_info{}; }, 8 << 20);
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->damage.what, log_damage::kind::none);
}

TEST_F(log_format, truncate_after_drops_later_txns_across_segments_and_appends_continue) {
  reopen_log_with_segments(2048); // a few records per segment
  workload(80);
  auto keep = db->last_applied() / 2;
  ASSERT_GE(list_segments(dir).size(), 3u);
  ASSERT_EQ(log->truncate_after(keep).code, error_code::ok);
  EXPECT_EQ(log->last_zxid(), keep);
  // Appends continue right after the cut (with zxids that follow it, as a new leader's would).
  auto t = std::make_shared<txn>();
  t->zxid = keep + 1;
  t->session = session;
  t->body = txn_create{"/after-trunc", "", open_acl_unsafe(), 0, 1};
  log->add(*t);
  bool fatal;
  ASSERT_EQ(log->commit(fatal).code, error_code::ok);
  log.reset();
  std::vector<zxid_t> seen;
  auto scan = scan_log(
      dir, db_id, 0,
      [&](log_entry&& e, const std::string&, uint64_t) {
        if (auto* x = std::get_if<txn>(&e))
          seen.push_back(x->zxid);
        return error_info{};
      },
      8 << 20);
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->damage.what, log_damage::kind::none) << scan->damage.to_string();
  ASSERT_FALSE(seen.empty());
  EXPECT_EQ(seen.back(), keep + 1);
  EXPECT_EQ(seen.size(), static_cast<size_t>(keep + 1));
}

// Found by corral-torture: a follower's TRUNC after its old segments were purged cut nothing (the
// appender's scan stopped at "earlier txns are missing"), and a restart replayed the cut txns.
TEST_F(log_format, truncate_after_works_on_a_log_whose_oldest_segments_were_purged) {
  reopen_log_with_segments(2048);
  workload(80);
  auto segs = list_segments(dir);
  ASSERT_GE(segs.size(), 4u);
  ASSERT_EQ(log->purge_through(segs[2].first_zxid - 1).size(), 2u);
  auto keep = db->last_applied() - 5;
  ASSERT_EQ(log->truncate_after(keep).code, error_code::ok);
  EXPECT_EQ(log->last_zxid(), keep);
  log.reset();
  zxid_t last = 0;
  auto scan = scan_log(
      dir, db_id, segs[2].first_zxid - 1,
      [&](log_entry&& e, const std::string&, uint64_t) {
        if (auto* x = std::get_if<txn>(&e))
          last = x->zxid;
        return error_info{};
      },
      8 << 20);
  ASSERT_TRUE(scan.ok());
  EXPECT_EQ(scan->damage.what, log_damage::kind::none) << scan->damage.to_string();
  EXPECT_EQ(last, keep) << "the txns after the cut must be gone";
}

// A truncation that cannot read the log back to what it wrote refuses (the server stops) rather than
// report success and leave the txns it was asked to drop.
TEST_F(log_format, truncate_after_refuses_when_it_cannot_read_the_log_to_its_end) {
  reopen_log_with_segments(2048);
  workload(80);
  auto segs = list_segments(dir);
  ASSERT_GE(segs.size(), 3u);
  auto bytes = read_bytes(segs[1].path);
  auto offsets = record_offsets(bytes);
  bytes[offsets[1] + record_header_bytes] ^= 0x40; // a damaged record in the middle of the log
  write_bytes(segs[1].path, bytes);
  auto e = log->truncate_after(db->last_applied() - 1);
  EXPECT_NE(e.code, error_code::ok);
  EXPECT_NE(e.detail.find("cannot truncate"), std::string::npos) << e.detail;
}

TEST_F(log_format, recovery_can_apply_only_what_digest_checks_show_was_committed) {
  workload(10);
  auto committed = db->last_applied();
  // Two txns logged but never applied (an ensemble follower that crashed before the commit).
  for (int i = 0; i < 2; ++i) {
    auto t = db->prepare(
        session,
        request{0, create_request{"/pending" + std::to_string(i), "", open_acl_unsafe(), create_mode::persistent, -1}},
        now);
    log->add(t);
  }
  bool fatal;
  ASSERT_EQ(log->commit(fatal).code, error_code::ok);
  log.reset();
  persistence::recovery_options r;
  r.only_committed = true;
  auto rec = persistence::recover(dir, db_id, opts, r);
  ASSERT_TRUE(rec.ok()) << rec.error().detail;
  EXPECT_EQ(rec->db->last_applied(), committed);
  EXPECT_EQ(rec->db->tree().find("/pending0"), nullptr);
  ASSERT_EQ(rec->uncommitted_tail.size(), 2u);
  EXPECT_EQ(rec->uncommitted_tail[0].zxid, committed + 1);
  // Standalone recovery applies everything that is logged.
  auto all = recover();
  ASSERT_TRUE(all.ok());
  EXPECT_NE(all->db->tree().find("/pending1"), nullptr);
}
