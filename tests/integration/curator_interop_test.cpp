// Corral's recipe actors and Apache Curator 5.4's recipes (Debian's libcurator-recipes-java) on the
// same paths of one Corral server: each must see the other's nodes as Curator lays them out. The
// Curator side is tests/integration/curator/CuratorDriver.java, compiled here with javac and driven
// line by line.
#include <gtest/gtest.h>

#include <boost/filesystem.hpp>
#include <cstdlib>
#include <thread>

#include "actors/client/barrier.hpp"
#include "actors/client/blocking_client.hpp"
#include "actors/client/counter.hpp"
#include "actors/client/queue.hpp"
#include "actors/client/semaphore.hpp"
#include "tests/integration/actor_env.hpp"
#include "tests/integration/harness.hpp"

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;
namespace fs = boost::filesystem;

namespace {

std::string curator_classpath() {
  std::string cp;
  for (auto jar :
       {"curator-recipes", "curator-framework", "curator-client", "zookeeper", "zookeeper-jute", "guava", "slf4j-api",
        "slf4j-nop", "netty-handler", "netty-transport", "netty-common", "netty-buffer", "netty-resolver",
        "netty-codec", "netty-transport-native-epoll", "netty-transport-native-unix-common"})
    cp += std::string(cp.empty() ? "" : ":") + "/usr/share/java/" + jar + ".jar";
  return cp;
}

// Compiles the driver once per test binary; the directory holding CuratorDriver.class.
const std::string& driver_classes() {
  static std::string dir = [] {
    auto d = (fs::temp_directory_path() / fs::unique_path("corral-curator-%%%%-%%%%")).string();
    fs::create_directories(d);
    auto r = run_tool("/usr/bin/javac", {"-d", d, "-cp", curator_classpath(), CURATOR_DRIVER_SOURCE});
    if (r.exit_code != 0)
      throw std::runtime_error("javac CuratorDriver.java failed (install default-jdk-headless and "
                               "libcurator-recipes-java): " +
                               r.out + r.err);
    return d;
  }();
  return dir;
}

struct curator {
  line_process proc;
  explicit curator(const std::string& zk_address)
      : proc({"java", "-cp", curator_classpath() + ":" + driver_classes(), "CuratorDriver", zk_address}) {
    auto ready = proc.read_line(60s);
    if (ready != std::string("READY"))
      throw std::runtime_error("the Curator driver did not start: " + proc.stderr_text());
  }
  std::string operator()(const std::string& command) { return proc.ask(command); }
};

class curator_interop : public ::testing::Test {
protected:
  server_process srv;
  client::blocking_client corral{client_at(srv.address())};
  std::unique_ptr<curator> cur;
  void SetUp() override {
    ASSERT_TRUE(corral.wait_connected(5s));
    ASSERT_NO_THROW(cur = std::make_unique<curator>(srv.zk_address()));
  }
};

} // namespace

TEST_F(curator_interop, a_curator_mutex_and_a_corral_lock_exclude_each_other) {
  auto lk = corral.lock("/interop/mutex");
  ASSERT_EQ((*cur)("mutex /interop/mutex 5000"), "ACQUIRED");
  EXPECT_EQ(lk->acquire(300ms).code(), error_code::operation_timeout);
  ASSERT_EQ((*cur)("unmutex /interop/mutex"), "RELEASED");
  auto g = lk->acquire(5s);
  ASSERT_TRUE(g.ok()) << g.error().to_string();
  EXPECT_EQ((*cur)("mutex /interop/mutex 300"), "TIMEOUT");
  // Curator waits behind Corral's node, watching it, and gets the lock when Corral lets go.
  cur->proc.send_line("mutex /interop/mutex 20000");
  ASSERT_TRUE(eventually([&] {
    auto kids = corral.children("/interop/mutex");
    return kids.ok() && kids->children.size() == 2;
  }));
  EXPECT_FALSE(cur->proc.read_line(200ms).has_value());
  ASSERT_TRUE(lk->release().ok());
  EXPECT_EQ(cur->proc.read_line(10s).value_or(""), "ACQUIRED");
  // And Corral waits behind Curator's node the same way.
  std::thread waiter([&] { EXPECT_TRUE(lk->acquire(20s).ok()); });
  ASSERT_TRUE(eventually([&] {
    auto kids = corral.children("/interop/mutex");
    return kids.ok() && kids->children.size() == 2;
  }));
  ASSERT_EQ((*cur)("unmutex /interop/mutex"), "RELEASED");
  waiter.join();
  ASSERT_TRUE(lk->release().ok());
}

