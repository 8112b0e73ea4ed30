// Power loss, not only kill -9: a standalone server runs under the power-loss simulator
// (persistence/power_loss/shim.cpp) while a client writes; at a random change to its data directory
// the simulator drops every byte no fsync covered, tears the newest write, undoes directory entries no
// directory fsync covered, and kills the server. The server then starts without the simulator and
// must hold every write it acknowledged, and corral-logdump must recover a consistent tree. Small
// segments and frequent snapshots put log rolls, snapshots, renames and purges among the crash points.
// Also: an fsync that fails (EIO) and a disk that fills (ENOSPC) at random points.
#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <map>
#include <random>

#include <boost/filesystem.hpp>

#include "actors/client/blocking_client.hpp"
#include "tests/integration/harness.hpp"

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string> small_files = {"--corral.snap-count=40", "--corral.snap-retain=2",
                                              "--corral.log-segment-bytes=65536", "--corral.log-prealloc-bytes=16384"};

struct trial_result {
  std::map<std::string, std::string> acked; // path -> data the server acknowledged
  std::string report;                       // what the simulator did
  bool died = false;
};

std::string slurp_file(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Writes through `srv` until a write fails (the simulator acted) or `limit` writes were made.
void write_until_failure(server_process& srv, std::mt19937& rng, trial_result& r, int limit) {
  auto opts = client_at(srv.address());
  opts.request_timeout_ms = 3000;
  client::blocking_client c(opts);
  if (!c.wait_connected(5s))
    return;
  std::uniform_int_distribution<int> size(0, 99);
  for (int i = 0; i < limit; ++i) {
    int s = size(rng);
    // Mostly small values; some of 2-40 KiB, so that records span pages and segments roll.
    std::string data(s < 85 ? 1 + s : 2048 * (s - 84), static_cast<char>('a' + i % 26));
    data += std::to_string(i);
    auto path = "/p" + std::to_string(i);
    if (!c.create(path, data).ok())
      return;
    r.acked[path] = data;
  }
}

// One trial: the fault `fault` after `at` changes, counted from when writing starts.
trial_result run_trial(const std::string& fault, long at, unsigned seed) {
  trial_result r;
  auto scratch =
      (boost::filesystem::temp_directory_path() / boost::filesystem::unique_path("corral-pl-%%%%-%%%%")).string();
  boost::filesystem::create_directories(scratch);
  auto trigger = scratch + "/armed", report = scratch + "/report";
  std::mt19937 rng(seed);
  {
    server_process srv(small_files, {});
    srv.set_env({std::string("LD_PRELOAD=") + CORRAL_POWER_LOSS_LIB, "CORRAL_POWER_LOSS_DIR=" + srv.dir() + "/data",
                 "CORRAL_POWER_LOSS_TRIGGER=" + trigger, "CORRAL_POWER_LOSS_AT=" + std::to_string(at),
                 "CORRAL_POWER_LOSS_FAULT=" + fault, "CORRAL_POWER_LOSS_SEED=" + std::to_string(seed),
                 "CORRAL_POWER_LOSS_REPORT=" + report});
    srv.restart(); // now under the simulator, with a few writes of the first run already on disk
    std::ofstream(trigger) << "";
    write_until_failure(srv, rng, r, 400);
    r.died = srv.wait_exit(fault == "enospc" ? 500ms : 5s); // a full disk need not stop it
    r.report = slurp_file(report);
    if (!r.died)
      srv.kill9();
    srv.set_env({});
    try {
      srv.restart();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "the server does not start after: " << r.report << e.what();
      return r;
    }
    auto opts = client_at(srv.address());
    client::blocking_client c(opts);
    EXPECT_TRUE(c.wait_connected(10s)) << "the server did not come back after: " << r.report << "\n" << srv.log();
    for (auto& [path, data] : r.acked) {
      auto got = c.get(path);
      EXPECT_TRUE(got.ok()) << "acknowledged " << path << " is gone after: " << r.report;
      if (got.ok()) {
        EXPECT_EQ(got->data, data) << path << " after: " << r.report;
      }
    }
    EXPECT_TRUE(c.create("/after", "").ok()) << "the recovered server takes writes";
    srv.stop();
    auto dump = run_tool(CORRAL_LOGDUMP_BIN, {"--verify", srv.dir() + "/data"});
    EXPECT_EQ(dump.exit_code, 0) << dump.out << dump.err;
    EXPECT_NE(dump.out.find("recovered tree:"), std::string::npos) << dump.out << dump.err;
  }
  boost::system::error_code ec;
  boost::filesystem::remove_all(scratch, ec);
  return r;
}

} // namespace

TEST(power_loss, every_acknowledged_write_survives_power_loss_at_random_changes) {
  std::mt19937 rng(20261201 ^ static_cast<unsigned>(std::random_device{}()));
  int lost = 0, trials = 16, tore = 0;
  size_t acked = 0;
  for (int t = 0; t < trials && !HasFailure(); ++t) {
    long at = std::uniform_int_distribution<long>(1, 700)(rng);
    unsigned seed = static_cast<unsigned>(rng());
    auto r = run_trial("crash", at, seed);
    std::cout << "change " << at << ": " << r.acked.size() << " acknowledged; " << r.report;
    lost += r.died && r.report.find("power lost at") != std::string::npos ? 1 : 0;
    tore += r.report.find("tore the last write") != std::string::npos ? 1 : 0;
    acked += r.acked.size();
  }
  EXPECT_GE(lost, trials * 2 / 3) << "most trials must reach their crash point";
  EXPECT_GE(tore, 1) << "some crash points fall between a write and its sync";
  EXPECT_GT(acked, 100u);
}

TEST(power_loss, a_failing_fsync_stops_the_server_and_loses_nothing_acknowledged) {
  std::mt19937 rng(7 ^ static_cast<unsigned>(std::random_device{}()));
  for (int t = 0; t < 3 && !HasFailure(); ++t) {
    auto r = run_trial("eio", std::uniform_int_distribution<long>(1, 200)(rng), static_cast<unsigned>(rng()));
    EXPECT_TRUE(r.died) << "a server whose fsync failed must stop (it cannot know what is on disk)";
  }
}

TEST(power_loss, a_full_disk_at_random_points_loses_nothing_acknowledged) {
  std::mt19937 rng(11 ^ static_cast<unsigned>(std::random_device{}()));
  for (int t = 0; t < 3 && !HasFailure(); ++t)
    run_trial("enospc", std::uniform_int_distribution<long>(1, 200)(rng), static_cast<unsigned>(rng()));
}
