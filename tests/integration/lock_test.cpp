// The lock recipes (actors/client/lock.hpp) against a real corral-server: mutual exclusion under
// contention, one watch event per release (no herd), node-order fairness, timeouts and owners that
// leave no node behind, reentrancy, read/write sharing and downgrade, a holder whose session
// expires, and a create whose answer is lost (ConnectionLoss) found again by its protection prefix.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "actors/client/blocking_client.hpp"
#include "actors/client/lock.hpp"
#include "tests/integration/actor_env.hpp"
#include "tests/integration/harness.hpp"

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

namespace {

size_t children_of(client::blocking_client& c, const std::string& path) {
  auto kids = c.children(path);
  return kids.ok() ? kids->children.size() : 0;
}

} // namespace

TEST(lock, one_holder_at_a_time_with_growing_fencing_tokens) {
  server_process srv;
  constexpr int clients = 3, threads_per_client = 2, rounds = 5;
  std::vector<std::unique_ptr<client::blocking_client>> cs;
  for (int i = 0; i < clients; ++i) {
    cs.push_back(std::make_unique<client::blocking_client>(client_at(srv.address())));
    ASSERT_TRUE(cs.back()->wait_connected(5s));
  }
  std::atomic<int> holders{0}, max_holders{0}, grants{0};
  std::mutex mtx;
  int64_t last_token = 0;
  bool tokens_grew = true;
  std::vector<std::thread> ts;
  for (int i = 0; i < clients * threads_per_client; ++i) {
    ts.emplace_back([&, i] {
      auto lk = cs[i % clients]->lock("/locks/shared");
      for (int r = 0; r < rounds; ++r) {
        auto g = lk->acquire(20s);
        if (!g.ok()) {
          ADD_FAILURE() << g.error().to_string();
          return;
        }
        int now = ++holders;
        max_holders = std::max(max_holders.load(), now);
        {
          std::lock_guard<std::mutex> l(mtx);
          tokens_grew = tokens_grew && g->fencing_token > last_token;
          last_token = g->fencing_token;
        }
        ++grants;
        std::this_thread::sleep_for(2ms);
        --holders;
        EXPECT_TRUE(lk->release().ok());
      }
    });
  }
  for (auto& t : ts)
    t.join();
  EXPECT_EQ(grants.load(), clients * threads_per_client * rounds);
  EXPECT_EQ(max_holders.load(), 1);
  EXPECT_TRUE(tokens_grew) << "each new holder's fencing token (czxid) must exceed the last";
  EXPECT_EQ(children_of(*cs[0], "/locks/shared"), 0u);
}

TEST(lock, one_release_wakes_one_waiter_in_node_order) {
  server_process srv;
  client::blocking_client c(client_at(srv.address()));
  ASSERT_TRUE(c.wait_connected(5s));
  auto holder = c.lock("/locks/fair");
  ASSERT_TRUE(holder->acquire(5s).ok());
  constexpr int waiters = 6;
  std::vector<std::unique_ptr<client::blocking_client>> cs;
  std::vector<std::unique_ptr<client::blocking_lock>> locks;
  std::vector<std::thread> ts;
  std::mutex mtx;
  std::vector<int> order;
  for (int i = 0; i < waiters; ++i) {
    cs.push_back(std::make_unique<client::blocking_client>(client_at(srv.address())));
    ASSERT_TRUE(cs.back()->wait_connected(5s));
    locks.push_back(cs.back()->lock("/locks/fair"));
    ts.emplace_back([&, i] {
      auto g = locks[i]->acquire(20s);
      ASSERT_TRUE(g.ok()) << g.error().to_string();
      {
        std::lock_guard<std::mutex> l(mtx);
        order.push_back(i);
      }
      std::this_thread::sleep_for(10ms);
      EXPECT_TRUE(locks[i]->release().ok());
    });
    // The next waiter starts only once this one's node exists: node order is start order.
    ASSERT_TRUE(eventually([&] { return children_of(c, "/locks/fair") == size_t(i) + 2; }));
  }
  uint64_t events_before = 0;
  for (auto& l : locks)
    events_before += l->stats().watch_events;
  EXPECT_EQ(events_before, 0u);
  ASSERT_TRUE(holder->release().ok());
  for (auto& t : ts)
    t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4, 5}));
  uint64_t events = 0;
  for (auto& l : locks)
    events += l->stats().watch_events;
  // Six releases had someone waiting behind them (the holder's and waiters 0..4): one event each.
  // A herd (every waiter watching the lock node's children) would see 6+5+4+3+2+1 = 21.
  EXPECT_EQ(events, uint64_t{waiters});
}

