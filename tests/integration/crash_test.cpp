// Crash safety with real processes: several sessions write under load, the server is killed with
// SIGKILL at a random moment (snapshots run often, so some kills land in one), restarted on the same
// data, and every write acknowledged before the kill must be there with its data and version.
#include <gtest/gtest.h>

#include <iostream>

#include <map>
#include <mutex>
#include <random>
#include <thread>

#include "actors/client/blocking_client.hpp"
#include "tests/integration/harness.hpp"

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

namespace {

struct acked {
  std::mutex mtx;
  std::map<std::string, std::string> created;                      // path -> data
  std::map<std::string, std::pair<int32_t, std::string>> counters; // path -> (version, data)
};

// Writes until the connection dies; records what the server acknowledged.
void writer(uint16_t port, int id, int round, acked& out, std::atomic<int>& ops) {
  try {
    raw_client c(port);
    c.handshake(0, "", 10000);
    auto counter = "/crash/counter-" + std::to_string(id);
    c.call(create_request{counter, "", open_acl_unsafe(), create_mode::persistent, -1});
    auto st = c.call(exists_request{counter, false});
    int32_t version = std::get<node_stat>(st.body).version;
    for (int n = 0; n < 100000; ++n) {
      auto path = "/crash/r" + std::to_string(round) + "-w" + std::to_string(id) + "-" + std::to_string(n);
      auto data = "payload-" + std::to_string(n) + std::string(n % 200, 'z');
      auto r = c.call(create_request{path, data, open_acl_unsafe(), create_mode::persistent, -1});
      if (r.err != error_code::ok)
        return;
      {
        std::lock_guard<std::mutex> g(out.mtx);
        out.created[path] = data;
      }
      auto value = "round" + std::to_string(round) + "-" + std::to_string(n);
      auto s = c.call(set_data_request{counter, value, version});
      if (s.err != error_code::ok)
        return;
      version = std::get<node_stat>(s.body).version;
      {
        std::lock_guard<std::mutex> g(out.mtx);
        out.counters[counter] = {version, value};
      }
      ++ops;
    }
  } catch (const std::exception&) {
    // the server died under us: expected
  }
}

} // namespace

TEST(crash, every_acknowledged_write_survives_kill_9_at_random_moments) {
  auto seed = static_cast<unsigned>(std::random_device{}());
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  server_process srv({"--corral.snap-count=300"});
  {
    raw_client setup(srv.port());
    setup.handshake();
    ASSERT_EQ(setup.call(create_request{"/crash", "", open_acl_unsafe(), create_mode::persistent, -1}).err,
              error_code::ok);
  }
  acked log;
  constexpr int writers = 4, rounds = 5;
  for (int round = 0; round < rounds; ++round) {
    std::atomic<int> ops{0};
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w)
      threads.emplace_back(writer, srv.port(), w, round, std::ref(log), std::ref(ops));
    std::this_thread::sleep_for(std::chrono::milliseconds(100 + rng() % 400));
    srv.kill9();
    for (auto& t : threads)
      t.join();
    EXPECT_GT(ops.load(), 0) << "round " << round << " wrote nothing before the kill";
    srv.restart();
    // Check everything acknowledged so far, across all rounds.
    raw_client check(srv.port());
    check.handshake();
    std::lock_guard<std::mutex> g(log.mtx);
    for (auto& [path, data] : log.created) {
      auto r = check.call(get_data_request{path, false});
      ASSERT_EQ(r.err, error_code::ok) << "acknowledged create of " << path << " lost in round " << round;
      EXPECT_EQ(std::get<data_result>(r.body).data, data) << path;
    }
    for (auto& [path, v] : log.counters) {
      auto r = check.call(get_data_request{path, false});
      ASSERT_EQ(r.err, error_code::ok) << path;
      auto& d = std::get<data_result>(r.body);
      // The last acknowledged set is there; at most one more (unacknowledged) may have landed.
      ASSERT_GE(d.stat.version, v.first) << "acknowledged setData of " << path << " lost in round " << round;
      ASSERT_LE(d.stat.version, v.first + 1) << path;
      if (d.stat.version == v.first) {
        EXPECT_EQ(d.data, v.second) << path;
      }
    }
  }
  EXPECT_GT(log.created.size(), 100u);
  auto server_log = srv.log();
  size_t snapshots = 0;
  for (size_t p = server_log.find("snapshot: wrote"); p != std::string::npos;
       p = server_log.find("snapshot: wrote", p + 1))
    ++snapshots;
  std::cout << "acknowledged " << log.created.size() << " creates and their counter updates over " << rounds
            << " kills; " << snapshots << " snapshots written\n";
  EXPECT_NE(server_log.find("recovered"), std::string::npos);
}
