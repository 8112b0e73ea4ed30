// Stat rules after every kind of operation, sequential naming, node kinds.
#include "db_fixture.hpp"

using namespace corral;
using corral::test::db_fixture;

class tree : public db_fixture {};

TEST_F(tree, root_and_zookeeper_exist_from_the_start) {
  EXPECT_TRUE(exists("/"));
  EXPECT_TRUE(exists("/zookeeper"));
  EXPECT_EQ(stat("/").num_children, 1);
}

TEST_F(tree, stat_after_create) {
  auto s = open();
  now += 5;
  ASSERT_EQ(create(s, "/a", "hello"), error_code::ok);
  auto st = stat("/a");
  EXPECT_EQ(st.czxid, db->last_applied());
  EXPECT_EQ(st.mzxid, st.czxid);
  EXPECT_EQ(st.pzxid, st.czxid);
  EXPECT_EQ(st.ctime, now);
  EXPECT_EQ(st.mtime, now);
  EXPECT_EQ(st.version, 0);
  EXPECT_EQ(st.cversion, 0);
  EXPECT_EQ(st.aversion, 0);
  EXPECT_EQ(st.ephemeral_owner, 0);
  EXPECT_EQ(st.data_length, 5);
  EXPECT_EQ(st.num_children, 0);
}

TEST_F(tree, create_returns_path_and_stat) {
  auto s = open();
  auto out = run(s, create_request{"/a", "x", open_acl_unsafe(), create_mode::persistent, -1});
  auto& r = std::get<create_result>(out.resp.body);
  EXPECT_EQ(r.path, "/a");
  EXPECT_EQ(r.stat, stat("/a"));
  EXPECT_EQ(out.resp.zxid, r.stat.czxid);
}

TEST_F(tree, child_create_and_delete_change_parent_cversion_and_pzxid_only) {
  auto s = open();
  create(s, "/a", "x");
  auto before = stat("/a");
  create(s, "/a/b", "y");
  auto after_create = stat("/a");
  EXPECT_EQ(after_create.cversion, 1);
  EXPECT_EQ(after_create.num_children, 1);
  EXPECT_EQ(after_create.pzxid, stat("/a/b").czxid);
  EXPECT_EQ(after_create.mzxid, before.mzxid);
  EXPECT_EQ(after_create.version, 0);
  // A child's setData does not touch the parent.
  run(s, set_data_request{"/a/b", "z", -1});
  EXPECT_EQ(stat("/a"), after_create);
  run(s, delete_request{"/a/b", -1});
  auto after_delete = stat("/a");
  EXPECT_EQ(after_delete.cversion, 2);
  EXPECT_EQ(after_delete.num_children, 0);
  EXPECT_EQ(after_delete.pzxid, db->last_applied());
  EXPECT_EQ(after_delete.mzxid, before.mzxid);
}

TEST_F(tree, num_children_counts_direct_children_only) {
  auto s = open();
  create(s, "/a");
  create(s, "/a/b");
  create(s, "/a/b/c");
  create(s, "/a/d");
  EXPECT_EQ(stat("/a").num_children, 2);
  EXPECT_EQ(std::get<int32_t>(run(s, get_all_children_number_request{"/a"}).resp.body), 3);
}

TEST_F(tree, set_data_bumps_version_mzxid_mtime) {
  auto s = open();
  create(s, "/a", "x");
  auto c = stat("/a");
  now += 10;
  auto out = run(s, set_data_request{"/a", "longer", -1});
  ASSERT_EQ(out.resp.err, error_code::ok);
  auto st = stat("/a");
  EXPECT_EQ(std::get<node_stat>(out.resp.body), st);
  EXPECT_EQ(st.version, 1);
  EXPECT_EQ(st.mzxid, db->last_applied());
  EXPECT_EQ(st.czxid, c.czxid);
  EXPECT_EQ(st.mtime, now);
  EXPECT_EQ(st.ctime, c.ctime);
  EXPECT_EQ(st.data_length, 6);
  EXPECT_EQ(st.pzxid, c.pzxid);
}

TEST_F(tree, versions_are_checked_and_minus_one_means_any) {
  auto s = open();
  create(s, "/a", "x");
  EXPECT_EQ(run(s, set_data_request{"/a", "y", 5}).resp.err, error_code::bad_version);
  EXPECT_EQ(stat("/a").version, 0);
  EXPECT_EQ(run(s, set_data_request{"/a", "y", 0}).resp.err, error_code::ok);
  EXPECT_EQ(run(s, set_data_request{"/a", "z", -1}).resp.err, error_code::ok);
  EXPECT_EQ(stat("/a").version, 2);
  EXPECT_EQ(run(s, delete_request{"/a", 1}).resp.err, error_code::bad_version);
  EXPECT_TRUE(exists("/a"));
  EXPECT_EQ(run(s, delete_request{"/a", 2}).resp.err, error_code::ok);
  EXPECT_FALSE(exists("/a"));
}

