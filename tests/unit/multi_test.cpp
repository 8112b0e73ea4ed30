// multi: all or nothing, ZooKeeper's per-op error reporting; multiRead.
#include "db_fixture.hpp"

using namespace corral;
using corral::test::db_fixture;

class multi : public db_fixture {};

TEST_F(multi, all_ops_apply_under_one_zxid) {
  auto s = open();
  create(s, "/a", "x");
  multi_request m;
  m.ops.push_back(create_request{"/a/b", "1", open_acl_unsafe(), create_mode::persistent, -1});
  m.ops.push_back(create_request{"/a/b/c", "2", open_acl_unsafe(), create_mode::persistent, -1});
  m.ops.push_back(set_data_request{"/a", "y", 0});
  m.ops.push_back(check_request{"/a", 1});
  m.ops.push_back(delete_request{"/a/b/c", 0});
  auto out = run(s, m);
  ASSERT_EQ(out.resp.err, error_code::ok);
  auto& r = std::get<std::vector<op_result>>(out.resp.body);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(r[0].type, op_code::create);
  EXPECT_EQ(r[0].path, "/a/b");
  EXPECT_EQ(r[2].type, op_code::set_data);
  EXPECT_EQ(r[2].stat.version, 1);
  EXPECT_EQ(r[3].type, op_code::check);
  EXPECT_EQ(r[4].type, op_code::remove);
  EXPECT_TRUE(exists("/a/b"));
  EXPECT_FALSE(exists("/a/b/c"));
  EXPECT_EQ(stat("/a/b").czxid, stat("/a").mzxid);
}

TEST_F(multi, a_failing_op_rolls_back_everything_and_reports_per_op) {
  auto s = open();
  create(s, "/a", "x");
  multi_request m;
  m.ops.push_back(create_request{"/n", "", open_acl_unsafe(), create_mode::persistent, -1});
  m.ops.push_back(set_data_request{"/a", "y", -1});
  m.ops.push_back(check_request{"/a", 7});
  m.ops.push_back(delete_request{"/a", -1});
  auto out = run(s, m);
  EXPECT_EQ(out.resp.err, error_code::bad_version);
  auto& r = std::get<std::vector<op_result>>(out.resp.body);
  ASSERT_EQ(r.size(), 4u);
  EXPECT_EQ(r[0].err, error_code::ok);
  EXPECT_EQ(r[1].err, error_code::ok);
  EXPECT_EQ(r[2].err, error_code::bad_version);
  EXPECT_EQ(r[3].err, error_code::runtime_inconsistency);
  for (auto& x : r)
    EXPECT_EQ(x.type, op_code::error);
  EXPECT_FALSE(exists("/n"));
  EXPECT_EQ(stat("/a").version, 0);
  // The rolled-back create left nothing behind for the next request to trip on.
  EXPECT_EQ(create(s, "/n"), error_code::ok);
  // Two counted creates (/a, /n) and three children (/zookeeper is built in): 2*2-3, as ZooKeeper says.
  EXPECT_EQ(stat("/").cversion, 1);
}

TEST_F(multi, later_ops_see_earlier_ones) {
  auto s = open();
  multi_request m;
  m.ops.push_back(create_request{"/q", "", open_acl_unsafe(), create_mode::persistent, -1});
  m.ops.push_back(create_request{"/q/", "", open_acl_unsafe(), create_mode::persistent_sequential, -1});
  m.ops.push_back(create_request{"/q/", "", open_acl_unsafe(), create_mode::persistent_sequential, -1});
  auto out = run(s, m);
  ASSERT_EQ(out.resp.err, error_code::ok);
  auto& r = std::get<std::vector<op_result>>(out.resp.body);
  EXPECT_EQ(r[1].path, "/q/0000000000");
  EXPECT_EQ(r[2].path, "/q/0000000001");
  EXPECT_EQ(stat("/q").num_children, 2);
}

TEST_F(multi, watches_fire_only_for_a_committed_multi) {
  auto s = open(), w = open();
  create(s, "/a");
  run(w, get_data_request{"/a", true});
  multi_request bad;
  bad.ops.push_back(set_data_request{"/a", "y", -1});
  bad.ops.push_back(delete_request{"/missing", -1});
  run(s, bad);
  EXPECT_TRUE(take_events().empty());
  multi_request good;
  good.ops.push_back(set_data_request{"/a", "y", -1});
  run(s, good);
  EXPECT_EQ(take_events().size(), 1u);
}

