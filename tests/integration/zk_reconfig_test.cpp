// Membership changes on a live ensemble under load (issue 13 §1's "done when"): an observer, then a
// voter, are added (the new servers start with the ensemble plus themselves, as ZooKeeper's procedure
// has it) and removed, each change made by another client: zkCli.sh, corral-cli, kazoo and ZooKeeper's
// C client. Every write acknowledged during all of it is there at the end, and each server's role
// follows the membership.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "actors/client/blocking_client.hpp"
#include "tests/integration/harness.hpp"

#include <zookeeper/zookeeper.h>

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

namespace {

const std::string super_digest = "--corral.super-digest=super:D/InIHSb7yEEbrWz8b9l71RjZJU="; // super:test

struct planned {
  uint16_t client = free_port(), quorum = free_port();
  std::string member(int id, const std::string& role) const { // corral.ensemble's form
    return std::to_string(id) + "=127.0.0.1:" + std::to_string(client) + ":" + std::to_string(quorum) + ":" + role;
  }
  std::string entry(int id, const std::string& role) const { return "\"" + member(id, role) + "\""; }
  std::string zk_line(int id, const std::string& role) const {
    return "server." + std::to_string(id) + "=127.0.0.1:" + std::to_string(quorum) + ":" + std::to_string(client) +
           ":" + role;
  }
};

std::unique_ptr<server_process> start(int id, const std::string& list) {
  return std::make_unique<server_process>(
      std::vector<std::string>{"--corral.server-id=" + std::to_string(id), "--corral.ensemble=" + list,
                               "--corral.zab-tick-ms=50", super_digest, "--corral.four-letter-words=srvr"});
}

std::string mode_of(const server_process& s) {
  auto text = four_letter_word(static_cast<uint16_t>(s.zk_port()), "srvr");
  auto at = text.find("Mode: ");
  return at == std::string::npos ? "" : text.substr(at + 6, text.find('\n', at) - at - 6);
}

// Writes /load/N through the three voters until stopped; keeps the acknowledged ones.
struct load {
  std::atomic<bool> stop{false};
  std::vector<std::string> acked;
  std::thread t;
  explicit load(std::vector<std::string> servers) {
    t = std::thread([this, servers] {
      client::client_options o;
      o.servers = servers;
      o.session_timeout_ms = 6000;
      o.request_timeout_ms = 5000;
      client::blocking_client c(o);
      c.wait_connected(10s);
      c.create("/load", "");
      for (int i = 0; i < 100000 && !stop; ++i) {
        auto path = "/load/" + std::to_string(i);
        if (c.create(path, "x").ok())
          acked.push_back(path);
        std::this_thread::sleep_for(2ms);
      }
    });
  }
  void finish() {
    stop = true;
    if (t.joinable())
      t.join();
  }
  ~load() { finish(); } // a failed assertion returns early
};

// ZooKeeper's C client, as the superuser: zoo_reconfig's answer (and the new configuration in `config`).
int c_client_reconfig(const std::string& hosts, const char* joining, const char* leaving, int64_t version,
                      std::string& config) {
  zoo_set_debug_level(ZOO_LOG_LEVEL_ERROR);
  zhandle_t* h = zookeeper_init(hosts.c_str(), nullptr, 10000, nullptr, nullptr, 0);
  if (h == nullptr)
    return ZSYSTEMERROR;
  eventually([&] { return zoo_state(h) == ZOO_CONNECTED_STATE; }, 10s);
  int rc = zoo_add_auth(h, "digest", "super:test", 10, nullptr, nullptr);
  char buf[4096];
  int len = sizeof buf;
  if (rc == ZOK)
    rc = zoo_reconfig(h, joining, leaving, nullptr, version, buf, &len, nullptr);
  if (rc == ZOK && len > 0)
    config.assign(buf, static_cast<size_t>(len));
  zookeeper_close(h);
  return rc;
}

} // namespace

