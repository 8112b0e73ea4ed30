// Barrier, double barrier, shared count, atomic long and semaphore actors (actors/client/barrier.hpp,
// counter.hpp, semaphore.hpp) against a real corral-server.
#include <gtest/gtest.h>

#include <thread>

#include "actors/client/barrier.hpp"
#include "actors/client/blocking_client.hpp"
#include "actors/client/counter.hpp"
#include "actors/client/semaphore.hpp"
#include "tests/integration/actor_env.hpp"
#include "tests/integration/harness.hpp"

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

namespace {
using bool_result = result<bool>;
const bool_result no_answer(error_code::operation_timeout, "no answer");
} // namespace

TEST(barrier, holds_waiters_until_lowered) {
  server_process srv;
  actor_env env;
  caf::scoped_actor self{*env.sys};
  auto a = env.own(client::spawn_barrier(*env.sys, env.session(srv.address()), "/barriers/b"));
  auto b = env.own(client::spawn_barrier(*env.sys, env.session(srv.address()), "/barriers/b"));
  auto passed = ask_for<bool_result>(self, b, no_answer, atoms::wait::value, int64_t{1000});
  ASSERT_TRUE(passed.ok());
  EXPECT_TRUE(*passed) << "no barrier: wait passes at once";
  ASSERT_TRUE(ask_for<result<unit>>(self, a, result<unit>(error_code::system_error), atoms::raise::value).ok());
  ASSERT_TRUE(ask_for<result<unit>>(self, a, result<unit>(error_code::system_error), atoms::raise::value).ok());
  auto timed_out = ask_for<bool_result>(self, b, no_answer, atoms::wait::value, int64_t{200});
  ASSERT_TRUE(timed_out.ok());
  EXPECT_FALSE(*timed_out);
  // Two waiters, one lowering: both pass.
  self->send(b, atoms::wait::value, int64_t{10000});
  std::vector<bool_result> got;
  self->send(b, atoms::wait::value, int64_t{10000});
  std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(ask_for<result<unit>>(self, a, result<unit>(error_code::system_error), atoms::lower::value).ok());
  for (int i = 0; i < 2; ++i)
    self->receive([&](bool_result& r) { got.push_back(r); }, caf::after(5s) >> [] {});
  ASSERT_EQ(got.size(), 2u);
  EXPECT_TRUE(got[0].ok() && *got[0]);
  EXPECT_TRUE(got[1].ok() && *got[1]);
}

TEST(double_barrier, members_enter_together_and_leave_together) {
  server_process srv;
  actor_env env;
  caf::scoped_actor self{*env.sys};
  constexpr int members = 3;
  std::vector<caf::actor> ps;
  for (int i = 0; i < members; ++i)
    ps.push_back(env.own(client::spawn_double_barrier(*env.sys, env.session(srv.address()), "/barriers/d", members)));
  // Two of three cannot get in.
  for (int i = 0; i < 2; ++i)
    self->send(ps[i], atoms::enter::value, int64_t{10000});
  std::this_thread::sleep_for(300ms);
  int entered = 0;
  self->receive([&](bool_result&) { ++entered; }, caf::after(100ms) >> [] {});
  EXPECT_EQ(entered, 0);
  // The third lets all three in.
  self->send(ps[2], atoms::enter::value, int64_t{10000});
  std::vector<bool_result> got;
  for (int i = 0; i < 3; ++i)
    self->receive([&](bool_result& r) { got.push_back(r); }, caf::after(5s) >> [] {});
  ASSERT_EQ(got.size(), 3u);
  for (auto& r : got)
    EXPECT_TRUE(r.ok() && *r) << (r.ok() ? "false" : r.error().to_string());
  // Leaving: nobody is out until everyone left.
  for (int i = 0; i < 2; ++i)
    self->send(ps[i], atoms::leave::value, int64_t{10000});
  std::this_thread::sleep_for(300ms);
  int left = 0;
  self->receive([&](bool_result&) { ++left; }, caf::after(100ms) >> [] {});
  EXPECT_EQ(left, 0);
  self->send(ps[2], atoms::leave::value, int64_t{10000});
  got.clear();
  for (int i = 0; i < 3; ++i)
    self->receive([&](bool_result& r) { got.push_back(r); }, caf::after(5s) >> [] {});
  ASSERT_EQ(got.size(), 3u);
  for (auto& r : got)
    EXPECT_TRUE(r.ok() && *r);
  client::blocking_client c(client_at(srv.address()));
  ASSERT_TRUE(c.wait_connected(5s));
  auto kids = c.children("/barriers/d");
  EXPECT_TRUE(!kids.ok() || kids->children.empty()) << "every node, ready included, is gone";
}

