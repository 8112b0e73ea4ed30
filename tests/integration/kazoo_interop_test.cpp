// Corral's recipe actors and kazoo's recipes (Debian's python3-kazoo) on the same paths of one Corral
// server, where kazoo has a compatible layout: its Lock, ReadLock and WriteLock (told about the other
// clients' node names with extra_lock_patterns) and its Barrier. kazoo's Election and Counter are
// not: Election is a kazoo Lock with no way to pass those patterns, and Counter keeps its value as
// text where Curator and Corral keep 4 big-endian bytes (see docs/recipes.md). The kazoo side is
// tests/integration/kazoo_driver.py, driven line by line.
#include <gtest/gtest.h>

#include <thread>

#include "actors/client/barrier.hpp"
#include "actors/client/blocking_client.hpp"
#include "tests/integration/actor_env.hpp"
#include "tests/integration/harness.hpp"

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

namespace {

struct kazoo {
  line_process proc;
  explicit kazoo(const std::string& zk_address, bool read_only = false)
      : proc({"/usr/bin/python3", KAZOO_DRIVER, zk_address, read_only ? "read-only" : "read-write"}) {
    auto ready = proc.read_line(60s);
    if (ready != std::string("READY"))
      throw std::runtime_error("the kazoo driver did not start: " + proc.stderr_text());
  }
  std::string operator()(const std::string& command) { return proc.ask(command); }
};

class kazoo_interop : public ::testing::Test {
protected:
  server_process srv;
  client::blocking_client corral{client_at(srv.address())};
  std::unique_ptr<kazoo> kz;
  void SetUp() override {
    ASSERT_TRUE(corral.wait_connected(5s));
    ASSERT_NO_THROW(kz = std::make_unique<kazoo>(srv.zk_address()));
  }
};

} // namespace

TEST_F(kazoo_interop, a_kazoo_lock_and_a_corral_lock_exclude_each_other) {
  auto mine = corral.lock("/kz/mutex");
  ASSERT_EQ((*kz)("lock /kz/mutex 5000"), "ACQUIRED");
  EXPECT_EQ(mine->acquire(300ms).code(), error_code::operation_timeout);
  ASSERT_EQ((*kz)("unlock /kz/mutex"), "RELEASED");
  ASSERT_TRUE(mine->acquire(5s).ok());
  EXPECT_EQ((*kz)("lock /kz/mutex 300"), "TIMEOUT");
  // A kazoo waiter queued behind Corral's holder gets the lock when it is released.
  kz->proc.send_line("lock /kz/mutex 10000");
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(mine->release().ok());
  EXPECT_EQ(kz->proc.read_line(10s).value_or(""), "ACQUIRED");
  EXPECT_EQ(mine->acquire(300ms).code(), error_code::operation_timeout);
}

TEST_F(kazoo_interop, read_write_locks_agree_with_kazoo) {
  auto rw = corral.rw_lock("/kz/rw");
  // Readers share: kazoo's and Corral's at once.
  ASSERT_EQ((*kz)("read /kz/rw 5000"), "ACQUIRED");
  ASSERT_TRUE(rw->acquire(5s, client::lock_kind::read).ok());
  ASSERT_TRUE(rw->release(client::lock_kind::read).ok());
  // A Corral writer waits for kazoo's reader.
  EXPECT_EQ(rw->acquire(300ms, client::lock_kind::write).code(), error_code::operation_timeout);
  ASSERT_EQ((*kz)("unread /kz/rw"), "RELEASED");
  ASSERT_TRUE(rw->acquire(5s, client::lock_kind::write).ok());
  // kazoo's reader and writer wait for Corral's writer.
  EXPECT_EQ((*kz)("read /kz/rw 300"), "TIMEOUT");
  EXPECT_EQ((*kz)("write /kz/rw 300"), "TIMEOUT");
  ASSERT_TRUE(rw->release(client::lock_kind::write).ok());
  ASSERT_EQ((*kz)("write /kz/rw 5000"), "ACQUIRED");
  // And Corral's reader waits for kazoo's writer.
  EXPECT_EQ(rw->acquire(300ms, client::lock_kind::read).code(), error_code::operation_timeout);
  ASSERT_EQ((*kz)("unwrite /kz/rw"), "RELEASED");
  EXPECT_TRUE(rw->acquire(5s, client::lock_kind::read).ok());
}

TEST_F(kazoo_interop, barriers_hold_and_release_both_ways) {
  auto b = corral.barrier("/kz/barrier");
  ASSERT_EQ((*kz)("bset /kz/barrier"), "SET");
  auto held = b->wait(300ms);
  ASSERT_TRUE(held.ok());
  EXPECT_FALSE(*held);
  ASSERT_EQ((*kz)("bremove /kz/barrier"), "REMOVED");
  auto passed = b->wait(5s);
  ASSERT_TRUE(passed.ok());
  EXPECT_TRUE(*passed);
  ASSERT_TRUE(b->raise().ok());
  kz->proc.send_line("bwait /kz/barrier 10000");
  std::this_thread::sleep_for(300ms);
  ASSERT_TRUE(b->lower().ok());
  EXPECT_EQ(kz->proc.read_line(10s).value_or(""), "PASSED");
}

