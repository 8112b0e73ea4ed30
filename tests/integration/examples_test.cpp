// The example apps (examples/) run as their headers say, against a real corral-server.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <boost/filesystem.hpp>
#include <fstream>
#include <sstream>

#include "tests/integration/harness.hpp"

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;
namespace fs = boost::filesystem;

namespace {

std::vector<std::string> lines_of(const std::string& file) {
  std::ifstream in(file);
  std::vector<std::string> out;
  for (std::string l; std::getline(in, l);)
    out.push_back(l);
  return out;
}

// Reads lines until one starts with `prefix`; returns it ("" if none came in time).
std::string wait_line(line_process& p, const std::string& prefix, std::chrono::milliseconds timeout = 20s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto l =
        p.read_line(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
    if (!l)
      return "";
    if (l->rfind(prefix, 0) == 0)
      return *l;
  }
  return "";
}

} // namespace

TEST(examples, worker_pool_workers_take_turns_and_the_ledger_sees_growing_tokens) {
  server_process srv;
  auto ledger = (fs::temp_directory_path() / fs::unique_path("corral-ledger-%%%%-%%%%")).string();
  std::vector<std::unique_ptr<line_process>> ws;
  for (auto name : {"w1", "w2", "w3"})
    ws.push_back(std::make_unique<line_process>(std::vector<std::string>{WORKER_POOL_BIN, "--server=" + srv.address(),
                                                                         std::string("--name=") + name, "--jobs=4",
                                                                         "--ledger=" + ledger}));
  for (auto& w : ws)
    EXPECT_EQ(wait_line(*w, "done", 60s), "done") << w->stderr_text();
  auto entries = lines_of(ledger);
  ASSERT_EQ(entries.size(), 12u);
  int64_t last = 0;
  for (auto& e : entries) {
    int64_t t = 0;
    ASSERT_TRUE(std::istringstream(e) >> t) << "no rejected writes: " << e;
    EXPECT_GT(t, last) << e;
    last = t;
  }
  fs::remove(ledger);
}

TEST(examples, worker_pool_a_paused_holder_cannot_write_with_its_stale_token) {
  server_process srv;
  auto ledger = (fs::temp_directory_path() / fs::unique_path("corral-ledger-%%%%-%%%%")).string();
  // The slow worker holds the lock for 1.5 s per job; it is stopped meanwhile for longer than its
  // 1 s session timeout, so the lock passes to the fast worker.
  line_process slow({WORKER_POOL_BIN, "--server=" + srv.address(), "--name=slow", "--jobs=1", "--work-ms=1500",
                     "--session-ms=1000", "--ledger=" + ledger});
  auto holding = wait_line(slow, "holding");
  ASSERT_FALSE(holding.empty()) << slow.stderr_text();
  ASSERT_EQ(::kill(slow.pid(), SIGSTOP), 0);
  line_process fast({WORKER_POOL_BIN, "--server=" + srv.address(), "--name=fast", "--jobs=1", "--ledger=" + ledger});
  auto fast_wrote = wait_line(fast, "wrote", 30s); // once the slow one's session has expired
  ASSERT_FALSE(fast_wrote.empty()) << fast.stderr_text();
  ASSERT_EQ(::kill(slow.pid(), SIGCONT), 0);
  std::string slow_result;
  for (int i = 0; i < 10 && slow_result.empty(); ++i) { // skip "notice ..." lines
    auto l = wait_line(slow, "", 30s);
    if (l.rfind("wrote", 0) == 0 || l.rfind("rejected", 0) == 0 || l.empty())
      slow_result = l.empty() ? "nothing" : l;
  }
  auto slow_token = std::stoll(holding.substr(holding.find(' ') + 1));
  auto fast_token = std::stoll(fast_wrote.substr(fast_wrote.find(' ') + 1));
  EXPECT_GT(fast_token, slow_token);
  EXPECT_EQ(slow_result, "rejected " + std::to_string(slow_token)) << "the stale holder's write must be refused";
  auto entries = lines_of(ledger);
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0], std::to_string(fast_token) + " fast job 1");
  EXPECT_EQ(entries[1], "# rejected " + std::to_string(slow_token) + " slow job 1");
  fs::remove(ledger);
}