TEST(lock, acquire_times_out_and_leaves_no_node) {
  server_process srv;
  client::blocking_client a(client_at(srv.address())), b(client_at(srv.address()));
  ASSERT_TRUE(a.wait_connected(5s) && b.wait_connected(5s));
  auto la = a.lock("/locks/t"), lb = b.lock("/locks/t");
  ASSERT_TRUE(la->acquire(5s).ok());
  auto start = std::chrono::steady_clock::now();
  auto g = lb->acquire(300ms);
  EXPECT_EQ(g.code(), error_code::operation_timeout);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 300ms);
  // Its node went before the answer (as Curator's): at once, not eventually. (Answered first, a read
  // served at once by the server still found the node: its delete waits for an fsync.)
  EXPECT_EQ(children_of(a, "/locks/t"), 1u);
  EXPECT_EQ(lb->stats().timeouts, 1u);
  // A waiter whose owner goes away leaves nothing behind either.
  std::thread waiter([&] { (void)lb->acquire(20s); });
  ASSERT_TRUE(eventually([&] { return children_of(a, "/locks/t") == 2; }));
  ASSERT_TRUE(la->release().ok());
  waiter.join(); // it got the lock
  lb.reset();    // destroyed while holding: its node goes
  EXPECT_TRUE(eventually([&] { return children_of(a, "/locks/t") == 0; }));
  EXPECT_TRUE(la->acquire(5s).ok());
}

TEST(lock, reentrant_for_its_owner_and_only_the_holder_releases) {
  server_process srv;
  client::blocking_client a(client_at(srv.address())), b(client_at(srv.address()));
  ASSERT_TRUE(a.wait_connected(5s) && b.wait_connected(5s));
  auto la = a.lock("/locks/r"), lb = b.lock("/locks/r");
  EXPECT_EQ(lb->release().code(), error_code::bad_arguments);
  auto g1 = la->acquire(5s);
  auto g2 = la->acquire(5s);
  ASSERT_TRUE(g1.ok() && g2.ok());
  EXPECT_EQ(g1->node, g2->node);
  EXPECT_EQ(g1->fencing_token, g2->fencing_token);
  EXPECT_EQ(g2->reentries, 1);
  EXPECT_EQ(children_of(a, "/locks/r"), 1u);
  EXPECT_EQ(lb->release().code(), error_code::bad_arguments);
  ASSERT_TRUE(la->release().ok());
  EXPECT_EQ(lb->acquire(200ms).code(), error_code::operation_timeout); // still held once
  ASSERT_TRUE(la->release().ok());
  auto gb = lb->acquire(5s);
  ASSERT_TRUE(gb.ok());
  EXPECT_GT(gb->fencing_token, g1->fencing_token);
  EXPECT_EQ(la->release().code(), error_code::bad_arguments);
  // The node is Curator's: protection prefix, lock name, ten-digit sequence.
  auto kids = a.children("/locks/r");
  ASSERT_TRUE(kids.ok());
  ASSERT_EQ(kids->children.size(), 1u);
  EXPECT_EQ(kids->children[0].rfind("_c_", 0), 0u);
  EXPECT_NE(kids->children[0].find("-lock-"), std::string::npos);
  EXPECT_EQ(gb->node, "/locks/r/" + kids->children[0]);
  auto st = a.exists(gb->node);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->czxid, gb->fencing_token);
  EXPECT_EQ(st->ephemeral_owner, b.id());
}

