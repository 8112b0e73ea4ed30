// corral-cli driven as a process: one-shot mode, commands from standard input, exit codes, output
// in zkCli.sh's manner.
#include <gtest/gtest.h>

#include <fstream>

#include "tests/integration/harness.hpp"

using namespace corral::test;

TEST(cli, one_shot_commands_and_exit_codes) {
  server_process srv;
  auto r = run_cli({"--server", srv.address(), "create", "/x", "hello world"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "Created /x\n");
  r = run_cli({"--server", srv.address(), "get", "/x"});
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.out, "hello world\n");
  r = run_cli({"--server", srv.address(), "get", "/nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "KeeperErrorCode = NoNode for /nope\n");
  r = run_cli({"--server", srv.address(), "delete", "-v", "3", "/x"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.err, "KeeperErrorCode = BadVersion for /x\n");
}

TEST(cli, script_on_standard_input) {
  server_process srv;
  auto r = run_cli({"--server", srv.address()}, "create /a one\n"
                                                "create -s /a/q- x\n"
                                                "create -e /a/e\n"
                                                "ls /a\n"
                                                "set -s -v 0 /a two\n"
                                                "addauth digest bob:pw\n"
                                                "create /acl d auth:bob:pw:cdrwa\n"
                                                "getAcl /acl\n"
                                                "getEphemerals\n"
                                                "deleteall /a\n"
                                                "ls /\n");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("Created /a/q-0000000000\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[e, q-0000000000]\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("dataVersion = 1\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("'digest,'bob:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[/a/e]\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[acl, zookeeper]\n"), std::string::npos) << r.out;
}

TEST(cli, watch_events_print_as_they_arrive) {
  server_process srv;
  ASSERT_EQ(run_cli({"--server", srv.address(), "create", "/w", "0"}).exit_code, 0);
  // The watching CLI arms a watch, then a second CLI changes the node, then the first one quits.
  std::thread changer([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    run_cli({"--server", srv.address(), "set", "/w", "1"});
  });
  std::string script = "get -w /w\n";
  // Keeps the watcher alive for ~2 s, sending a sync every 100 ms, so the event often arrives while
  // a sync waits for its answer: the CLI once held its output lock across that wait, and the event's
  // printing (which the client delivers before the sync's answer) deadlocked it.
  for (int i = 0; i < 20; ++i)
    script += "sync /\n";
  auto r = run_cli({"--server", srv.address()}, script, 100);
  changer.join();
  EXPECT_NE(r.out.find("WatchedEvent state:SyncConnected type:NodeDataChanged path:/w"), std::string::npos) << r.out;
}

TEST(cli, unreachable_server_is_a_clear_error) {
  auto r = run_cli({"--server", "127.0.0.1:1", "--timeout", "500", "ls", "/"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("cannot connect to 127.0.0.1:1"), std::string::npos) << r.err;
}

TEST(logdump, prints_records_verifies_checksums_and_reports_damage) {
  server_process srv;
  ASSERT_EQ(run_cli({"--server", srv.address()}, "create /dumped hello\nset /dumped again\n").exit_code, 0);
  auto data = srv.dir() + "/data";
  auto r = run_tool(CORRAL_LOGDUMP_BIN, {data});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("create /dumped (5 bytes)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("setData /dumped v1"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("checksums: all good"), std::string::npos);
  EXPECT_NE(r.out.find("recovered tree:"), std::string::npos);
  EXPECT_NE(r.out.find("digest 0x"), std::string::npos);
  srv.kill9();
  // Damage a record in the middle of the log.
  auto seg = data + "/log.0000000000000001";
  {
    std::fstream f(seg, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(32 + 16 + 20);
    char c = 0;
    f.get(c);
    f.seekp(32 + 16 + 20);
    f.put(static_cast<char>(~c)); // flipped: a fixed value would leave a byte that already held it
  }
  auto bad = run_tool(CORRAL_LOGDUMP_BIN, {"--verify", seg});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.out.find("DAMAGE"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("offset 32"), std::string::npos) << bad.out;
}
