// The cache actors (actors/client/cache.hpp) against a real corral-server: the initial load, then
// every change once and in order, and after a reconnect exactly what changed while the client was
// away (including a node deleted and created again, which Curator's version check misses).
#include <gtest/gtest.h>

#include <algorithm>

#include "actors/client/blocking_client.hpp"
#include "actors/client/cache.hpp"
#include "tests/integration/actor_env.hpp"
#include "tests/integration/harness.hpp"

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

namespace {

using kind = client::cache_event_kind;

struct seen_event {
  kind k;
  std::string path, data;
  bool operator==(const seen_event& o) const { return k == o.k && path == o.path && data == o.data; }
};

std::ostream& operator<<(std::ostream& os, const seen_event& e) {
  return os << client::to_string(e.k) << " " << e.path << " '" << e.data << "'";
}

// Events until `quiet` passes with none, after the first, which may take up to `first` (a session
// still connecting, or one coming back from a long disconnect: its backoff grows to 2 s).
std::vector<seen_event> events_until_quiet(caf::scoped_actor& self, std::chrono::milliseconds quiet = 500ms,
                                           std::chrono::milliseconds first = 5s) {
  std::vector<seen_event> out;
  for (;;) {
    bool got = false;
    self->receive(
        [&](client::cache_event& e) {
          got = true;
          out.push_back({e.kind, e.node.path, e.node.data});
        },
        caf::after(out.empty() ? std::max(quiet, first) : quiet) >> [] {});
    if (!got)
      return out;
  }
}

size_t position(const std::vector<seen_event>& es, const seen_event& e) {
  return static_cast<size_t>(std::find(es.begin(), es.end(), e) - es.begin());
}

} // namespace

TEST(tree_cache, loads_then_reports_each_change_in_order) {
  server_process srv;
  client::blocking_client c(client_at(srv.address()));
  ASSERT_TRUE(c.wait_connected(5s));
  ASSERT_TRUE(c.create("/svc", "").ok());
  ASSERT_TRUE(c.create("/svc/a", "1").ok());
  ASSERT_TRUE(c.create("/svc/a/x", "ax").ok());
  actor_env env;
  caf::scoped_actor self{*env.sys};
  auto cache = env.own(client::spawn_cache(*env.sys, env.session(srv.address()), "/svc", self));
  auto loaded = events_until_quiet(self);
  EXPECT_EQ(loaded, (std::vector<seen_event>{{kind::created, "/svc", ""},
                                             {kind::created, "/svc/a", "1"},
                                             {kind::created, "/svc/a/x", "ax"},
                                             {kind::initialized, "", ""}}));
  // One multi: the three events arrive together, before the cache's reads of the first two are
  // answered; the deletion must still be reported last.
  ASSERT_TRUE(c.multi({set_data_request{"/svc/a", "2", -1},
                       create_request{"/svc/b", "b", open_acl_unsafe(), create_mode::persistent},
                       create_request{"/elsewhere", "", open_acl_unsafe(), create_mode::persistent}, // outside
                       delete_request{"/svc/a/x", -1}})
                  .ok());
  auto changes = events_until_quiet(self);
  EXPECT_EQ(changes,
            (std::vector<seen_event>{
                {kind::changed, "/svc/a", "2"}, {kind::created, "/svc/b", "b"}, {kind::deleted, "/svc/a/x", "ax"}}));
  using nr = result<client::cached_node>;
  auto a = ask_for<nr>(self, cache, nr(error_code::system_error), caf::get_atom::value, std::string("/svc/a"));
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->data, "2");
  EXPECT_EQ(
      ask_for<nr>(self, cache, nr(error_code::system_error), caf::get_atom::value, std::string("/svc/a/x")).code(),
      error_code::no_node);
  auto all = ask_for<std::vector<client::cached_node>>(self, cache, {}, caf::get_atom::value);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[2].path, "/svc/b");
}

TEST(tree_cache, a_burst_of_changes_arrives_in_order_without_repeats) {
  server_process srv;
  client::blocking_client c(client_at(srv.address()));
  ASSERT_TRUE(c.wait_connected(5s));
  actor_env env;
  caf::scoped_actor self{*env.sys};
  env.own(client::spawn_cache(*env.sys, env.session(srv.address()), "/burst", self));
  ASSERT_EQ(events_until_quiet(self).size(), 1u) << "only initialized: the path does not exist yet";
  ASSERT_TRUE(c.create("/burst", "0").ok());
  for (int i = 1; i <= 60; ++i)
    ASSERT_TRUE(c.set("/burst", std::to_string(i)).ok());
  ASSERT_TRUE(c.remove("/burst").ok());
  ASSERT_TRUE(c.create("/burst", "again").ok());
  auto es = events_until_quiet(self);
  ASSERT_GE(es.size(), 3u);
  EXPECT_EQ(es.front().k, kind::created);
  EXPECT_EQ((es.end() - 2)->k, kind::deleted);
  EXPECT_EQ(es.back(), (seen_event{kind::created, "/burst", "again"}));
  // Changes in between: each a newer value than the last (reads coalesce a burst, never reorder it).
  int last = std::stoi(es.front().data);
  for (size_t i = 1; i + 2 < es.size(); ++i) {
    ASSERT_EQ(es[i].k, kind::changed);
    EXPECT_GT(std::stoi(es[i].data), last);
    last = std::stoi(es[i].data);
  }
  EXPECT_LE(last, 60); // 60 itself may be read as gone already: a burst coalesces into its end
}

