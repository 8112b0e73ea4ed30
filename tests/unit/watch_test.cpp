// ZooKeeper's watch trigger table, one-shot semantics, persistent and recursive watches.
#include "db_fixture.hpp"

using namespace corral;
using corral::test::db_fixture;

namespace {
struct seen {
  session_id s;
  event_type type;
  std::string path;
  friend bool operator==(const seen& a, const seen& b) { return a.s == b.s && a.type == b.type && a.path == b.path; }
  friend std::ostream& operator<<(std::ostream& os, const seen& x) {
    return os << x.s << ":" << event_type_name(x.type) << ":" << x.path;
  }
};
} // namespace

class watches : public db_fixture {
protected:
  void SetUp() override {
    db_fixture::SetUp();
    w = open();
    writer = open();
  }
  std::vector<seen> got() {
    std::vector<seen> out;
    for (auto& d : take_events())
      out.push_back({d.session, d.event.type, d.event.path});
    return out;
  }
  session_id w = 0, writer = 0;
};

using V = std::vector<seen>;

TEST_F(watches, exists_watch_on_missing_node_fires_node_created) {
  EXPECT_EQ(run(w, exists_request{"/a", true}).resp.err, error_code::no_node);
  create(writer, "/a");
  EXPECT_EQ(got(), (V{{w, event_type::node_created, "/a"}}));
}

TEST_F(watches, exists_watch_fires_data_changed_and_deleted) {
  create(writer, "/a");
  run(w, exists_request{"/a", true});
  run(writer, set_data_request{"/a", "x", -1});
  EXPECT_EQ(got(), (V{{w, event_type::node_data_changed, "/a"}}));
  run(w, exists_request{"/a", true});
  run(writer, delete_request{"/a", -1});
  EXPECT_EQ(got(), (V{{w, event_type::node_deleted, "/a"}}));
}

TEST_F(watches, get_data_watch_fires_once) {
  create(writer, "/a");
  run(w, get_data_request{"/a", true});
  run(writer, set_data_request{"/a", "1", -1});
  run(writer, set_data_request{"/a", "2", -1});
  EXPECT_EQ(got(), (V{{w, event_type::node_data_changed, "/a"}}));
}

TEST_F(watches, get_data_on_missing_node_sets_no_watch) {
  EXPECT_EQ(run(w, get_data_request{"/a", true}).resp.err, error_code::no_node);
  create(writer, "/a");
  EXPECT_TRUE(got().empty());
}

TEST_F(watches, creating_a_child_fires_no_data_watch_on_the_parent) {
  create(writer, "/a");
  run(w, get_data_request{"/a", true});
  create(writer, "/a/b");
  run(writer, set_data_request{"/a/b", "x", -1});
  EXPECT_TRUE(got().empty());
}

TEST_F(watches, child_watch_fires_on_child_create_delete_and_node_delete) {
  create(writer, "/a");
  run(w, get_children_request{"/a", true});
  run(writer, set_data_request{"/a", "x", -1}); // not a child change
  create(writer, "/a/b");
  EXPECT_EQ(got(), (V{{w, event_type::node_children_changed, "/a"}}));
  run(w, get_children_request{"/a", true});
  run(writer, delete_request{"/a/b", -1});
  EXPECT_EQ(got(), (V{{w, event_type::node_children_changed, "/a"}}));
  run(w, get_children_request{"/a", true});
  run(writer, delete_request{"/a", -1});
  EXPECT_EQ(got(), (V{{w, event_type::node_deleted, "/a"}}));
}

TEST_F(watches, data_and_child_watch_on_deleted_node_notify_once) {
  create(writer, "/a");
  run(w, get_children_request{"/a", true});
  run(w, get_data_request{"/a", true});
  run(writer, delete_request{"/a", -1});
  EXPECT_EQ(got(), (V{{w, event_type::node_deleted, "/a"}}));
}

TEST_F(watches, set_acl_fires_nothing) {
  create(writer, "/a");
  run(w, get_data_request{"/a", true});
  run(writer, set_acl_request{"/a", open_acl_unsafe(), -1});
  EXPECT_TRUE(got().empty());
}

