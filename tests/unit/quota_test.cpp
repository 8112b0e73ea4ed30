// Quotas as ZooKeeper 3.7+ keeps them: StatsTrack text, usage counted per subtree and read through the
// stats node, hard limits refusing creates and setData with QuotaExceeded, soft ones only noted,
// nested quotas, and the usage counted again from a tree rebuilt out of a snapshot.
#include "core/quota.hpp"
#include "db_fixture.hpp"

using namespace corral;
using corral::test::db_fixture;

TEST(quota_text, parses_what_zookeeper_writes) {
  auto soft = quota::parse("count=10,bytes=-1");
  EXPECT_EQ(soft.count, 10);
  EXPECT_EQ(soft.bytes, -1);
  EXPECT_EQ(soft.count_hard, -1);
  // StatsTrack.toString with hard limits: a stray '=' after bytes, then ';'-separated keys.
  auto hard = quota::parse("count=-1,bytes=-1=;byteHardLimit=100;countHardLimit=3");
  EXPECT_EQ(hard.count, -1);
  EXPECT_EQ(hard.bytes, -1);
  EXPECT_EQ(hard.count_hard, 3);
  EXPECT_EQ(hard.bytes_hard, 100);
  auto junk = quota::parse("count=x,,=5;bytes=;countHardLimit=7;what=9");
  EXPECT_EQ(junk.count, -1);
  EXPECT_EQ(junk.bytes, -1);
  EXPECT_EQ(junk.count_hard, 7);
  EXPECT_FALSE(quota::parse("").any());
  EXPECT_EQ(quota::format_usage({3, 42}), "count=3,bytes=42");
  EXPECT_EQ(quota::limit_path("/a/b"), "/zookeeper/quota/a/b/zookeeper_limits");
  EXPECT_EQ(quota::subtree_of_stat_node("/zookeeper/quota/a/b/zookeeper_stats"), std::string("/a/b"));
  EXPECT_FALSE(quota::subtree_of_limit_node("/zookeeper/quota/zookeeper_limits"));
  EXPECT_FALSE(quota::subtree_of_limit_node("/a/zookeeper_limits"));
}

class quotas : public db_fixture {
protected:
  session_id s = 0;
  void SetUp() override {
    db_fixture::SetUp();
    s = open();
  }
  // What zkCli.sh's setquota does: the quota path's nodes, the limits, then the stats node.
  void set_quota(const std::string& path, const std::string& limits) {
    std::string at(quota::root);
    for (size_t i = 1; i <= path.size(); ++i)
      if (i == path.size() || path[i] == '/') {
        auto step = at + path.substr(0, i);
        if (!exists(step)) {
          ASSERT_EQ(create(s, step), error_code::ok) << step;
        }
      }
    ASSERT_EQ(create(s, quota::limit_path(path), limits), error_code::ok);
    ASSERT_EQ(create(s, quota::stat_path(path), "count=0,bytes=0"), error_code::ok);
  }
  std::string read(const std::string& path) {
    auto out = run(s, get_data_request{path, false});
    EXPECT_EQ(out.resp.err, error_code::ok) << path;
    auto* d = std::get_if<data_result>(&out.resp.body);
    if (d != nullptr) {
      EXPECT_EQ(d->stat.data_length, static_cast<int32_t>(d->data.size()));
    }
    return d != nullptr ? d->data : "";
  }
  error_code set(const std::string& path, const std::string& data) {
    return run(s, set_data_request{path, data, -1}).resp.err;
  }
};

TEST_F(quotas, the_stats_node_reads_as_the_subtrees_count_and_bytes) {
  ASSERT_EQ(create(s, "/app", "12345"), error_code::ok);
  ASSERT_EQ(create(s, "/app/x", "ab"), error_code::ok);
  set_quota("/app", "count=100,bytes=-1");
  EXPECT_EQ(read(quota::stat_path("/app")), "count=2,bytes=7");
  ASSERT_EQ(create(s, "/app/y", "abc"), error_code::ok);
  ASSERT_EQ(set("/app", "1"), error_code::ok);
  EXPECT_EQ(read(quota::stat_path("/app")), "count=3,bytes=6");
  ASSERT_EQ(run(s, delete_request{"/app/x", -1}).resp.err, error_code::ok);
  EXPECT_EQ(read(quota::stat_path("/app")), "count=2,bytes=4");
  ASSERT_EQ(create(s, "/other", "zzz"), error_code::ok); // outside the subtree
  EXPECT_EQ(read(quota::stat_path("/app")), "count=2,bytes=4");
}

TEST_F(quotas, a_hard_count_limit_refuses_the_create_that_would_pass_it) {
  ASSERT_EQ(create(s, "/q"), error_code::ok);
  set_quota("/q", "count=-1,bytes=-1=;countHardLimit=3");
  EXPECT_EQ(create(s, "/q/a"), error_code::ok);
  EXPECT_EQ(create(s, "/q/b"), error_code::ok);
  EXPECT_EQ(create(s, "/q/c"), error_code::quota_exceeded);
  EXPECT_FALSE(exists("/q/c"));
  EXPECT_EQ(read(quota::stat_path("/q")), "count=3,bytes=0");
  // A delete makes room again.
  ASSERT_EQ(run(s, delete_request{"/q/a", -1}).resp.err, error_code::ok);
  EXPECT_EQ(create(s, "/q/c"), error_code::ok);
}

