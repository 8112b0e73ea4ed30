// corral-lockbench: how fast a lock changes hands. C contenders, each with its own session and lock
// actor (actors/client/lock.hpp) on one path, take the lock, hold it for --hold-us, release it, and
// go again, for a duration. Prints acquisitions per second and the acquire latency (request to
// grant). tools/lock-bench.sh runs it beside Apache Curator's InterProcessMutex
// (tools/lockbench/CuratorLockBench.java, same loop and output) against ZooKeeper and Corral.
//   corral-lockbench --server=127.0.0.1:2281 --contenders=8 --duration-s=5 [--hold-us=0]
// A measurement tool, not a test.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <mutex>

#include "actors/scheduler.hpp"
#include "actors/client/lock.hpp"

using namespace corral;
using namespace std::chrono;

namespace {

struct lockbench_config : caf::actor_system_config {
  std::string server = "127.0.0.1:2281", path = "/lockbench";
  int contenders = 1;
  int duration_s = 5;
  int hold_us = 0;
  lockbench_config() {
    opt_group{custom_options_, "global"}
        .add(server, "server", "host:port of a Corral server (native protocol)")
        .add(contenders, "contenders", "processes' worth of lock users, one session each (default 1)")
        .add(duration_s, "duration-s", "seconds of measured contention (default 5)")
        .add(hold_us, "hold-us", "microseconds each holder keeps the lock (default 0)")
        .add(path, "path", "the lock's path (default /lockbench)");
    corral::use_quiet_scheduler(*this);
  }
};

struct totals {
  std::mutex mtx;
  std::vector<int64_t> latencies_us;
  uint64_t errors = 0;
};

using grant_result = corral::result<client::lock_grant>;
using unit_result = corral::result<unit>;

// One contender: acquire, hold, release, again, until the deadline; then reports to `done`.
caf::behavior contender(caf::event_based_actor* self, caf::actor lock, steady_clock::time_point deadline, int hold_us,
                        std::shared_ptr<totals> out, caf::actor done) {
  auto mine = std::make_shared<std::vector<int64_t>>();
  auto errors = std::make_shared<uint64_t>(0);
  auto finish = [=] {
    {
      std::lock_guard<std::mutex> l(out->mtx);
      out->latencies_us.insert(out->latencies_us.end(), mine->begin(), mine->end());
      out->errors += *errors;
    }
    self->send(done, caf::ok_atom::value);
    self->quit();
  };
  auto round = std::make_shared<std::function<void()>>();
  auto release = std::make_shared<std::function<void()>>(
      [=] { self->request(lock, caf::infinite, atoms::release::value).then([=](unit_result&) { (*round)(); }); });
  *round = [=] {
    if (steady_clock::now() >= deadline)
      return finish();
    auto asked = steady_clock::now();
    self->request(lock, caf::infinite, atoms::acquire::value, int64_t{-1}).then([=](grant_result& g) {
      if (!g.ok()) {
        ++*errors;
        return (*round)();
      }
      mine->push_back(duration_cast<microseconds>(steady_clock::now() - asked).count());
      if (hold_us > 0)
        self->delayed_send(self, microseconds(hold_us), caf::tick_atom::value);
      else
        (*release)();
    });
  };
  (*round)();
  return {[=](caf::tick_atom) { (*release)(); }}; // the hold is over
}

int64_t percentile(std::vector<int64_t>& v, double p) {
  if (v.empty())
    return 0;
  auto i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

void caf_main(caf::actor_system& sys, const lockbench_config& cfg) {
  std::vector<caf::actor> sessions, locks;
  for (int i = 0; i < cfg.contenders; ++i) {
    client::session_options so;
    so.servers = {cfg.server};
    sessions.push_back(client::spawn_session(sys, so));
    locks.push_back(client::spawn_lock(sys, sessions.back(), cfg.path));
  }
  caf::scoped_actor self{sys};
  // Every session connected before the clock starts.
  for (auto& s : sessions)
    self->request(s, seconds(20), request_body{exists_request{"/", false}})
        .receive([](response&) {}, [](caf::error&) {});
  auto out = std::make_shared<totals>();
  auto start = steady_clock::now();
  auto deadline = start + seconds(cfg.duration_s);
  for (auto& l : locks)
    sys.spawn(contender, l, deadline, cfg.hold_us, out, caf::actor_cast<caf::actor>(self));
  for (int i = 0; i < cfg.contenders; ++i)
    self->receive([](caf::ok_atom) {});
  double secs = duration_cast<duration<double>>(steady_clock::now() - start).count();
  auto& lat = out->latencies_us;
  auto n = lat.size();
  std::printf("corral-lockbench contenders=%d acquisitions=%zu per_s=%.0f p50_us=%lld p99_us=%lld errors=%llu\n",
              cfg.contenders, n, static_cast<double>(n) / secs, static_cast<long long>(percentile(lat, 0.5)),
              static_cast<long long>(percentile(lat, 0.99)), static_cast<unsigned long long>(out->errors));
  for (auto& s : sessions)
    self->request(s, seconds(10), atoms::close::value).receive([](response&) {}, [](caf::error&) {});
}

} // namespace

CAF_MAIN(caf::io::middleman)