TEST(zk_reconfig, an_observer_then_a_voter_join_and_leave_a_live_ensemble_under_load) {
  std::vector<planned> p(5);
  std::string three =
      p[0].entry(1, "participant") + "," + p[1].entry(2, "participant") + "," + p[2].entry(3, "participant");
  std::vector<std::unique_ptr<server_process>> s;
  for (int id = 1; id <= 3; ++id)
    s.push_back(start(id, "[" + three + "]"));
  std::vector<std::string> voters;
  for (int i = 0; i < 3; ++i)
    voters.push_back("127.0.0.1:" + std::to_string(p[static_cast<size_t>(i)].client));
  ASSERT_TRUE(eventually([&] { return mode_of(*s[0]) != "" && mode_of(*s[1]) != "" && mode_of(*s[2]) != ""; }, 20s));
  load writes(voters);
  auto zkcli = [&](const std::string& commands) {
    return run_tool("/usr/share/zookeeper/bin/zkCli.sh", {"-server", s[0]->zk_address()},
                    "addauth digest super:test\n" + commands + "quit\n", 300, 60s);
  };

  // An observer: started with the ensemble plus itself, then added.
  s.push_back(start(4, "[" + three + "," + p[3].entry(4, "observer") + "]"));
  // Each change is tried up to three times, as an operator would when the answer is ConnectionLoss: on
  // a loaded machine (CI runs two test processes on two cores) a 350 ms stall costs the leader its
  // lease and the clients their connections. Adding a server that is in already changes nothing.
  cli_result added;
  for (int attempt = 0; attempt < 3 && added.out.find("Committed new configuration") == std::string::npos; ++attempt)
    added = zkcli("reconfig -add " + p[3].zk_line(4, "observer") + "\n");
  ASSERT_NE(added.out.find("Committed new configuration"), std::string::npos) << added.out << added.err;
  ASSERT_TRUE(eventually([&] { return mode_of(*s[3]) == "observer"; }, 20s)) << s[3]->log();

  // A voter, with corral-cli in Corral's member form.
  s.push_back(start(5, "[" + three + "," + p[3].entry(4, "observer") + "," + p[4].entry(5, "participant") + "]"));
  cli_result cli;
  for (int attempt = 0; attempt < 3 && cli.out.find("Committed new configuration") == std::string::npos; ++attempt)
    cli = run_cli({"--server", voters[0] + "," + voters[1] + "," + voters[2]},
                  "addauth digest super:test\nreconfig -add " + p[4].member(5, "participant") + "\n", 200);
  ASSERT_NE(cli.out.find("Committed new configuration"), std::string::npos) << cli.out << cli.err;
  ASSERT_TRUE(eventually([&] { return mode_of(*s[4]) == "follower" || mode_of(*s[4]) == "leader"; }, 20s))
      << s[4]->log();

  // A server restarted with its old corral.ensemble starts with the membership in its data directory.
  s[0]->stop();
  s[0]->restart();
  EXPECT_NE(s[0]->log().find("from the data directory"), std::string::npos) << s[0]->log();
  ASSERT_TRUE(eventually([&] { return mode_of(*s[0]) == "follower" || mode_of(*s[0]) == "leader"; }, 20s))
      << s[0]->log();

  // The observer leaves through kazoo, the voter through the C client.
  std::string zk_voters = s[0]->zk_address() + "," + s[1]->zk_address() + "," + s[2]->zk_address();
  {
    line_process kz({"/usr/bin/python3", KAZOO_DRIVER, zk_voters});
    ASSERT_EQ(kz.read_line(60s), std::optional<std::string>("READY")) << kz.stderr_text();
    EXPECT_EQ(kz.ask("auth digest super:test"), "AUTHED");
    // Again if the ensemble was busy (a restart's election, a lost lease).
    std::string config;
    EXPECT_TRUE(eventually([&] { return (config = kz.ask("reconfig - 4")).rfind("CONFIG ", 0) == 0; }, 20s))
        << config << kz.stderr_text();
    EXPECT_EQ(config.find("server.4"), std::string::npos) << config;
  }
  std::string after;
  int rc = ZOK;
  EXPECT_TRUE(
      eventually([&] { return (rc = c_client_reconfig(zk_voters, nullptr, "5", 0x12345, after)) == ZBADVERSION; }, 20s))
      << "a stale version: " << rc;
  EXPECT_TRUE(eventually([&] { return (rc = c_client_reconfig(zk_voters, nullptr, "5", -1, after)) == ZOK; }, 20s))
      << "zoo_reconfig: " << rc;
  EXPECT_EQ(after.find("server.5"), std::string::npos) << after;
  ASSERT_TRUE(eventually([&] { return mode_of(*s[3]) == "" && mode_of(*s[4]) == ""; }, 20s))
      << "removed servers stop serving";

  writes.finish();
  ASSERT_GT(writes.acked.size(), 20u) << "the load must have run through the changes";
  client::client_options o;
  o.servers = voters;
  client::blocking_client check(o);
  ASSERT_TRUE(check.wait_connected(10s));
  ASSERT_TRUE(check.sync("/").ok());
  for (auto& path : writes.acked)
    ASSERT_TRUE(check.exists(path).ok()) << "acknowledged write " << path << " was lost";
  auto config = check.get("/zookeeper/config");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->data.find("server.4"), std::string::npos) << config->data;
  EXPECT_EQ(config->data.find("server.5"), std::string::npos) << config->data;
}