TEST_F(quotas, a_hard_byte_limit_refuses_a_set_data_that_would_pass_it) {
  ASSERT_EQ(create(s, "/b", "1234"), error_code::ok);
  set_quota("/b", "count=-1,bytes=-1=;byteHardLimit=10");
  EXPECT_EQ(set("/b", "1234567890"), error_code::ok);
  EXPECT_EQ(set("/b", "12345678901"), error_code::quota_exceeded);
  EXPECT_EQ(create(s, "/b/c", "x"), error_code::quota_exceeded);
  EXPECT_EQ(create(s, "/b/c", ""), error_code::ok); // no bytes: only the count is checked, and it has none
  EXPECT_EQ(read("/b"), "1234567890");
}

TEST_F(quotas, soft_limits_only_note_and_removing_the_limit_lifts_it) {
  ASSERT_EQ(create(s, "/s"), error_code::ok);
  set_quota("/s", "count=1,bytes=-1");
  db->take_quota_warnings();
  EXPECT_EQ(create(s, "/s/a"), error_code::ok);
  auto w = db->take_quota_warnings();
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("count 2 > soft limit 1"), std::string::npos) << w[0];
  // A hard limit, then the limits node deleted (delquota): nothing is refused any more.
  ASSERT_EQ(set(quota::limit_path("/s"), "count=-1,bytes=-1=;countHardLimit=2"), error_code::ok);
  EXPECT_EQ(create(s, "/s/b"), error_code::quota_exceeded);
  ASSERT_EQ(run(s, delete_request{quota::limit_path("/s"), -1}).resp.err, error_code::ok);
  EXPECT_EQ(create(s, "/s/b"), error_code::ok);
}

TEST_F(quotas, enforcement_can_be_turned_off) {
  auto o = opts();
  o.enforce_quota = false;
  db = std::make_unique<database>(o, now);
  s = open();
  ASSERT_EQ(create(s, "/off"), error_code::ok);
  set_quota("/off", "count=-1,bytes=-1=;countHardLimit=1");
  EXPECT_EQ(create(s, "/off/a"), error_code::ok);
  EXPECT_EQ(db->take_quota_warnings().size(), 1u);
}

TEST_F(quotas, a_nested_quota_takes_its_subtree_out_of_the_enclosing_one) {
  ASSERT_EQ(create(s, "/n"), error_code::ok);
  ASSERT_EQ(create(s, "/n/inner"), error_code::ok);
  ASSERT_EQ(create(s, "/n/inner/x", "xx"), error_code::ok);
  set_quota("/n", "count=100,bytes=-1");
  EXPECT_EQ(read(quota::stat_path("/n")), "count=3,bytes=2");
  set_quota("/n/inner", "count=100,bytes=-1");
  EXPECT_EQ(read(quota::stat_path("/n/inner")), "count=2,bytes=2");
  EXPECT_EQ(read(quota::stat_path("/n")), "count=1,bytes=0");
  ASSERT_EQ(run(s, delete_request{quota::limit_path("/n/inner"), -1}).resp.err, error_code::ok);
  EXPECT_EQ(read(quota::stat_path("/n")), "count=3,bytes=2");
}

// The usage is derived: the stored stats node keeps what its txns wrote (so the digest never sees
// the usage), and a tree rebuilt from images counts the same usage again.
TEST_F(quotas, a_tree_rebuilt_from_a_snapshot_counts_the_same_usage_and_digest) {
  ASSERT_EQ(create(s, "/r", "abc"), error_code::ok);
  set_quota("/r", "count=-1,bytes=-1=;countHardLimit=3");
  ASSERT_EQ(create(s, "/r/a", "de"), error_code::ok);
  auto before = db->tree().digest();
  ASSERT_EQ(set("/r/a", "defg"), error_code::ok);
  ASSERT_EQ(set("/r/a", "de"), error_code::ok); // the data is back; only versions moved
  EXPECT_NE(db->tree().digest(), before);
  database copy(opts(), now);
  std::string cursor;
  std::vector<node_image> nodes;
  while (db->tree().visit_after(cursor, 1000, nodes)) {
  }
  for (auto& n : nodes)
    copy.restore_node(n);
  copy.restored(db->last_applied());
  EXPECT_EQ(copy.tree().digest(), db->tree().digest());
  auto* stats = copy.tree().find(quota::stat_path("/r"));
  ASSERT_NE(stats, nullptr);
  EXPECT_EQ(copy.tree().data_of(*stats), "count=2,bytes=5");
  EXPECT_EQ(stats->data.str(), "count=0,bytes=0"); // as its create wrote it
  // And it enforces the same.
  auto sess = copy.prepare_open_session(1000, "pw", now);
  copy.apply(sess);
  request r{1, create_request{"/r/b", "", open_acl_unsafe(), create_mode::persistent, -1}};
  EXPECT_EQ(copy.handle(sess.session, r, now).resp.err, error_code::ok);
  request r2{2, create_request{"/r/c", "", open_acl_unsafe(), create_mode::persistent, -1}};
  EXPECT_EQ(copy.handle(sess.session, r2, now).resp.err, error_code::quota_exceeded);
}
