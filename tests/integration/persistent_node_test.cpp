// A session that renews itself after expiry, and the actors built for it (actors/client/
// persistent_node.hpp): a persistent node that comes back after a delete and after its session
// expired, a protected sequential one, and group members that see each other come and go.
#include <gtest/gtest.h>

#include <thread>

#include "actors/client/blocking_client.hpp"
#include "actors/client/cache.hpp"
#include "actors/client/persistent_node.hpp"
#include "tests/integration/actor_env.hpp"
#include "tests/integration/harness.hpp"

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

namespace {

caf::actor spawn_renewing_session(actor_env& env, const std::string& address, int32_t timeout_ms) {
  client::session_options so;
  so.servers = {address};
  so.session_timeout_ms = timeout_ms;
  so.renew_after_expiry = true;
  return env.own(client::spawn_session(*env.sys, so));
}

int64_t session_id_of(caf::scoped_actor& self, const caf::actor& session) {
  int64_t id = 0;
  self->request(session, 5s, caf::get_atom::value).receive([&](int64_t i, int64_t) { id = i; }, [](caf::error&) {});
  return id;
}

std::vector<client::connection_state> states_until_quiet(caf::scoped_actor& self, std::chrono::milliseconds quiet) {
  std::vector<client::connection_state> out;
  for (;;) {
    bool got = false;
    self->receive(
        [&](client::connection_state s) {
          got = true;
          out.push_back(s);
        },
        caf::after(quiet) >> [] {});
    if (!got)
      return out;
  }
}

// Holds the proxy down past the session's timeout, so the server expires the session.
void expire_through(tcp_proxy& proxy, client::blocking_client& observer, const std::string& ephemeral) {
  proxy.set_down(true);
  // The server expires the session after its timeout: its ephemeral node goes.
  EXPECT_TRUE(eventually([&] { return observer.exists(ephemeral).code() == error_code::no_node; }, 15s));
  proxy.set_down(false);
}

// A server, a proxy in front of it that a test can hold down, an observer that talks to the server
// directly, and a renewing session (1 s timeout) through the proxy.
class renewal_env : public ::testing::Test {
protected:
  server_process srv;
  tcp_proxy proxy{srv.port()};
  actor_env env;
  caf::scoped_actor self{*env.sys};
  client::blocking_client observer{client_at(srv.address())};
  caf::actor session;
  void SetUp() override {
    ASSERT_TRUE(observer.wait_connected(5s));
    session = spawn_renewing_session(env, proxy.address(), 1000);
  }
};

} // namespace

class renewing_session : public renewal_env {};
class persistent_node : public renewal_env {};

TEST_F(renewing_session, opens_a_new_session_after_expiry) {
  self->send(session, atoms::subscribe::value, caf::actor_cast<caf::actor>(self));
  response made;
  self->request(session, 5s, request_body{create_request{"/mine", "", open_acl_unsafe(), create_mode::ephemeral}})
      .receive([&](response& r) { made = r; }, [](caf::error&) {});
  ASSERT_EQ(made.err, error_code::ok);
  auto first = session_id_of(self, session);
  ASSERT_NE(first, 0);
  states_until_quiet(self, 200ms); // the first `connected`
  expire_through(proxy, observer, "/mine");
  // After the proxy is back the client reconnects within its backoff (up to 2 s) and is told the
  // session expired; then it opens a new one.
  std::vector<client::connection_state> states;
  auto deadline = std::chrono::steady_clock::now() + 15s;
  while ((states.empty() || states.back() != client::connection_state::connected) &&
         std::chrono::steady_clock::now() < deadline)
    self->receive([&](client::connection_state s) { states.push_back(s); }, caf::after(1s) >> [] {});
  for (auto s : states_until_quiet(self, 300ms))
    states.push_back(s);
  EXPECT_EQ(states, (std::vector<client::connection_state>{client::connection_state::suspended,
                                                           client::connection_state::expired,
                                                           client::connection_state::connected}));
  auto second = session_id_of(self, session);
  EXPECT_NE(second, 0);
  EXPECT_NE(second, first);
  response again;
  self->request(session, 5s, request_body{exists_request{"/", false}})
      .receive([&](response& r) { again = r; }, [](caf::error&) {});
  EXPECT_EQ(again.err, error_code::ok) << "the new session serves requests";
}

TEST_F(persistent_node, comes_back_after_a_delete_and_after_its_session_expired) {
  client::persistent_node_options o;
  o.listener = self;
  auto node = env.own(client::spawn_persistent_node(*env.sys, session, "/services/api/a", "v1", o));
  auto created = [&] {
    client::node_created c;
    self->receive([&](client::node_created& n) { c = n; }, caf::after(10s) >> [] {});
    return c.path;
  };
  ASSERT_EQ(created(), "/services/api/a");
  auto got = observer.get("/services/api/a");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->data, "v1");
  EXPECT_EQ(got->stat.ephemeral_owner, session_id_of(self, session));
  // New data is set now, and kept for re-creation.
  ASSERT_TRUE(
      ask_for<result<unit>>(self, node, result<unit>(error_code::system_error), caf::put_atom::value, std::string("v2"))
          .ok());
  EXPECT_EQ(observer.get("/services/api/a")->data, "v2");
  // Someone deletes it: it is back.
  ASSERT_TRUE(observer.remove("/services/api/a").ok());
  ASSERT_EQ(created(), "/services/api/a");
  // Its session expires: the new session makes it again.
  expire_through(proxy, observer, "/services/api/a");
  ASSERT_EQ(created(), "/services/api/a");
  got = observer.get("/services/api/a");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->data, "v2");
  EXPECT_EQ(got->stat.ephemeral_owner, session_id_of(self, session)) << "owned by the new session";
  // Closed: gone for good.
  ASSERT_TRUE(ask_for<result<unit>>(self, node, result<unit>(error_code::system_error), atoms::close::value).ok());
  EXPECT_EQ(observer.exists("/services/api/a").code(), error_code::no_node);
}