TEST_F(watches, events_carry_type_and_path_only) {
  create(writer, "/a", "secret");
  run(w, get_data_request{"/a", true});
  run(writer, set_data_request{"/a", "new-secret", -1});
  auto ev = take_events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].event.path, "/a");
  EXPECT_EQ(ev[0].event.state, keeper_state::sync_connected);
}

TEST_F(watches, persistent_watch_stays_armed_and_sees_child_changes) {
  create(writer, "/a");
  ASSERT_EQ(run(w, add_watch_request{"/a", add_watch_mode::persistent}).resp.err, error_code::ok);
  run(writer, set_data_request{"/a", "1", -1});
  run(writer, set_data_request{"/a", "2", -1});
  create(writer, "/a/b");
  create(writer, "/a/b/c"); // not a direct child change of /a
  EXPECT_EQ(got(), (V{{w, event_type::node_data_changed, "/a"},
                      {w, event_type::node_data_changed, "/a"},
                      {w, event_type::node_children_changed, "/a"}}));
}

TEST_F(watches, recursive_watch_sees_the_subtree_but_not_child_list_changes) {
  ASSERT_EQ(run(w, add_watch_request{"/a", add_watch_mode::persistent_recursive}).resp.err, error_code::ok);
  create(writer, "/a");
  create(writer, "/a/b");
  run(writer, set_data_request{"/a/b", "x", -1});
  create(writer, "/ab"); // a sibling with a shared prefix is not below /a
  run(writer, delete_request{"/a/b", -1});
  EXPECT_EQ(got(), (V{{w, event_type::node_created, "/a"},
                      {w, event_type::node_created, "/a/b"},
                      {w, event_type::node_data_changed, "/a/b"},
                      {w, event_type::node_deleted, "/a/b"}}));
}

TEST_F(watches, remove_watches_by_type) {
  create(writer, "/a");
  run(w, get_data_request{"/a", true});
  run(w, get_children_request{"/a", true});
  EXPECT_EQ(run(w, remove_watches_request{"/a", watcher_type::data}).resp.err, error_code::ok);
  EXPECT_EQ(run(w, remove_watches_request{"/a", watcher_type::data}).resp.err, error_code::no_watcher);
  run(writer, set_data_request{"/a", "x", -1});
  EXPECT_TRUE(got().empty());
  create(writer, "/a/b");
  EXPECT_EQ(got(), (V{{w, event_type::node_children_changed, "/a"}}));
  run(w, add_watch_request{"/a", add_watch_mode::persistent_recursive});
  EXPECT_EQ(run(w, remove_watches_request{"/a", watcher_type::any}).resp.err, error_code::ok);
  run(writer, set_data_request{"/a/b", "y", -1});
  EXPECT_TRUE(got().empty());
}

TEST_F(watches, ephemeral_deletion_on_close_fires_watches) {
  create(writer, "/e", "", create_mode::ephemeral);
  run(w, exists_request{"/e", true});
  run(writer, close_request{});
  EXPECT_EQ(got(), (V{{w, event_type::node_deleted, "/e"}}));
}

TEST_F(watches, lost_connection_drops_watches_and_set_watches_fires_what_was_missed) {
  create(writer, "/d");
  create(writer, "/c");
  create(writer, "/gone");
  run(w, get_data_request{"/d", true});
  auto seen_zxid = db->last_applied();
  db->connection_lost(w);
  run(writer, set_data_request{"/d", "x", -1});
  create(writer, "/c/kid");
  create(writer, "/born");
  run(writer, delete_request{"/gone", -1});
  EXPECT_TRUE(got().empty());
  set_watches_request sw;
  sw.relative_zxid = seen_zxid;
  sw.data = {"/d", "/gone"};
  sw.child = {"/c"};
  sw.exist = {"/born", "/unborn"};
  run(w, sw);
  EXPECT_EQ(got(), (V{{w, event_type::node_data_changed, "/d"},
                      {w, event_type::node_deleted, "/gone"},
                      {w, event_type::node_created, "/born"},
                      {w, event_type::node_children_changed, "/c"}}));
  create(writer, "/unborn");
  EXPECT_EQ(got(), (V{{w, event_type::node_created, "/unborn"}}));
}