TEST_F(curator_interop, read_write_locks_agree_with_curator) {
  auto rw = corral.rw_lock("/interop/rw");
  ASSERT_EQ((*cur)("read /interop/rw 5000"), "ACQUIRED");
  ASSERT_TRUE(rw->acquire(5s, client::lock_kind::read).ok()); // readers share across the two
  ASSERT_TRUE(rw->release(client::lock_kind::read).ok());
  EXPECT_EQ(rw->acquire(300ms, client::lock_kind::write).code(), error_code::operation_timeout);
  ASSERT_EQ((*cur)("unread /interop/rw"), "RELEASED");
  ASSERT_TRUE(rw->acquire(5s, client::lock_kind::write).ok());
  EXPECT_EQ((*cur)("read /interop/rw 300"), "TIMEOUT");
  EXPECT_EQ((*cur)("write /interop/rw 300"), "TIMEOUT");
  // Downgrade on the Corral side: Curator's reader then shares with it.
  ASSERT_TRUE(rw->acquire(1s, client::lock_kind::read).ok());
  ASSERT_TRUE(rw->release(client::lock_kind::write).ok());
  EXPECT_EQ((*cur)("read /interop/rw 5000"), "ACQUIRED");
  ASSERT_EQ((*cur)("unread /interop/rw"), "RELEASED");
  EXPECT_EQ((*cur)("write /interop/rw 300"), "TIMEOUT"); // Corral's downgraded read lock holds
  ASSERT_TRUE(rw->release(client::lock_kind::read).ok());
  EXPECT_EQ((*cur)("write /interop/rw 5000"), "ACQUIRED");
  EXPECT_EQ(rw->acquire(300ms, client::lock_kind::read).code(), error_code::operation_timeout);
}

TEST_F(curator_interop, one_leader_among_curator_and_corral_latches) {
  ASSERT_EQ((*cur)("latch /interop/latch curator"), "STARTED");
  ASSERT_TRUE(eventually([&] { return (*cur)("leader /interop/latch") == "LEADER true"; }));
  auto latch = corral.leader_latch("/interop/latch", "corral");
  EXPECT_FALSE(latch->wait_leader(500ms));
  auto ps = latch->participants();
  ASSERT_TRUE(ps.ok());
  ASSERT_EQ(ps->size(), 2u);
  EXPECT_EQ((*ps)[0].id, "curator"); // Curator's node holds its id, ours ours, in node order
  EXPECT_TRUE((*ps)[0].is_leader);
  EXPECT_EQ((*ps)[1].id, "corral");
  ASSERT_EQ((*cur)("unlatch /interop/latch"), "CLOSED");
  EXPECT_TRUE(latch->wait_leader(10s));
  ASSERT_EQ((*cur)("latch /interop/latch curator2"), "STARTED");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ((*cur)("leader /interop/latch"), "LEADER false");
  latch->close();
  EXPECT_TRUE(eventually([&] { return (*cur)("leader /interop/latch") == "LEADER true"; }));
}