TEST_F(persistent_node, a_sequential_node_is_protected_and_reports_its_name) {
  client::persistent_node_options o;
  o.mode = create_mode::ephemeral_sequential;
  auto node = env.own(client::spawn_persistent_node(*env.sys, env.session(srv.address()), "/seq/worker-", "x", o));
  auto up =
      ask_for<result<bool>>(self, node, result<bool>(error_code::system_error), atoms::wait::value, int64_t{5000});
  ASSERT_TRUE(up.ok() && *up);
  auto name =
      ask_for<result<std::string>>(self, node, result<std::string>(error_code::system_error), caf::get_atom::value);
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(name->rfind("/seq/_c_", 0), 0u) << *name;
  EXPECT_NE(name->find("-worker-0000000000"), std::string::npos) << *name;
  // An actor that ends takes its node with it.
  caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  EXPECT_TRUE(eventually([&] { return observer.exists(*name).code() == error_code::no_node; }));
}

TEST(group_member, members_see_each_other_join_change_and_leave) {
  server_process srv;
  actor_env env;
  caf::scoped_actor self{*env.sys};
  std::vector<caf::actor> members;
  for (auto id : {"a", "b"})
    members.push_back(env.own(client::spawn_group_member(*env.sys, env.session(srv.address()), "/groups/g", id,
                                                         std::string("payload-") + id)));
  caf::scoped_actor listener{*env.sys};
  members.push_back(env.own(
      client::spawn_group_member(*env.sys, env.session(srv.address()), "/groups/g", "c", "payload-c", listener)));
  auto all = [&](const caf::actor& m) {
    return ask_for<client::member_map>(self, m, client::member_map{}, caf::get_atom::value);
  };
  client::member_map three{{"a", "payload-a"}, {"b", "payload-b"}, {"c", "payload-c"}};
  for (auto& m : members)
    EXPECT_TRUE(eventually([&] { return all(m) == three; }));
  ASSERT_TRUE(ask_for<result<unit>>(self, members[0], result<unit>(error_code::system_error), caf::put_atom::value,
                                    std::string("busy"))
                  .ok());
  ASSERT_TRUE(
      ask_for<result<unit>>(self, members[1], result<unit>(error_code::system_error), atoms::close::value).ok());
  EXPECT_TRUE(eventually([&] { return all(members[2]) == client::member_map{{"a", "busy"}, {"c", "payload-c"}}; }));
  // c's listener heard: the members as they came, initialized, a's change, b's leaving.
  std::vector<std::pair<client::cache_event_kind, std::string>> heard;
  for (;;) {
    bool got = false;
    listener->receive(
        [&](client::cache_event& e) {
          got = true;
          heard.emplace_back(e.kind, e.node.path);
        },
        caf::after(500ms) >> [] {});
    if (!got)
      break;
  }
  ASSERT_GE(heard.size(), 3u);
  EXPECT_EQ(heard[heard.size() - 2], std::make_pair(client::cache_event_kind::changed, std::string("/groups/g/a")));
  EXPECT_EQ(heard.back(), std::make_pair(client::cache_event_kind::deleted, std::string("/groups/g/b")));
  size_t created = 0;
  for (auto& [k, p] : heard)
    created += k == client::cache_event_kind::created;
  EXPECT_EQ(created, 3u) << "a, b and c each joined once; /groups/g itself is not a member";
}

TEST_F(renewing_session, a_tree_cache_carries_on_in_the_new_session_and_reports_what_it_missed) {
  ASSERT_TRUE(observer.create("/c", "").ok());
  ASSERT_TRUE(observer.create("/c/x", "1").ok());
  auto marker = env.own(client::spawn_persistent_node(*env.sys, session, "/marker", ""));
  auto cache = env.own(client::spawn_cache(*env.sys, session, "/c", self));
  // The first event may wait out the client's reconnect backoff (up to 2 s) and a new session.
  auto kinds_until_quiet = [&] {
    std::vector<std::pair<client::cache_event_kind, std::string>> out;
    for (;;) {
      bool got = false;
      self->receive(
          [&](client::cache_event& e) {
            got = true;
            out.emplace_back(e.kind, e.node.path + "=" + e.node.data);
          },
          caf::after(out.empty() ? 10000ms : 700ms) >> [] {});
      if (!got)
        return out;
    }
  };
  EXPECT_EQ(kinds_until_quiet().size(), 3u); // /c, /c/x, initialized
  ASSERT_TRUE(eventually([&] { return observer.exists("/marker").ok(); }));
  proxy.set_down(true);
  ASSERT_TRUE(observer.set("/c/x", "2").ok());
  ASSERT_TRUE(observer.create("/c/y", "y").ok());
  EXPECT_TRUE(eventually([&] { return observer.exists("/marker").code() == error_code::no_node; }, 15s));
  proxy.set_down(false);
  using ev = std::pair<client::cache_event_kind, std::string>;
  auto missed = kinds_until_quiet();
  std::sort(missed.begin(), missed.end(), [](const ev& a, const ev& b) { return a.second < b.second; });
  EXPECT_EQ(missed, (std::vector<ev>{{client::cache_event_kind::changed, "/c/x=2"},
                                     {client::cache_event_kind::created, "/c/y=y"}}));
  ASSERT_TRUE(observer.set("/c/y", "y2").ok());
  EXPECT_EQ(kinds_until_quiet(), (std::vector<ev>{{client::cache_event_kind::changed, "/c/y=y2"}}))
      << "the watch is set again in the new session";
}