TEST_F(tree, errors_change_nothing_but_consume_a_zxid) {
  auto s = open();
  create(s, "/a", "x");
  auto before = stat("/a");
  auto z = db->last_applied();
  EXPECT_EQ(create(s, "/a"), error_code::node_exists);
  EXPECT_EQ(create(s, "/missing/child"), error_code::no_node);
  EXPECT_EQ(run(s, delete_request{"/nope", -1}).resp.err, error_code::no_node);
  EXPECT_EQ(create(s, "/a/b/"), error_code::bad_arguments);
  create(s, "/a/kid");
  EXPECT_EQ(run(s, delete_request{"/a", -1}).resp.err, error_code::not_empty);
  EXPECT_EQ(stat("/a").version, before.version);
  EXPECT_EQ(db->last_applied(), z + 6); // ZooKeeper logs failed writes as error txns
}

TEST_F(tree, oversize_data_is_rejected) {
  auto s = open();
  std::string big(1024 * 1024 + 1, 'x');
  auto out = run(s, create_request{"/big", big, open_acl_unsafe(), create_mode::persistent, -1});
  EXPECT_EQ(out.resp.err, error_code::bad_arguments);
  EXPECT_FALSE(exists("/big"));
  EXPECT_EQ(create(s, "/ok", std::string(1024 * 1024, 'x')), error_code::ok);
  EXPECT_EQ(run(s, set_data_request{"/ok", big, -1}).resp.err, error_code::bad_arguments);
  EXPECT_EQ(stat("/ok").version, 0);
}

TEST_F(tree, sequential_names_come_from_the_parent_create_counter) {
  auto s = open();
  create(s, "/q");
  EXPECT_EQ(created_path(s, "/q/job-", create_mode::persistent_sequential), "/q/job-0000000000");
  EXPECT_EQ(created_path(s, "/q/job-", create_mode::persistent_sequential), "/q/job-0000000001");
  create(s, "/q/x");
  run(s, delete_request{"/q/x", -1});
  // Measured on ZooKeeper 3.8: deletes do not advance the counter, though they count in cversion.
  EXPECT_EQ(created_path(s, "/q/", create_mode::persistent_sequential), "/q/0000000003");
  EXPECT_EQ(stat("/q").cversion, 5);
  EXPECT_EQ(created_path(s, "/q/e-", create_mode::ephemeral_sequential), "/q/e-0000000004");
}

TEST_F(tree, ephemerals_belong_to_their_session_and_cannot_have_children) {
  auto s = open();
  ASSERT_EQ(create(s, "/e", "", create_mode::ephemeral), error_code::ok);
  EXPECT_EQ(stat("/e").ephemeral_owner, s);
  EXPECT_EQ(create(s, "/e/child"), error_code::no_children_for_ephemerals);
  EXPECT_EQ(create(s, "/e/", "", create_mode::persistent_sequential), error_code::no_children_for_ephemerals);
  auto eph = std::get<std::vector<std::string>>(run(s, get_ephemerals_request{"/"}).resp.body);
  EXPECT_EQ(eph, std::vector<std::string>{"/e"});
}

TEST_F(tree, close_session_deletes_its_ephemerals_in_one_txn) {
  auto s = open();
  auto other = open();
  create(s, "/p");
  create(s, "/p/e1", "", create_mode::ephemeral);
  create(s, "/e2", "", create_mode::ephemeral);
  create(other, "/keep", "", create_mode::ephemeral);
  auto z = db->last_applied();
  auto out = run(s, close_request{});
  EXPECT_TRUE(out.ends_session);
  EXPECT_EQ(db->last_applied(), z + 1);
  EXPECT_FALSE(exists("/p/e1"));
  EXPECT_FALSE(exists("/e2"));
  EXPECT_TRUE(exists("/keep"));
  EXPECT_EQ(stat("/p").pzxid, z + 1);
  EXPECT_EQ(db->sessions().find(s), nullptr);
}

TEST_F(tree, containers_go_when_their_last_child_goes) {
  auto s = open();
  ASSERT_EQ(create(s, "/c", "", create_mode::container), error_code::ok);
  EXPECT_EQ(stat("/c").ephemeral_owner, 0); // ZooKeeper hides the container marker
  tick();
  EXPECT_TRUE(exists("/c")) << "a container that never had a child stays";
  create(s, "/c/a");
  tick();
  EXPECT_TRUE(exists("/c"));
  run(s, delete_request{"/c/a", -1});
  tick();
  EXPECT_FALSE(exists("/c"));
}