TEST(tree_cache, after_a_reconnect_reports_exactly_what_changed_meanwhile) {
  server_process srv;
  tcp_proxy proxy(srv.port());
  client::blocking_client c(client_at(srv.address()));
  ASSERT_TRUE(c.wait_connected(5s));
  for (auto [p, d] : std::vector<std::pair<std::string, std::string>>{{"/r", ""},
                                                                      {"/r/keep", "k"},
                                                                      {"/r/change", "1"},
                                                                      {"/r/gone", "g"},
                                                                      {"/r/gone/child", "gc"},
                                                                      {"/r/again", "old"}})
    ASSERT_TRUE(c.create(p, d).ok());
  actor_env env;
  caf::scoped_actor self{*env.sys};
  auto cache = env.own(client::spawn_cache(*env.sys, env.session(proxy.address(), 20000), "/r", self));
  auto loaded = events_until_quiet(self);
  ASSERT_EQ(loaded.size(), 7u);
  ASSERT_EQ(loaded.back().k, kind::initialized);
  proxy.set_down(true);
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(c.set("/r/change", "2").ok());
  ASSERT_TRUE(c.remove("/r/gone/child").ok());
  ASSERT_TRUE(c.remove("/r/gone").ok());
  ASSERT_TRUE(c.remove("/r/again").ok());
  ASSERT_TRUE(c.create("/r/again", "new").ok());
  ASSERT_TRUE(c.create("/r/new", "n").ok());
  ASSERT_TRUE(c.create("/r/new/deep", "d").ok());
  EXPECT_TRUE(events_until_quiet(self, 300ms, 300ms).empty()) << "nothing can arrive while the connection is down";
  proxy.set_down(false);
  auto es = events_until_quiet(self, 1500ms, 10s);
  std::vector<seen_event> want{{kind::changed, "/r/change", "2"},  {kind::deleted, "/r/gone/child", "gc"},
                               {kind::deleted, "/r/gone", "g"},    {kind::deleted, "/r/again", "old"},
                               {kind::created, "/r/again", "new"}, {kind::created, "/r/new", "n"},
                               {kind::created, "/r/new/deep", "d"}};
  EXPECT_EQ(es.size(), want.size()) << "each change once, nothing for /r or /r/keep";
  for (auto& w : want)
    EXPECT_LT(position(es, w), es.size()) << "missing: " << w;
  EXPECT_LT(position(es, want[1]), position(es, want[2])) << "a child goes before its parent";
  EXPECT_LT(position(es, want[3]), position(es, want[4])) << "the old node goes before the new one comes";
  EXPECT_LT(position(es, want[5]), position(es, want[6])) << "a parent comes before its child";
  auto stats = ask_for<client::cache_stats>(self, cache, client::cache_stats{}, atoms::stats::value);
  EXPECT_EQ(stats.nodes, 6u);
  EXPECT_GE(stats.resyncs, 1u);
  // And the watch is back: a change after the reconnect is reported as before.
  ASSERT_TRUE(c.set("/r/keep", "k2").ok());
  EXPECT_EQ(events_until_quiet(self), (std::vector<seen_event>{{kind::changed, "/r/keep", "k2"}}));
}

TEST(node_cache, follows_one_node_and_not_its_children) {
  server_process srv;
  client::blocking_client c(client_at(srv.address()));
  ASSERT_TRUE(c.wait_connected(5s));
  actor_env env;
  caf::scoped_actor self{*env.sys};
  env.own(client::spawn_cache(*env.sys, env.session(srv.address()), "/one", self, client::cache_scope::single_node));
  EXPECT_EQ(events_until_quiet(self), (std::vector<seen_event>{{kind::initialized, "", ""}}));
  ASSERT_TRUE(c.create("/one", "a").ok());
  EXPECT_EQ(events_until_quiet(self), (std::vector<seen_event>{{kind::created, "/one", "a"}}));
  ASSERT_TRUE(c.create("/one/child", "c").ok());
  ASSERT_TRUE(c.set("/one", "b").ok());
  ASSERT_TRUE(c.remove("/one/child").ok());
  EXPECT_EQ(events_until_quiet(self), (std::vector<seen_event>{{kind::changed, "/one", "b"}}));
  ASSERT_TRUE(c.remove("/one").ok());
  EXPECT_EQ(events_until_quiet(self), (std::vector<seen_event>{{kind::deleted, "/one", "b"}}));
}