TEST_F(curator_interop, barriers_hold_and_release_both_ways) {
  actor_env env;
  caf::scoped_actor self{*env.sys};
  auto b = env.own(client::spawn_barrier(*env.sys, env.session(srv.address()), "/interop/barrier"));
  using bool_result = result<bool>;
  const bool_result none(error_code::system_error);
  ASSERT_EQ((*cur)("bset /interop/barrier"), "SET");
  auto r = ask_for<bool_result>(self, b, none, atoms::wait::value, int64_t{300});
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(*r) << "Curator's barrier holds Corral's waiter";
  self->send(b, atoms::wait::value, int64_t{10000});
  ASSERT_EQ((*cur)("bremove /interop/barrier"), "REMOVED");
  self->receive([&](bool_result& x) { r = x; }, caf::after(5s) >> [] {});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(*r);
  ASSERT_TRUE(ask_for<result<unit>>(self, b, result<unit>(error_code::system_error), atoms::raise::value).ok());
  EXPECT_EQ((*cur)("bwait /interop/barrier 300"), "TIMEOUT");
  cur->proc.send_line("bwait /interop/barrier 10000");
  ASSERT_TRUE(ask_for<result<unit>>(self, b, result<unit>(error_code::system_error), atoms::lower::value).ok());
  EXPECT_EQ(cur->proc.read_line(10s).value_or(""), "PASSED");
}

TEST_F(curator_interop, a_shared_count_is_one_value_for_curator_and_corral) {
  actor_env env;
  caf::scoped_actor self{*env.sys};
  ASSERT_EQ((*cur)("cset /interop/count 41"), "SET");
  auto c = env.own(client::spawn_shared_count(*env.sys, env.session(srv.address()), "/interop/count", 0, self));
  using vc = result<client::versioned_count>;
  auto v = ask_for<vc>(self, c, vc(error_code::system_error), caf::get_atom::value);
  ASSERT_TRUE(v.ok()) << v.error().to_string();
  EXPECT_EQ(v->value, 41);
  auto won = ask_for<result<bool>>(self, c, result<bool>(error_code::system_error), caf::put_atom::value, int32_t{42},
                                   v->version);
  ASSERT_TRUE(won.ok());
  EXPECT_TRUE(*won);
  EXPECT_TRUE(eventually([&] { return (*cur)("count /interop/count") == "COUNT 42"; }));
  ASSERT_EQ((*cur)("ctry /interop/count 43"), "TRY true");
  EXPECT_TRUE(eventually([&] {
    auto now = ask_for<vc>(self, c, vc(error_code::system_error), caf::get_atom::value);
    return now.ok() && now->value == 43;
  }));
  // Corral's stale compare-and-set loses to Curator's write.
  auto stale = ask_for<result<bool>>(self, c, result<bool>(error_code::system_error), caf::put_atom::value, int32_t{99},
                                     v->version);
  ASSERT_TRUE(stale.ok());
  EXPECT_FALSE(*stale);
}

TEST_F(curator_interop, curator_and_corral_share_the_leases_of_one_semaphore) {
  actor_env env;
  caf::scoped_actor self{*env.sys};
  using gr = result<client::lock_grant>;
  const gr none(error_code::system_error);
  auto a = env.own(client::spawn_semaphore(*env.sys, env.session(srv.address()), "/interop/sem", 2));
  auto b = env.own(client::spawn_semaphore(*env.sys, env.session(srv.address()), "/interop/sem", 2));
  ASSERT_EQ((*cur)("sem /interop/sem 2 5000"), "ACQUIRED");
  auto l1 = ask_for<gr>(self, a, none, atoms::acquire::value, int64_t{5000});
  ASSERT_TRUE(l1.ok()) << l1.error().to_string();
  EXPECT_EQ(ask_for<gr>(self, b, none, atoms::acquire::value, int64_t{300}).code(), error_code::operation_timeout);
  ASSERT_EQ((*cur)("unsem /interop/sem"), "RELEASED");
  EXPECT_TRUE(ask_for<gr>(self, b, none, atoms::acquire::value, int64_t{5000}).ok());
  EXPECT_EQ((*cur)("sem /interop/sem 2 300"), "TIMEOUT");
  ASSERT_TRUE(
      ask_for<result<unit>>(self, a, result<unit>(error_code::system_error), atoms::release::value, l1->node).ok());
  EXPECT_EQ((*cur)("sem /interop/sem 2 5000"), "ACQUIRED");
}