TEST_F(multi, multi_read_answers_each_op) {
  auto s = open();
  create(s, "/a", "data");
  create(s, "/a/k");
  multi_read_request m;
  m.ops.push_back(get_data_request{"/a", false});
  m.ops.push_back(get_children_request{"/a", false});
  m.ops.push_back(get_data_request{"/missing", false});
  auto out = run(s, m);
  auto& r = std::get<std::vector<op_result>>(out.resp.body);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].data, "data");
  EXPECT_EQ(r[1].children, std::vector<std::string>{"k"});
  EXPECT_EQ(r[2].err, error_code::no_node);
}

TEST_F(multi, pipelined_prepares_see_each_other_before_apply) {
  // Two creates prepared before either is applied: the second must see the first.
  auto s = open();
  request r1{1, create_request{"/p", "", open_acl_unsafe(), create_mode::persistent, -1}};
  request r2{2, create_request{"/p/c", "", open_acl_unsafe(), create_mode::persistent, -1}};
  request r3{3, create_request{"/p", "", open_acl_unsafe(), create_mode::persistent, -1}};
  auto t1 = db->prepare(s, r1, now);
  auto t2 = db->prepare(s, r2, now);
  auto t3 = db->prepare(s, r3, now);
  EXPECT_TRUE(std::holds_alternative<txn_create>(t2.body));
  ASSERT_TRUE(std::holds_alternative<txn_error>(t3.body));
  EXPECT_EQ(std::get<txn_error>(t3.body).err, error_code::node_exists);
  EXPECT_EQ(db->apply(t1).resp.err, error_code::ok);
  EXPECT_EQ(db->apply(t2).resp.err, error_code::ok);
  EXPECT_EQ(db->apply(t3).resp.err, error_code::node_exists);
  EXPECT_EQ(stat("/p").num_children, 1);
}

TEST_F(multi, a_failed_multi_between_pipelined_writes_leaves_their_pending_records_as_they_were) {
  // Writes prepared and not yet applied are seen through the processor's pending records; a multi
  // that fails takes back what it put there (one path put twice, one put over a pending record),
  // and each record stays until the last txn that put it is applied.
  auto s = open();
  auto seq = [](const std::string& path) {
    return create_request{path, "", open_acl_unsafe(), create_mode::persistent_sequential, -1};
  };
  auto t1 = db->prepare(s, request{1, create_request{"/p", "", open_acl_unsafe(), create_mode::persistent, -1}}, now);
  multi_request m;
  m.ops.push_back(create_request{"/p/a", "", open_acl_unsafe(), create_mode::persistent, -1});
  m.ops.push_back(create_request{"/p/b", "", open_acl_unsafe(), create_mode::persistent, -1});
  m.ops.push_back(set_data_request{"/p/a", "x", 0});
  m.ops.push_back(check_request{"/p", 5});
  auto t2 = db->prepare(s, request{2, m}, now);
  auto t3 = db->prepare(s, request{3, create_request{"/p/a", "", open_acl_unsafe(), create_mode::persistent, -1}}, now);
  ASSERT_TRUE(std::holds_alternative<txn_create>(t3.body)) << "the failed multi's create of /p/a was taken back";
  auto t4 = db->prepare(s, request{4, seq("/p/s-")}, now);
  ASSERT_TRUE(std::holds_alternative<txn_create>(t4.body));
  EXPECT_EQ(std::get<txn_create>(t4.body).path, "/p/s-0000000001") << "/p counts t3's create, not the multi's";
  EXPECT_EQ(db->apply(t1).resp.err, error_code::ok);
  EXPECT_EQ(db->apply(t2).resp.err, error_code::bad_version);
  // /p's record (put by t1, t3 and t4) outlives t1's apply: the next sequence number still counts t4.
  auto t5 = db->prepare(s, request{5, seq("/p/s-")}, now);
  ASSERT_TRUE(std::holds_alternative<txn_create>(t5.body));
  EXPECT_EQ(std::get<txn_create>(t5.body).path, "/p/s-0000000002");
  auto t6 = db->prepare(s, request{6, set_data_request{"/p/a", "y", 0}}, now);
  EXPECT_TRUE(std::holds_alternative<txn_set_data>(t6.body)) << "t3's /p/a is seen before it is applied";
  for (auto* t : {&t3, &t4, &t5, &t6})
    EXPECT_EQ(db->apply(*t).resp.err, error_code::ok);
  EXPECT_FALSE(exists("/p/b"));
  EXPECT_EQ(stat("/p").num_children, 3);
  EXPECT_EQ(stat("/p/a").version, 1);
  // Everything applied: the records are gone and the tree answers alone.
  auto t7 = db->prepare(s, request{7, seq("/p/s-")}, now);
  ASSERT_TRUE(std::holds_alternative<txn_create>(t7.body));
  EXPECT_EQ(std::get<txn_create>(t7.body).path, "/p/s-0000000003");
}
