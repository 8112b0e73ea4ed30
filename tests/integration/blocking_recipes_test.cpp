// The blocking facade's recipe objects (blocking_client.hpp) for plain code: each does what its actor
// does, from ordinary threads.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "actors/client/blocking_client.hpp"
#include "tests/integration/harness.hpp"

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

TEST(blocking_recipes, semaphore_leases_pass_on_and_go_with_their_object) {
  server_process srv;
  client::blocking_client a(client_at(srv.address())), b(client_at(srv.address()));
  ASSERT_TRUE(a.wait_connected(5s) && b.wait_connected(5s));
  auto sa = a.semaphore("/plain/sem", 1);
  auto sb = b.semaphore("/plain/sem", 1);
  auto lease = sa->acquire(5s);
  ASSERT_TRUE(lease.ok()) << lease.error().to_string();
  EXPECT_EQ(sb->acquire(200ms).code(), error_code::operation_timeout);
  ASSERT_TRUE(sa->release(lease->node).ok());
  auto second = sb->acquire(5s);
  ASSERT_TRUE(second.ok());
  sb.reset(); // its lease goes with it
  EXPECT_TRUE(sa->acquire(5s).ok());
}

TEST(blocking_recipes, barriers_hold_and_let_go) {
  server_process srv;
  client::blocking_client a(client_at(srv.address())), b(client_at(srv.address()));
  ASSERT_TRUE(a.wait_connected(5s) && b.wait_connected(5s));
  auto ba = a.barrier("/plain/barrier"), bb = b.barrier("/plain/barrier");
  ASSERT_TRUE(ba->raise().ok());
  auto held = bb->wait(200ms);
  ASSERT_TRUE(held.ok());
  EXPECT_FALSE(*held);
  ASSERT_TRUE(ba->lower().ok());
  auto passed = bb->wait(5s);
  ASSERT_TRUE(passed.ok());
  EXPECT_TRUE(*passed);
  // A double barrier of two: one alone cannot enter; two together can, and leave together.
  auto da = a.double_barrier("/plain/double", 2), db = b.double_barrier("/plain/double", 2);
  auto alone = da->enter(200ms);
  ASSERT_TRUE(alone.ok());
  EXPECT_FALSE(*alone);
  auto first = std::async(std::launch::async, [&] { return da->enter(10s); });
  auto in = db->enter(10s);
  ASSERT_TRUE(in.ok() && *in);
  auto in_first = first.get();
  ASSERT_TRUE(in_first.ok() && *in_first);
  auto out_first = std::async(std::launch::async, [&] { return da->leave(10s); });
  auto out = db->leave(10s);
  EXPECT_TRUE(out.ok() && *out);
  auto out_a = out_first.get();
  EXPECT_TRUE(out_a.ok() && *out_a);
}

TEST(blocking_recipes, counters_compare_and_set) {
  server_process srv;
  client::blocking_client c(client_at(srv.address()));
  ASSERT_TRUE(c.wait_connected(5s));
  auto count = c.shared_count("/plain/count", 7);
  auto v = count->get();
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->value, 7);
  auto won = count->try_set(8, v->version);
  ASSERT_TRUE(won.ok());
  EXPECT_TRUE(*won);
  auto stale = count->try_set(9, v->version);
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(*stale);
  ASSERT_TRUE(count->set(10).ok());
  EXPECT_TRUE(eventually([&] { return count->get().ok() && count->get()->value == 10; }));
  auto n = c.atomic_long("/plain/long", "/plain/long-lock");
  auto added = n->add(5);
  ASSERT_TRUE(added.ok() && added->succeeded);
  EXPECT_EQ(added->pre, 0);
  EXPECT_EQ(added->post, 5);
  EXPECT_TRUE(n->compare_and_set(5, 7)->succeeded);
  EXPECT_FALSE(n->compare_and_set(5, 9)->succeeded);
  EXPECT_EQ(n->get()->post, 7);
  EXPECT_TRUE(n->set(-3)->succeeded);
  EXPECT_EQ(n->get()->post, -3);
}

TEST(blocking_recipes, a_cache_reports_and_answers) {
  server_process srv;
  client::blocking_client c(client_at(srv.address()));
  ASSERT_TRUE(c.wait_connected(5s));
  ASSERT_TRUE(c.create("/plain-cache", "root").ok());
  auto cache = c.cache("/plain-cache");
  auto first = cache->next_event(5s);
  ASSERT_TRUE(first.has_value());
  EXPECT_EQ(first->kind, client::cache_event_kind::created);
  auto init = cache->next_event(5s);
  ASSERT_TRUE(init.has_value());
  EXPECT_EQ(init->kind, client::cache_event_kind::initialized);
  ASSERT_TRUE(c.create("/plain-cache/x", "1").ok());
  auto made = cache->next_event(5s);
  ASSERT_TRUE(made.has_value());
  EXPECT_EQ(made->kind, client::cache_event_kind::created);
  EXPECT_EQ(made->node.path, "/plain-cache/x");
  EXPECT_EQ(made->node.data, "1");
  auto x = cache->get("/plain-cache/x");
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->data, "1");
  EXPECT_EQ(cache->all().size(), 2u);
}
