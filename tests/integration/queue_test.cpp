// The distributed queue actor (actors/client/queue.hpp) against a real corral-server: every item to
// exactly one consumer, in queue order, in both ways of taking; a refused item comes back; a
// consumer that ends mid-item leaves it to another; takes wait and time out; a cut connection loses
// nothing with a lock path.
#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <thread>

#include "actors/client/blocking_client.hpp"
#include "actors/client/queue.hpp"
#include "tests/integration/actor_env.hpp"
#include "tests/integration/harness.hpp"

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

namespace {

using name_result = result<std::string>;
using item_result = result<client::queue_item>;

// What consumers saw: per consumer, the items in the order they came.
struct record {
  std::mutex mtx;
  std::map<int, std::vector<std::string>> seen;
  size_t total() {
    std::lock_guard<std::mutex> l(mtx);
    size_t n = 0;
    for (auto& [c, items] : seen)
      n += items.size();
    return n;
  }
};

// A consumer that records each item and answers `answer(item)`; an empty optional: it ends without
// answering (a consumer that dies mid-item).
using answer_fn = std::function<std::optional<bool>(const std::string&)>;

caf::actor spawn_consumer(caf::actor_system& sys, std::shared_ptr<record> rec, int id, answer_fn answer) {
  return sys.spawn([rec, id, answer](caf::event_based_actor* self) -> caf::behavior {
    return {[=](client::queue_item& item) -> caf::result<bool> {
      auto a = answer(item.data);
      if (!a) {
        self->quit();
        return caf::error(caf::sec::request_receiver_down);
      }
      {
        std::lock_guard<std::mutex> l(rec->mtx);
        rec->seen[id].push_back(item.data);
      }
      return *a;
    }};
  });
}

std::string item_name(int i) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "item-%04d", i);
  return buf;
}

size_t children_of(client::blocking_client& c, const std::string& path) {
  auto r = c.children(path);
  return r.ok() ? r->children.size() : 0;
}

void each_item_once_in_order(const std::string& lock_path) {
  server_process srv;
  actor_env env;
  caf::scoped_actor self{*env.sys};
  auto rec = std::make_shared<record>();
  constexpr int consumers = 3, items = 150;
  for (int i = 0; i < consumers; ++i) {
    client::queue_options o;
    o.consumer = env.own(spawn_consumer(*env.sys, rec, i, [](const std::string&) { return true; }));
    o.lock_path = lock_path;
    env.own(client::spawn_queue(*env.sys, env.session(srv.address()), "/queues/q", o));
  }
  auto producer = env.own(client::spawn_queue(*env.sys, env.session(srv.address()), "/queues/q"));
  for (int i = 0; i < items; ++i) {
    auto r =
        ask_for<name_result>(self, producer, name_result(error_code::system_error), caf::put_atom::value, item_name(i));
    ASSERT_TRUE(r.ok()) << r.error().to_string();
    EXPECT_EQ(r->rfind("queue-", 0), 0u);
  }
  ASSERT_TRUE(eventually([&] { return rec->total() >= size_t(items); }, 20s));
  std::this_thread::sleep_for(200ms); // a duplicate would show up now
  std::map<std::string, int> times;
  for (auto& [c, got] : rec->seen) {
    EXPECT_TRUE(std::is_sorted(got.begin(), got.end())) << "consumer " << c << " got items out of order";
    for (auto& g : got)
      ++times[g];
  }
  EXPECT_EQ(times.size(), size_t(items));
  for (auto& [item, n] : times)
    EXPECT_EQ(n, 1) << item;
  client::blocking_client c(client_at(srv.address()));
  ASSERT_TRUE(c.wait_connected(5s));
  EXPECT_TRUE(eventually([&] { return children_of(c, "/queues/q") == 0; }));
  if (!lock_path.empty()) {
    EXPECT_TRUE(eventually([&] { return children_of(c, lock_path) == 0; }));
  }
}

} // namespace

TEST(queue, every_item_goes_to_exactly_one_consumer_in_order) { each_item_once_in_order(""); }

TEST(queue, with_a_lock_path_every_item_goes_to_exactly_one_consumer_in_order) {
  each_item_once_in_order("/queues/q-locks");
}

TEST(queue, with_a_lock_path_a_refused_item_comes_back_and_an_ended_consumer_leaves_its_item) {
  server_process srv;
  actor_env env;
  caf::scoped_actor self{*env.sys};
  auto rec = std::make_shared<record>();
  auto producer = env.own(client::spawn_queue(*env.sys, env.session(srv.address()), "/queues/r"));
  for (auto item : {"first", "second"})
    ASSERT_TRUE(ask_for<name_result>(self, producer, name_result(error_code::system_error), caf::put_atom::value,
                                     std::string(item))
                    .ok());
  // This consumer refuses "first" once (it is moved behind "second"), then ends when "first" comes back.
  int firsts = 0;
  client::queue_options o;
  o.lock_path = "/queues/r-locks";
  o.consumer = env.own(spawn_consumer(*env.sys, rec, 0, [&firsts](const std::string& item) -> std::optional<bool> {
    if (item != "first")
      return true;
    if (++firsts == 1)
      return false;
    return std::nullopt;
  }));
  auto q = env.own(client::spawn_queue(*env.sys, env.session(srv.address()), "/queues/r", o));
  ASSERT_TRUE(eventually([&] { return firsts == 2; }));
  {
    std::lock_guard<std::mutex> l(rec->mtx);
    EXPECT_EQ(rec->seen[0], (std::vector<std::string>{"first", "second"})) << "refused, then second, then ended";
  }
  auto stats = ask_for<client::queue_stats>(self, q, client::queue_stats{}, atoms::stats::value);
  EXPECT_EQ(stats.requeued, 1u);
  // The item the ended consumer held is still queued: the next consumer gets it.
  client::queue_options o2;
  o2.lock_path = "/queues/r-locks";
  o2.consumer = env.own(spawn_consumer(*env.sys, rec, 1, [](const std::string&) { return true; }));
  env.own(client::spawn_queue(*env.sys, env.session(srv.address()), "/queues/r", o2));
  ASSERT_TRUE(eventually([&] {
    std::lock_guard<std::mutex> l(rec->mtx);
    return rec->seen[1] == std::vector<std::string>{"first"};
  }));
}