// ZooKeeper keeps null data (kazoo's None) apart from empty data (b""), through a create, a set, a
// restart (the log) and Corral's own client.
TEST_F(kazoo_interop, null_data_is_not_empty_data) {
  EXPECT_EQ((*kz)("create /null null"), "CREATED");
  EXPECT_EQ((*kz)("create /empty empty"), "CREATED");
  EXPECT_EQ((*kz)("get /null"), "NULL");
  EXPECT_EQ((*kz)("get /empty"), "DATA ");
  EXPECT_EQ((*kz)("set /empty null"), "SET");
  EXPECT_EQ((*kz)("set /null x"), "SET");
  EXPECT_EQ((*kz)("get /empty"), "NULL");
  EXPECT_EQ((*kz)("get /null"), "DATA x");
  auto n = corral.get("/empty");
  ASSERT_TRUE(n.ok());
  EXPECT_TRUE(n->null_data);
  EXPECT_EQ(n->stat.data_length, 0);
  // Through the log on a restart.
  kz.reset();
  srv.restart();
  ASSERT_NO_THROW(kz = std::make_unique<kazoo>(srv.zk_address()));
  EXPECT_EQ((*kz)("get /empty"), "NULL");
  EXPECT_EQ((*kz)("create /empty2 empty"), "CREATED");
  EXPECT_EQ((*kz)("get /empty2"), "DATA ");
}

// Read-only mode (ZooKeeper's ReadOnlyZooKeeperServer): a server whose peers are all stopped serves
// kazoo's read_only=True client (CONNECTED_RO) and zkCli.sh -r from its last state and refuses their
// writes; once the quorum is back it ends those sessions and kazoo goes on read-write (its read-only
// session is unknown to the ensemble: LOST, then a new session, as against ZooKeeper).
TEST(kazoo_read_only, a_cut_off_server_serves_read_only_clients_until_its_quorum_returns) {
  local_ensemble ens(3, 0, {"--corral.four-letter-words=srvr,isro"});
  auto port = static_cast<uint16_t>(ens.servers[0]->zk_port());
  {
    // Through server 1 itself: it answers once it has applied the create. (Through another server,
    // server 1 may still be finding the leader, or lag its commit, when its peers stop: one that
    // settled on a candidate that then voted for a better one waits for it in vain for a while.)
    kazoo writer(ens.servers[0]->zk_address());
    ASSERT_EQ(writer("create /ro before"), "CREATED");
    ASSERT_EQ(four_letter_word(port, "isro"), "rw");
  }
  ens.servers[1]->stop();
  ens.servers[2]->stop();
  ASSERT_TRUE(eventually([&] { return four_letter_word(port, "isro") == "ro"; }, 20s))
      << "server 1 did not go read-only: " << ens.servers[0]->log();
  EXPECT_NE(four_letter_word(port, "srvr").find("Mode: read-only"), std::string::npos);

  kazoo ro(ens.servers[0]->zk_address(), true);
  EXPECT_EQ(ro("state"), "CONNECTED_RO");
  EXPECT_EQ(ro("get /ro"), "DATA before") << ens.servers[0]->log();
  EXPECT_EQ(ro("create /x empty"), "ERROR NotReadOnlyCallError()");
  EXPECT_EQ(ro("set /ro x"), "ERROR NotReadOnlyCallError()");

  auto cli = run_tool("/usr/share/zookeeper/bin/zkCli.sh", {"-r", "-server", ens.servers[0]->zk_address()},
                      "get /ro\ncreate /y\nquit\n", 300, 60s);
  EXPECT_NE(cli.out.find("state:ConnectedReadOnly"), std::string::npos) << cli.out;
  EXPECT_NE(cli.out.find("\nbefore\n"), std::string::npos) << cli.out;
  EXPECT_NE(cli.err.find("Not a read-only call: /y"), std::string::npos) << cli.err; // zkCli prints errors there

  ens.servers[1]->restart();
  ens.servers[2]->restart();
  EXPECT_EQ(ro("await CONNECTED 30000"), "CONNECTED") << ens.servers[0]->log();
  EXPECT_EQ(ro("create /after empty"), "CREATED");
  EXPECT_EQ(ro("get /ro"), "DATA before") << ens.servers[0]->log();
  auto states = ro("states");
  EXPECT_NE(states.find("LOST"), std::string::npos) << "the read-only session ends with read-only mode: " << states;
  EXPECT_EQ(four_letter_word(port, "isro"), "rw");
}
