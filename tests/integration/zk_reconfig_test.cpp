// Membership changes on a live ensemble under load (issue 13 §1's "done when"): an observer, then a
// voter, added with zkCli.sh's reconfig (the new servers start with the ensemble plus themselves, as
// ZooKeeper's procedure has it), then both removed with corral-cli's; every write acknowledged during
// all of it is there at the end, and each server's role follows the membership.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "actors/client/blocking_client.hpp"
#include "tests/integration/harness.hpp"

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

namespace {

const std::string super_digest = "--corral.super-digest=super:D/InIHSb7yEEbrWz8b9l71RjZJU="; // super:test

struct planned {
  uint16_t client = free_port(), quorum = free_port();
  std::string entry(int id, const std::string& role) const {
    return "\"" + std::to_string(id) + "=127.0.0.1:" + std::to_string(client) + ":" + std::to_string(quorum) + ":" +
           role + "\"";
  }
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
    t.join();
  }
};

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
  auto added = zkcli("reconfig -add " + p[3].zk_line(4, "observer") + "\n");
  ASSERT_NE(added.out.find("Committed new configuration"), std::string::npos) << added.out << added.err;
  ASSERT_TRUE(eventually([&] { return mode_of(*s[3]) == "observer"; }, 20s)) << s[3]->log();

  // A voter, the same way.
  s.push_back(start(5, "[" + three + "," + p[3].entry(4, "observer") + "," + p[4].entry(5, "participant") + "]"));
  added = zkcli("reconfig -add " + p[4].zk_line(5, "participant") + "\nconfig\n");
  ASSERT_NE(added.out.find("Committed new configuration"), std::string::npos) << added.out << added.err;
  ASSERT_TRUE(eventually([&] { return mode_of(*s[4]) == "follower" || mode_of(*s[4]) == "leader"; }, 20s))
      << s[4]->log();

  // Both leave, with corral-cli.
  auto removed = run_cli({"--server", voters[0] + "," + voters[1] + "," + voters[2]},
                         "addauth digest super:test\nreconfig -remove 4\nreconfig -remove 5\nconfig\n", 200);
  EXPECT_NE(removed.out.find("Committed new configuration"), std::string::npos) << removed.out << removed.err;
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