TEST(queue, takes_wait_for_items_in_order_and_time_out) {
  server_process srv;
  actor_env env;
  caf::scoped_actor self{*env.sys};
  auto q = env.own(client::spawn_queue(*env.sys, env.session(srv.address()), "/queues/t"));
  const item_result none(error_code::system_error);
  auto start = std::chrono::steady_clock::now();
  auto empty = ask_for<item_result>(self, q, none, atoms::take::value, int64_t{200});
  EXPECT_EQ(empty.code(), error_code::operation_timeout);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
  self->send(q, atoms::take::value, int64_t{10000}); // waits for the put below
  std::this_thread::sleep_for(100ms);
  ASSERT_TRUE(ask_for<name_result>(self, q, name_result(error_code::system_error), caf::put_atom::value,
                                   std::vector<std::string>{"a", "b"})
                  .ok());
  ASSERT_TRUE(
      ask_for<name_result>(self, q, name_result(error_code::system_error), caf::put_atom::value, std::string("c"))
          .ok());
  item_result first = none;
  self->receive([&](item_result& r) { first = r; }, caf::after(5s) >> [] {});
  ASSERT_TRUE(first.ok()) << first.error().to_string();
  EXPECT_EQ(first->data, "a");
  auto second = ask_for<item_result>(self, q, none, atoms::take::value, int64_t{5000});
  auto third = ask_for<item_result>(self, q, none, atoms::take::value, int64_t{5000});
  ASSERT_TRUE(second.ok() && third.ok());
  EXPECT_EQ(second->data, "b");
  EXPECT_EQ(second->node, first->node) << "one node carried both";
  EXPECT_EQ(third->data, "c");
  // A queue with a consumer does not take.
  client::queue_options o;
  o.consumer =
      env.own(spawn_consumer(*env.sys, std::make_shared<record>(), 0, [](const std::string&) { return true; }));
  auto consuming = env.own(client::spawn_queue(*env.sys, env.session(srv.address()), "/queues/other", o));
  EXPECT_EQ(ask_for<item_result>(self, consuming, none, atoms::take::value, int64_t{100}).code(),
            error_code::bad_arguments);
}

TEST(queue, with_a_lock_path_cut_connections_lose_no_item) {
  server_process srv;
  tcp_proxy proxy(srv.port());
  actor_env env;
  caf::scoped_actor self{*env.sys};
  auto rec = std::make_shared<record>();
  client::queue_options o;
  o.lock_path = "/queues/c-locks";
  o.consumer = env.own(spawn_consumer(*env.sys, rec, 0, [](const std::string&) {
    std::this_thread::sleep_for(2ms); // leave time for a cut to land mid-item
    return true;
  }));
  env.own(client::spawn_queue(*env.sys, env.session(proxy.address(), 6000), "/queues/c", o));
  auto producer = env.own(client::spawn_queue(*env.sys, env.session(srv.address()), "/queues/c"));
  constexpr int items = 120;
  for (int i = 0; i < items; ++i) {
    ASSERT_TRUE(
        ask_for<name_result>(self, producer, name_result(error_code::system_error), caf::put_atom::value, item_name(i))
            .ok());
    if (i % 30 == 10)
      proxy.cut();
  }
  for (int round = 0; round < 3; ++round) {
    std::this_thread::sleep_for(50ms);
    proxy.cut();
  }
  ASSERT_TRUE(eventually(
      [&] {
        std::lock_guard<std::mutex> l(rec->mtx);
        std::set<std::string> distinct(rec->seen[0].begin(), rec->seen[0].end());
        return distinct.size() == size_t(items);
      },
      30s));
  client::blocking_client c(client_at(srv.address()));
  ASSERT_TRUE(c.wait_connected(5s));
  EXPECT_TRUE(eventually([&] { return children_of(c, "/queues/c") == 0; }));
}

TEST(queue, plain_code_puts_and_takes_through_the_blocking_facade) {
  server_process srv;
  client::blocking_client a(client_at(srv.address())), b(client_at(srv.address()));
  ASSERT_TRUE(a.wait_connected(5s) && b.wait_connected(5s));
  auto producer = a.queue("/queues/plain");
  auto consumer = b.queue("/queues/plain", "/queues/plain-locks");
  EXPECT_EQ(consumer->take(100ms).code(), error_code::operation_timeout);
  ASSERT_TRUE(producer->put("one").ok());
  ASSERT_TRUE(producer->put(std::vector<std::string>{"two", "three"}).ok());
  for (auto want : {"one", "two", "three"}) {
    auto got = consumer->take(5s);
    ASSERT_TRUE(got.ok()) << got.error().to_string();
    EXPECT_EQ(got->data, want);
  }
  EXPECT_TRUE(eventually([&] { return children_of(a, "/queues/plain") == 0; }));
}