TEST(rw_lock, readers_share_writers_exclude_and_a_writer_downgrades) {
  server_process srv;
  client::blocking_client a(client_at(srv.address())), b(client_at(srv.address())), c(client_at(srv.address()));
  ASSERT_TRUE(a.wait_connected(5s) && b.wait_connected(5s) && c.wait_connected(5s));
  auto ra = a.rw_lock("/locks/rw"), rb = b.rw_lock("/locks/rw"), wc = c.rw_lock("/locks/rw");
  EXPECT_EQ(ra->acquire(1s, client::lock_kind::mutex).code(), error_code::bad_arguments);
  ASSERT_TRUE(ra->acquire(5s, client::lock_kind::read).ok());
  ASSERT_TRUE(rb->acquire(5s, client::lock_kind::read).ok()); // two readers at once
  EXPECT_EQ(wc->acquire(200ms, client::lock_kind::write).code(), error_code::operation_timeout);
  EXPECT_EQ(ra->acquire(1s, client::lock_kind::write).code(), error_code::bad_arguments); // no upgrade
  // The timed-out writer's node went before its answer, so the count of 3 below is the new writer's.
  ASSERT_EQ(children_of(a, "/locks/rw"), 2u);
  // A writer waits for the readers; a reader that comes after a waiting writer waits for it.
  std::atomic<bool> writer_has_it{false};
  std::thread writer([&] {
    ASSERT_TRUE(wc->acquire(20s, client::lock_kind::write).ok());
    writer_has_it = true;
  });
  ASSERT_TRUE(eventually([&] { return children_of(a, "/locks/rw") == 3; }));
  auto late = a.rw_lock("/locks/rw");
  EXPECT_EQ(late->acquire(200ms, client::lock_kind::read).code(), error_code::operation_timeout);
  ASSERT_TRUE(ra->release(client::lock_kind::read).ok());
  EXPECT_FALSE(writer_has_it.load());
  ASSERT_TRUE(rb->release(client::lock_kind::read).ok());
  writer.join();
  EXPECT_TRUE(writer_has_it.load());
  // Downgrade: the writer takes the read lock at once, then gives up the write lock.
  ASSERT_TRUE(wc->acquire(1s, client::lock_kind::read).ok());
  EXPECT_EQ(ra->acquire(200ms, client::lock_kind::read).code(), error_code::operation_timeout);
  ASSERT_TRUE(wc->release(client::lock_kind::write).ok());
  EXPECT_TRUE(ra->acquire(5s, client::lock_kind::read).ok()); // readers share with the downgraded one
  auto kids = a.children("/locks/rw");
  ASSERT_TRUE(kids.ok());
  ASSERT_EQ(kids->children.size(), 2u);
  for (auto& k : kids->children)
    EXPECT_NE(k.find("__READ__"), std::string::npos) << k;
}

TEST(lock, a_holder_that_reconnects_in_time_keeps_the_lock) {
  server_process srv;
  tcp_proxy proxy(srv.port());
  client::blocking_client holder_client(client_at(proxy.address(), 2000)), other(client_at(srv.address()));
  ASSERT_TRUE(holder_client.wait_connected(5s) && other.wait_connected(5s));
  auto holder = holder_client.lock("/locks/k"), waiter = other.lock("/locks/k");
  auto g = holder->acquire(5s);
  ASSERT_TRUE(g.ok());
  EXPECT_FALSE(holder->next_notice(200ms).has_value()) << "nothing happened to the connection yet";
  proxy.cut(); // the connection drops; the session resumes through the proxy at once
  auto n1 = holder->next_notice(5s), n2 = holder->next_notice(5s);
  ASSERT_TRUE(n1.has_value() && n2.has_value());
  EXPECT_EQ(n1->what, client::lock_notice_kind::suspended);
  EXPECT_EQ(n2->what, client::lock_notice_kind::reconnected);
  EXPECT_EQ(n2->node, g->node);
  EXPECT_FALSE(holder->next_notice(2500ms).has_value()) << "reconnected within the session timeout: not lost";
  EXPECT_EQ(waiter->acquire(200ms).code(), error_code::operation_timeout) << "still held";
  ASSERT_TRUE(holder->release().ok());
  EXPECT_TRUE(waiter->acquire(5s).ok());
}

TEST(lock, a_holder_whose_session_expires_loses_it_and_the_next_waiter_gets_it) {
  server_process srv;
  auto proxy = std::make_unique<tcp_proxy>(srv.port());
  client::blocking_client holder_client(client_at(proxy->address(), 1000)), waiter_client(client_at(srv.address()));
  ASSERT_TRUE(holder_client.wait_connected(5s) && waiter_client.wait_connected(5s));
  auto holder = holder_client.lock("/locks/x"), waiter = waiter_client.lock("/locks/x");
  auto g = holder->acquire(5s);
  ASSERT_TRUE(g.ok());
  std::atomic<bool> waiter_has_it{false};
  int64_t waiter_token = 0;
  std::thread t([&] {
    auto w = waiter->acquire(20s);
    ASSERT_TRUE(w.ok()) << w.error().to_string();
    waiter_token = w->fencing_token;
    waiter_has_it = true;
  });
  ASSERT_TRUE(eventually([&] { return children_of(waiter_client, "/locks/x") == 2; }));
  proxy.reset(); // the holder's only way to the server is gone: its session will expire
  auto n1 = holder->next_notice(5s);
  ASSERT_TRUE(n1.has_value());
  EXPECT_EQ(n1->what, client::lock_notice_kind::suspended);
  EXPECT_EQ(n1->node, g->node);
  auto n2 = holder->next_notice(5s); // after the session timeout, as Curator declares LOST
  ASSERT_TRUE(n2.has_value());
  EXPECT_EQ(n2->what, client::lock_notice_kind::lost);
  t.join();
  EXPECT_TRUE(waiter_has_it.load());
  EXPECT_GT(waiter_token, g->fencing_token);
}