TEST_F(curator_interop, queue_items_pass_between_curator_and_corral_both_ways) {
  actor_env env;
  caf::scoped_actor self{*env.sys};
  // Curator puts (one item, then three in one node); a Corral queue takes them in order.
  auto q = env.own(client::spawn_queue(*env.sys, env.session(srv.address()), "/interop/q1"));
  ASSERT_EQ((*cur)("qput /interop/q1 alpha"), "PUT");
  ASSERT_EQ((*cur)("qmulti /interop/q1 b1 b2 b3"), "PUT");
  using ir = result<client::queue_item>;
  std::vector<std::string> taken;
  for (int i = 0; i < 4; ++i) {
    auto item = ask_for<ir>(self, q, ir(error_code::system_error), atoms::take::value, int64_t{5000});
    ASSERT_TRUE(item.ok()) << item.error().to_string();
    taken.push_back(item->data);
  }
  EXPECT_EQ(taken, (std::vector<std::string>{"alpha", "b1", "b2", "b3"}));
  // Corral puts; a Curator consumer with lock safety gets them in order, one node each.
  ASSERT_EQ((*cur)("qconsume /interop/q2 /interop/q2-locks"), "CONSUMING");
  auto producer = env.own(client::spawn_queue(*env.sys, env.session(srv.address()), "/interop/q2"));
  for (auto item : {"x", "y", "z"})
    ASSERT_TRUE(ask_for<result<std::string>>(self, producer, result<std::string>(error_code::system_error),
                                             caf::put_atom::value, std::string(item))
                    .ok());
  EXPECT_TRUE(eventually([&] { return (*cur)("qgot /interop/q2") == "GOT x y z"; }));
  std::string left;
  EXPECT_TRUE(eventually([&] { return (left = (*cur)("children /interop/q2")) == "CHILDREN "; })) << left;
}

// Curator's EnsembleTracker (on by default) reads /zookeeper/config and follows it: connected to one
// server of an ensemble that names its ZooKeeper ports, its connection string lists all three, and
// after a reconfig removes one, the two that remain.
TEST(curator_ensemble, the_ensemble_tracker_follows_the_membership) {
  // local_ensemble picks the ports again if one was taken before its server bound it (another
  // test's connection can land on a port picked as free).
  local_ensemble e(3, 0, {"--corral.super-digest=super:D/InIHSb7yEEbrWz8b9l71RjZJU="}, true);
  auto& s = e.servers;
  auto& zk = e.zk_ports;
  auto& native = e.client_ports;
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(s[static_cast<size_t>(i)]->zk_port(), zk[static_cast<size_t>(i)])
        << "the ensemble names the ZooKeeper port";
  curator cur(s[0]->zk_address());
  auto lists = [&](size_t i) {
    return cur("ensemble").find("127.0.0.1:" + std::to_string(zk[i])) != std::string::npos;
  };
  EXPECT_TRUE(eventually([&] { return lists(0) && lists(1) && lists(2); }, 20s)) << cur("ensemble");
  cli_result r; // up to three tries: a loaded machine can cost the leader its lease (ConnectionLoss)
  for (int attempt = 0; attempt < 3 && r.out.find("Committed new configuration") == std::string::npos; ++attempt)
    r = run_cli({"--server", "127.0.0.1:" + std::to_string(native[0]) + ",127.0.0.1:" + std::to_string(native[1])},
                "addauth digest super:test\nreconfig -remove 3\n", 200);
  ASSERT_NE(r.out.find("Committed new configuration"), std::string::npos) << r.out << r.err;
  EXPECT_TRUE(eventually([&] { return lists(0) && lists(1) && !lists(2); }, 20s)) << cur("ensemble");
}