TEST(examples, leader_failover_another_process_leads_when_the_leader_is_killed) {
  server_process srv;
  auto start = [&](const std::string& id) {
    return std::make_unique<line_process>(
        std::vector<std::string>{LEADER_FAILOVER_BIN, "--server=" + srv.address(), "--id=" + id, "--session-ms=1000"});
  };
  auto a = start("a");
  ASSERT_EQ(wait_line(*a, "leader"), "leader a") << a->stderr_text();
  auto b = start("b");
  ASSERT_EQ(wait_line(*b, "joined"), "joined b");
  EXPECT_TRUE(wait_line(*b, "leader", 1s).empty()) << "only one leader";
  auto killed = std::chrono::steady_clock::now();
  ASSERT_EQ(::kill(a->pid(), SIGKILL), 0);
  EXPECT_EQ(wait_line(*b, "leader", 20s), "leader b") << b->stderr_text();
  // The session timeout (1 s) bounds the failover, plus the server's expiry tick.
  EXPECT_LT(std::chrono::steady_clock::now() - killed, 5s);
}

TEST(examples, hello_lock_locks_unlocks_leads_and_exits_and_is_the_readme_app) {
  server_process srv;
  line_process app({HELLO_LOCK_BIN, srv.address()});
  auto locked = wait_line(app, "locked");
  EXPECT_EQ(locked.rfind("locked, fencing token ", 0), 0u) << app.stderr_text();
  EXPECT_EQ(wait_line(app, "unlocked"), "unlocked");
  EXPECT_EQ(wait_line(app, "leading"), "leading");
  EXPECT_TRUE(app.wait_exit(10s)) << "the app ends once its session is closed";
  // The README shows this very program (from its #include lines on).
  std::ifstream src(HELLO_LOCK_SOURCE), readme(README_FILE);
  std::stringstream s, r;
  s << src.rdbuf();
  r << readme.rdbuf();
  auto code = s.str().substr(s.str().find("#include"));
  EXPECT_NE(r.str().find(code), std::string::npos) << "README.md's app must match examples/hello_lock.cpp";
}

TEST(examples, service_discovery_instances_see_each_other_and_a_killed_one_leaves) {
  server_process srv;
  auto start = [&](const std::string& id, const std::string& address) {
    return std::make_unique<line_process>(std::vector<std::string>{
        SERVICE_DISCOVERY_BIN, "--server=" + srv.address(), "--id=" + id, "--address=" + address, "--session-ms=1000"});
  };
  // Lines show every change, so an instance may first print the list without itself (its own node
  // is created while its cache loads): wait for the list each step must reach.
  auto reaches = [](line_process& p, const std::string& want, std::chrono::milliseconds timeout = 20s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (std::string l; (l = wait_line(p, "instances",
                                       std::chrono::duration_cast<std::chrono::milliseconds>(
                                           deadline - std::chrono::steady_clock::now()))) != "";)
      if (l == want)
        return true;
    return false;
  };
  const std::string only_a = "instances a=127.0.0.1:8001", both = only_a + " b=127.0.0.1:8002";
  auto a = start("a", "127.0.0.1:8001");
  EXPECT_TRUE(reaches(*a, only_a)) << a->stderr_text();
  auto b = start("b", "127.0.0.1:8002");
  EXPECT_TRUE(reaches(*b, both)) << b->stderr_text();
  EXPECT_TRUE(reaches(*a, both));
  ASSERT_EQ(::kill(b->pid(), SIGKILL), 0);
  EXPECT_TRUE(reaches(*a, only_a, 15s)) << "b's node goes with its session";
}

TEST(examples, shared_file_readers_never_see_a_half_written_file) {
  server_process srv;
  auto file = (fs::temp_directory_path() / fs::unique_path("corral-shared-%%%%-%%%%")).string();
  auto start = [&](const std::string& role, int rounds) {
    return std::make_unique<line_process>(std::vector<std::string>{SHARED_FILE_BIN, "--server=" + srv.address(),
                                                                   "--file=" + file, "--role=" + role,
                                                                   "--rounds=" + std::to_string(rounds)});
  };
  auto writer = start("writer", 15);
  std::vector<std::unique_ptr<line_process>> readers;
  for (int i = 0; i < 2; ++i)
    readers.push_back(start("reader", 40));
  auto lines_until_done = [](line_process& p) {
    std::vector<std::string> out;
    while (auto l = p.read_line(60s)) {
      if (*l == "done")
        break;
      out.push_back(*l);
    }
    return out;
  };
  auto wrote = lines_until_done(*writer);
  EXPECT_EQ(wrote.size(), 15u) << writer->stderr_text();
  for (auto& r : readers) {
    auto got = lines_until_done(*r);
    EXPECT_EQ(got.size(), 40u) << r->stderr_text();
    int last = 0;
    for (auto& l : got) {
      ASSERT_EQ(l.rfind("read ", 0), 0u) << l;
      int v = l == "read none" ? 0 : std::stoi(l.substr(5));
      EXPECT_GE(v, last) << "versions only grow";
      last = v;
    }
  }
  fs::remove(file);
}