namespace {

struct lossy_state {
  bool lost = false;
  std::vector<caf::actor> subscribers;
};

// Stands between a lock actor and a real session. The first ephemeral sequential create reaches the
// server (the node is made) but its answer is replaced by ConnectionLoss, followed by SUSPENDED and
// RECONNECTED: the connection dropped just after the request left, as ZooKeeper clients see it.
caf::behavior lossy_session(caf::stateful_actor<lossy_state>* self, caf::actor real) {
  return {
      [=](request_body& body) -> caf::result<response> {
        auto* c = std::get_if<create_request>(&body);
        bool lose = c != nullptr && c->mode == create_mode::ephemeral_sequential && !self->state.lost;
        auto rp = self->make_response_promise<response>();
        self->request(real, caf::infinite, std::move(body)).then([=](response& r) mutable {
          if (!lose) {
            rp.deliver(std::move(r));
            return;
          }
          self->state.lost = true;
          response loss;
          loss.err = error_code::connection_loss;
          rp.deliver(loss);
          for (auto& s : self->state.subscribers) {
            self->send(s, client::connection_state::suspended);
            self->send(s, client::connection_state::reconnected);
          }
        });
        return rp;
      },
      [=](atoms::watch, request_body& body, caf::actor& target) {
        self->delegate(real, atoms::watch::value, std::move(body), std::move(target));
      },
      [=](atoms::subscribe, caf::actor& sub) {
        self->state.subscribers.push_back(sub);
        self->send(real, atoms::subscribe::value, sub);
      },
      [=](atoms::timeout) { self->delegate(real, atoms::timeout::value); },
  };
}

} // namespace

TEST(lock, a_create_whose_answer_is_lost_is_found_by_its_protection_prefix) {
  server_process srv;
  client::blocking_client observer(client_at(srv.address()));
  ASSERT_TRUE(observer.wait_connected(5s));
  ASSERT_TRUE(observer.create("/locks", "").ok());
  ASSERT_TRUE(observer.create("/locks/p", "").ok());
  actor_env env;
  client::session_options so;
  so.servers = {srv.address()};
  so.session_timeout_ms = 4000;
  auto session = env.own(client::spawn_session(*env.sys, so));
  auto lossy = env.own(env.sys->spawn(lossy_session, session));
  auto lock = env.own(client::spawn_lock(*env.sys, lossy, "/locks/p"));
  caf::scoped_actor self{*env.sys};
  result<client::lock_grant> g(error_code::system_error);
  self->request(lock, 10s, atoms::acquire::value, int64_t{5000})
      .receive([&](result<client::lock_grant>& r) { g = std::move(r); }, [](caf::error&) {});
  ASSERT_TRUE(g.ok()) << g.error().to_string();
  auto kids = observer.children("/locks/p");
  ASSERT_TRUE(kids.ok());
  ASSERT_EQ(kids->children.size(), 1u) << "the lost create's node must be found again, not leaked";
  EXPECT_EQ(g->node, "/locks/p/" + kids->children[0]);
  auto st = observer.exists(g->node);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->czxid, g->fencing_token);
  // An owner actor that ends while it waits takes its node with it.
  auto waiter = env.own(env.sys->spawn([lock](caf::event_based_actor* me) {
    me->request(lock, caf::infinite, atoms::acquire::value, int64_t{-1}).then([](result<client::lock_grant>&) {});
  }));
  ASSERT_TRUE(eventually([&] { return children_of(observer, "/locks/p") == 2; }));
  caf::anon_send_exit(waiter, caf::exit_reason::user_shutdown);
  EXPECT_TRUE(eventually([&] { return children_of(observer, "/locks/p") == 1; }));
  self->request(lock, 10s, atoms::release::value).receive([](result<unit>&) {}, [](caf::error&) {});
  EXPECT_TRUE(eventually([&] { return children_of(observer, "/locks/p") == 0; }));
  self->request(session, 10s, atoms::close::value).receive([](response&) {}, [](caf::error&) {});
}