TEST_F(tree, ttl_nodes_expire_when_unmodified_and_childless) {
  auto s = open();
  ASSERT_EQ(create(s, "/t", "", create_mode::persistent_with_ttl, open_acl_unsafe(), 500), error_code::ok);
  EXPECT_EQ(stat("/t").ephemeral_owner, 0);
  create(s, "/t/kid");
  now += 1000;
  tick();
  EXPECT_TRUE(exists("/t")) << "a TTL node with children stays";
  run(s, delete_request{"/t/kid", -1});
  now += 400;
  run(s, set_data_request{"/t", "touch", -1});
  now += 400;
  tick();
  EXPECT_TRUE(exists("/t")) << "modified 400 ms ago, TTL 500 ms";
  now += 200;
  tick();
  EXPECT_FALSE(exists("/t"));
}

TEST_F(tree, ttl_needs_enabling_and_a_valid_ttl) {
  auto s = open();
  EXPECT_EQ(create(s, "/t", "", create_mode::persistent_with_ttl, open_acl_unsafe(), 0), error_code::bad_arguments);
  auto o = opts();
  o.ttl_enabled = false;
  db = std::make_unique<database>(o, now);
  s = open();
  EXPECT_EQ(create(s, "/t", "", create_mode::persistent_with_ttl, open_acl_unsafe(), 100), error_code::unimplemented);
}

TEST_F(tree, get_children_returns_sorted_names_and_parent_stat) {
  auto s = open();
  create(s, "/p");
  create(s, "/p/b");
  create(s, "/p/a");
  auto out = run(s, get_children_request{"/p", false});
  auto& r = std::get<children_result>(out.resp.body);
  EXPECT_EQ(r.children, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(r.stat, stat("/p"));
}

TEST_F(tree, server_nodes_cannot_be_deleted) {
  auto s = open();
  EXPECT_EQ(run(s, delete_request{"/", -1}).resp.err, error_code::bad_arguments);
  EXPECT_EQ(run(s, delete_request{"/zookeeper", -1}).resp.err, error_code::bad_arguments);
  EXPECT_EQ(create(s, "/"), error_code::node_exists);
}

// ZooKeeper keeps null data (no byte array at all) apart from empty data: a getData answers null,
// the stat's dataLength is 0 for both, a setData with null makes the data null again, and the
// digest tells the two trees apart.
TEST_F(tree, null_data_is_kept_apart_from_empty_data) {
  auto s = open();
  ASSERT_EQ(run(s, create_request{"/null", "", open_acl_unsafe(), create_mode::persistent, -1, true}).resp.err,
            error_code::ok);
  ASSERT_EQ(create(s, "/empty", ""), error_code::ok);
  auto get = [&](const std::string& path) {
    auto out = run(s, get_data_request{path, false});
    EXPECT_EQ(out.resp.err, error_code::ok);
    return std::get<data_result>(out.resp.body);
  };
  EXPECT_TRUE(get("/null").null_data);
  EXPECT_FALSE(get("/empty").null_data);
  EXPECT_EQ(get("/null").stat.data_length, 0);
  auto with_empty = db->tree().digest();
  ASSERT_EQ(run(s, set_data_request{"/empty", "", -1, true}).resp.err, error_code::ok);
  EXPECT_TRUE(get("/empty").null_data);
  EXPECT_NE(db->tree().digest(), with_empty) << "the digest does not see null data";
  ASSERT_EQ(run(s, set_data_request{"/null", "x", -1}).resp.err, error_code::ok);
  EXPECT_FALSE(get("/null").null_data);
  EXPECT_EQ(get("/null").data, "x");
  // multiRead's getData says it too.
  auto m = run(s, multi_read_request{{get_data_request{"/empty", false}, get_data_request{"/null", false}}});
  auto& ops = std::get<std::vector<op_result>>(m.resp.body);
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_TRUE(ops[0].null_data);
  EXPECT_FALSE(ops[1].null_data);
}

// A node's data: empty costs no allocation, any bytes (zeros included) round-trip, replacement and
// moves keep exactly one owner.
TEST(compact_bytes, holds_any_bytes_and_replaces_them_whole) {
  corral::compact_bytes b;
  EXPECT_EQ(sizeof b, sizeof(void*));
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.size(), 0u);
  EXPECT_EQ(b.str(), "");
  std::string with_zeros("a\0b\0", 4);
  b = with_zeros;
  EXPECT_FALSE(b.empty());
  EXPECT_EQ(b.size(), 4u);
  EXPECT_EQ(b.str(), with_zeros);
  b = std::string(1000, 'x');
  EXPECT_EQ(b.size(), 1000u);
  EXPECT_EQ(b.view(), std::string(1000, 'x'));
  corral::compact_bytes moved(std::move(b));
  EXPECT_EQ(moved.size(), 1000u);
  EXPECT_TRUE(b.empty()); // NOLINT(bugprone-use-after-move): a moved-from value is empty
  moved = std::string_view();
  EXPECT_TRUE(moved.empty());
}