TEST(shared_count, compare_and_set_on_the_version_and_listeners_see_changes) {
  server_process srv;
  actor_env env;
  caf::scoped_actor self{*env.sys};
  auto a = env.own(client::spawn_shared_count(*env.sys, env.session(srv.address()), "/counts/c", 7, self));
  using vc = result<client::versioned_count>;
  vc none(error_code::system_error);
  client::count_changed first;
  self->receive([&](client::count_changed& c) { first = c; }, caf::after(5s) >> [] {});
  EXPECT_EQ(first.count.value, 7) << "the first to start seeds it";
  // (started only now: two sessions' creates race, and the seed of whichever lands first wins)
  auto b = env.own(client::spawn_shared_count(*env.sys, env.session(srv.address()), "/counts/c", 99));
  auto v = ask_for<vc>(self, b, none, caf::get_atom::value);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->value, 7) << "the second keeps the value it found";
  auto won = ask_for<bool_result>(self, b, no_answer, caf::put_atom::value, int32_t{8}, v->version);
  auto lost = ask_for<bool_result>(self, a, no_answer, caf::put_atom::value, int32_t{9}, v->version);
  ASSERT_TRUE(won.ok() && lost.ok());
  EXPECT_TRUE(*won);
  EXPECT_FALSE(*lost) << "the version moved on";
  client::count_changed next;
  self->receive([&](client::count_changed& c) { next = c; }, caf::after(5s) >> [] {});
  EXPECT_EQ(next.count.value, 8);
  ASSERT_TRUE(
      ask_for<result<unit>>(self, a, result<unit>(error_code::system_error), caf::put_atom::value, int32_t{-3}).ok());
  self->receive([&](client::count_changed& c) { next = c; }, caf::after(5s) >> [] {});
  EXPECT_EQ(next.count.value, -3);
  v = ask_for<vc>(self, b, none, caf::get_atom::value);
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->value, -3);
  // The node is Curator's: four bytes, big-endian.
  client::blocking_client c(client_at(srv.address()));
  ASSERT_TRUE(c.wait_connected(5s));
  auto d = c.get("/counts/c");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->data, std::string("\xff\xff\xff\xfd", 4));
}

TEST(atomic_long, concurrent_increments_are_never_lost) {
  server_process srv;
  actor_env env;
  caf::scoped_actor self{*env.sys};
  constexpr int counters = 4, each = 25;
  std::vector<caf::actor> cs;
  for (int i = 0; i < counters; ++i) // two give up after their optimistic tries, two take the lock
    cs.push_back(env.own(client::spawn_atomic_long(*env.sys, env.session(srv.address()), "/counts/long",
                                                   i % 2 == 0 ? "/counts/long-lock" : "", 3)));
  using ar = result<client::atomic_result>;
  for (int i = 0; i < each; ++i)
    for (auto& c : cs)
      self->send(c, atoms::add::value, int64_t{1});
  int succeeded = 0, failed = 0;
  for (int i = 0; i < counters * each; ++i)
    self->receive([&](ar& r) { (r.ok() && r->succeeded ? succeeded : failed)++; }, caf::after(20s) >> [] {});
  EXPECT_EQ(succeeded + failed, counters * each);
  auto now = ask_for<ar>(self, cs[1], ar(error_code::system_error), caf::get_atom::value);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(now->post, succeeded) << "every increment that said it succeeded is in the value, and no other";
  // The two that fall back to the lock always succeed; the optimistic ones may all lose their three
  // tries when the machine is busy (seen under a loaded parallel run), so at least half, not more.
  EXPECT_GE(succeeded, counters * each / 2);
  auto cas_ok = ask_for<ar>(self, cs[0], ar(error_code::system_error), atoms::cas::value, now->post, int64_t{1000});
  auto cas_no = ask_for<ar>(self, cs[1], ar(error_code::system_error), atoms::cas::value, now->post, int64_t{2000});
  ASSERT_TRUE(cas_ok.ok() && cas_no.ok());
  EXPECT_TRUE(cas_ok->succeeded);
  EXPECT_EQ(cas_ok->post, 1000);
  EXPECT_FALSE(cas_no->succeeded);
  EXPECT_EQ(cas_no->post, 1000);
}

