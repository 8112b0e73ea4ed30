// Leader election actors (actors/client/election.hpp) against a real corral-server: one leader at a
// time, leadership passing in node order when the leader leaves or its session ends, participants
// as Curator lists them, and a selector's turns with no overlap.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>

#include "actors/client/election.hpp"
#include "actors/client/blocking_client.hpp"
#include "tests/integration/actor_env.hpp"
#include "tests/integration/harness.hpp"

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

namespace {

bool leads(caf::scoped_actor& self, const caf::actor& latch) {
  bool out = false;
  self->request(latch, 5s, atoms::state::value).receive([&](bool b) { out = b; }, [](caf::error&) {});
  return out;
}

} // namespace

TEST(leader_latch, one_leader_in_node_order_and_the_next_takes_over) {
  server_process srv;
  actor_env env;
  caf::scoped_actor self{*env.sys};
  std::vector<caf::actor> sessions, latches;
  std::vector<client::participant_info> ps;
  auto joined = [&](size_t n) { // the first latch lists n participants
    return eventually([&] {
      self->request(latches[0], 5s, caf::get_atom::value)
          .receive([&](result<std::vector<client::participant_info>>& r) { ps = r.ok() ? *r : ps; },
                   [](caf::error&) {});
      return ps.size() == n;
    });
  };
  // Each joins after the one before it is listed, so node order is a, b, c (joining at once
  // would race the creates).
  for (int i = 0; i < 3; ++i) {
    sessions.push_back(env.session(srv.address()));
    latches.push_back(env.own(
        client::spawn_leader_latch(*env.sys, sessions[i], "/election/latch", std::string(1, char('a' + i)), self)));
    if (i == 0) {
      ASSERT_TRUE(eventually([&] { return leads(self, latches[0]); }));
    }
    ASSERT_TRUE(joined(size_t(i) + 1));
  }
  client::leadership first;
  self->receive([&](client::leadership& l) { first = l; }, caf::after(5s) >> [] {});
  EXPECT_TRUE(first.is_leader);
  EXPECT_EQ(ps[0].id, "a");
  EXPECT_TRUE(ps[0].is_leader);
  EXPECT_EQ(ps[1].id, "b");
  EXPECT_FALSE(ps[1].is_leader);
  EXPECT_EQ(ps[2].id, "c");
  EXPECT_EQ(ps[0].node, first.node);
  EXPECT_FALSE(leads(self, latches[1]));
  EXPECT_FALSE(leads(self, latches[2]));
  // The leader leaves: the next in node order leads, and only it.
  self->request(latches[0], 5s, atoms::close::value).receive([](result<unit>&) {}, [](caf::error&) {});
  ASSERT_TRUE(eventually([&] { return leads(self, latches[1]); }));
  EXPECT_FALSE(leads(self, latches[2]));
  // The new leader's session ends: the last one leads.
  self->request(sessions[1], 5s, atoms::close::value).receive([](response&) {}, [](caf::error&) {});
  ASSERT_TRUE(eventually([&] { return leads(self, latches[2]); }));
  EXPECT_FALSE(leads(self, latches[1]));
  // Its listener heard each change: a leads, a steps down, b leads, b steps down, c leads.
  int gained = 1, lost = 0;
  for (;;) {
    bool got = false;
    self->receive(
        [&](client::leadership& l) {
          got = true;
          (l.is_leader ? gained : lost)++;
        },
        caf::after(300ms) >> [] {});
    if (!got)
      break;
  }
  EXPECT_EQ(gained, 3);
  EXPECT_EQ(lost, 2);
}

TEST(leader_latch, a_leader_steps_down_while_disconnected_and_leads_again_after_it) {
  server_process srv;
  tcp_proxy proxy(srv.port());
  actor_env env;
  caf::scoped_actor self{*env.sys};
  auto latch = env.own(client::spawn_leader_latch(*env.sys, env.session(proxy.address()), "/election/cut", "a", self));
  std::vector<bool> changes;
  auto next = [&] {
    self->receive([&](client::leadership& l) { changes.push_back(l.is_leader); }, caf::after(5s) >> [] {});
  };
  next();
  ASSERT_EQ(changes, std::vector<bool>{true});
  proxy.cut();
  next();
  next();
  // Curator's rule: SUSPENDED means it cannot know it still leads; the same session back, it does.
  EXPECT_EQ(changes, (std::vector<bool>{true, false, true}));
  EXPECT_TRUE(leads(self, latch));
}

TEST(leader_selector, takes_turns_without_overlap_and_requeues) {
  server_process srv;
  actor_env env;
  std::atomic<int> leading{0}, max_leading{0};
  std::mutex mtx;
  std::vector<std::string> turns;
  auto app = [&](std::string name) {
    return env.own(env.sys->spawn([&, name](caf::event_based_actor* me) -> caf::behavior {
      auto held = std::make_shared<caf::response_promise>();
      return {
          [&, me, name, held](client::take_leadership&) -> caf::result<bool> {
            int now = ++leading;
            max_leading = std::max(max_leading.load(), now);
            {
              std::lock_guard<std::mutex> g(mtx);
              turns.push_back(name);
            }
            *held = me->make_response_promise();
            me->delayed_send(me, 50ms, atoms::stop::value); // lead for a while, then give it up
            return caf::delegated<bool>{};
          },
          [&, held](atoms::stop) {
            --leading;
            held->deliver(true);
          },
      };
    }));
  };
  auto a = app("a"), b = app("b");
  auto sa = env.session(srv.address()), sb = env.session(srv.address());
  auto sel_a = env.own(client::spawn_leader_selector(*env.sys, sa, "/election/sel", "a", a));
  auto sel_b = env.own(client::spawn_leader_selector(*env.sys, sb, "/election/sel", "b", b));
  ASSERT_TRUE(eventually([&] {
    std::lock_guard<std::mutex> g(mtx);
    return turns.size() >= 6;
  })) << turns.size()
      << " turns";
  caf::scoped_actor self{*env.sys};
  self->request(sel_a, 5s, atoms::close::value).receive([](result<unit>&) {}, [](caf::error&) {});
  self->request(sel_b, 5s, atoms::close::value).receive([](result<unit>&) {}, [](caf::error&) {});
  std::lock_guard<std::mutex> g(mtx);
  EXPECT_EQ(max_leading.load(), 1);
  // Requeued turns alternate: each selector queues behind the other's node after its turn.
  for (size_t i = 1; i < 6; ++i)
    EXPECT_NE(turns[i], turns[i - 1]) << "turn " << i;
}