TEST(semaphore, at_most_k_leases_and_a_release_lets_the_next_in) {
  server_process srv;
  actor_env env;
  caf::scoped_actor self{*env.sys};
  using gr = result<client::lock_grant>;
  const gr none(error_code::system_error);
  std::vector<caf::actor> sems;
  for (int i = 0; i < 3; ++i)
    sems.push_back(env.own(client::spawn_semaphore(*env.sys, env.session(srv.address()), "/sem/s", 2)));
  auto l1 = ask_for<gr>(self, sems[0], none, atoms::acquire::value, int64_t{5000});
  auto l2 = ask_for<gr>(self, sems[1], none, atoms::acquire::value, int64_t{5000});
  ASSERT_TRUE(l1.ok() && l2.ok());
  EXPECT_NE(l1->node, l2->node);
  client::blocking_client c(client_at(srv.address()));
  ASSERT_TRUE(c.wait_connected(5s));
  auto l3 = ask_for<gr>(self, sems[2], none, atoms::acquire::value, int64_t{300});
  EXPECT_EQ(l3.code(), error_code::operation_timeout) << "only two leases";
  auto after_timeout = c.children("/sem/s/leases");
  ASSERT_TRUE(after_timeout.ok());
  EXPECT_EQ(after_timeout->children.size(), 2u) << "the timed-out request's node went before its answer";
  self->send(sems[2], atoms::acquire::value, int64_t{10000});
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(ask_for<result<unit>>(self, sems[1], result<unit>(error_code::system_error), atoms::release::value,
                                  std::string("/sem/s/leases/nope"))
                .code(),
            error_code::bad_arguments);
  ASSERT_TRUE(
      ask_for<result<unit>>(self, sems[0], result<unit>(error_code::system_error), atoms::release::value, l1->node)
          .ok());
  gr l4 = none;
  self->receive([&](gr& g) { l4 = g; }, caf::after(5s) >> [] {});
  ASSERT_TRUE(l4.ok()) << l4.error().to_string();
  auto kids = c.children("/sem/s/leases");
  ASSERT_TRUE(kids.ok());
  EXPECT_EQ(kids->children.size(), 2u) << "the timed-out request left no lease node";
}

TEST(semaphore, a_lease_whose_session_is_cut_off_is_lost_and_passes_on) {
  server_process srv;
  auto proxy = std::make_unique<tcp_proxy>(srv.port());
  actor_env env;
  caf::scoped_actor self{*env.sys};
  using gr = result<client::lock_grant>;
  const gr none(error_code::system_error);
  auto cut_off = env.own(client::spawn_semaphore(*env.sys, env.session(proxy->address(), 1000), "/sem/x", 1));
  auto other = env.own(client::spawn_semaphore(*env.sys, env.session(srv.address()), "/sem/x", 1));
  auto lease = ask_for<gr>(self, cut_off, none, atoms::acquire::value, int64_t{5000});
  ASSERT_TRUE(lease.ok()) << lease.error().to_string();
  self->send(other, atoms::acquire::value, int64_t{20000});
  proxy.reset(); // no way back to the server: the session expires there
  std::vector<client::lock_notice_kind> notices;
  for (int i = 0; i < 2; ++i)
    self->receive([&](client::lock_notice& n) { notices.push_back(n.what); }, caf::after(5s) >> [] {});
  EXPECT_EQ(notices, (std::vector<client::lock_notice_kind>{client::lock_notice_kind::suspended,
                                                            client::lock_notice_kind::lost}));
  gr next = none;
  self->receive([&](gr& g) { next = g; }, caf::after(10s) >> [] {});
  ASSERT_TRUE(next.ok()) << next.error().to_string();
  EXPECT_GT(next->fencing_token, lease->fencing_token);
}

TEST(shared_count, a_listener_hears_a_change_made_while_its_connection_was_down) {
  server_process srv;
  tcp_proxy proxy(srv.port());
  actor_env env;
  caf::scoped_actor self{*env.sys};
  auto watched = env.own(client::spawn_shared_count(*env.sys, env.session(proxy.address()), "/counts/w", 1, self));
  client::count_changed seen;
  self->receive([&](client::count_changed& c) { seen = c; }, caf::after(5s) >> [] {});
  ASSERT_EQ(seen.count.value, 1);
  client::blocking_client other(client_at(srv.address()));
  ASSERT_TRUE(other.wait_connected(5s));
  for (int32_t v = 2; v <= 4; ++v) { // changes land while the connection is down, or just after
    proxy.cut();
    ASSERT_TRUE(other.set("/counts/w", std::string("\0\0\0", 3) + char(v)).ok());
    ASSERT_TRUE(eventually([&] {
      self->receive([&](client::count_changed& c) { seen = c; }, caf::after(50ms) >> [] {});
      return seen.count.value == v;
    })) << "value "
        << v << " never reached the listener";
  }
}
