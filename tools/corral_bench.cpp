// corral-bench: a load generator over the native protocol. S sessions, each keeping N requests in
// flight, run an op mix over a key space for a duration; prints ops/s and latency percentiles
// (or JSON with --json). A measurement tool, not a test.
//   corral-bench --server=127.0.0.1:2281 --sessions=4 --inflight=16 --duration-s=10
//                --mix=create:10,set:40,get:40,delete:10 --value-bytes=100 --keys=10000 [--json]
//   --populate   create every key first (so set/get/delete find them), then run the mix
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <random>
#include <map>
#include <sstream>

#include "actors/scheduler.hpp"
#include "actors/client/session.hpp"

using namespace corral;
using namespace std::chrono;

namespace {

struct bench_config : caf::actor_system_config {
  std::string server = "127.0.0.1:2281";
  int sessions = 1;
  int inflight = 1;
  int duration_s = 10;
  std::string mix = "create:10,set:40,get:40,delete:10";
  int value_bytes = 100;
  int keys = 10000;
  bool json = false;
  bool populate = false;
  std::string root = "/bench";
  bench_config() {
    opt_group{custom_options_, "global"}
        .add(server, "server", "host:port of a Corral server")
        .add(sessions, "sessions", "client sessions (default 1)")
        .add(inflight, "inflight", "requests in flight per session (default 1)")
        .add(duration_s, "duration-s", "seconds of measured load (default 10)")
        .add(mix, "mix", "op weights, e.g. create:10,set:40,get:40,delete:10")
        .add(value_bytes, "value-bytes", "bytes of data per create/set (default 100)")
        .add(keys, "keys", "key space size (default 10000)")
        .add(populate, "populate", "create every key before measuring")
        .add(root, "root", "parent znode of the keys (default /bench)")
        .add(json, "json", "print the result as JSON");
    corral::use_quiet_scheduler(*this);
  }
};

enum class op { create, set, get, remove };

struct op_mix {
  std::vector<std::pair<op, int>> weights;
  int total = 0;
  op pick(std::mt19937_64& rng) const {
    int x = static_cast<int>(rng() % static_cast<uint64_t>(total));
    for (auto& [o, w] : weights) {
      if (x < w)
        return o;
      x -= w;
    }
    return weights.back().first;
  }
};

bool parse_mix(const std::string& text, op_mix& out) {
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    auto colon = item.find(':');
    if (colon == std::string::npos)
      return false;
    auto name = item.substr(0, colon);
    int w = std::stoi(item.substr(colon + 1));
    op o;
    if (name == "create")
      o = op::create;
    else if (name == "set")
      o = op::set;
    else if (name == "get")
      o = op::get;
    else if (name == "delete")
      o = op::remove;
    else
      return false;
    if (w > 0)
      out.weights.emplace_back(o, w);
    out.total += std::max(w, 0);
  }
  return out.total > 0;
}

struct driver_result {
  std::vector<uint32_t> latencies_us;
  uint64_t errors = 0;
  uint64_t ops = 0;
  std::map<int32_t, uint64_t> by_code; // errors by ZooKeeper code, to say what went wrong
};

using done_atom = caf::atom_constant<caf::atom("done")>;

struct driver_state {
  caf::actor session;
  op_mix mix;
  std::mt19937_64 rng;
  std::string value;
  std::vector<std::string> keys; // made once: the generator's own string building is not the client's cost
  steady_clock::time_point start, stop;
  int outstanding = 0;
  driver_result result;
  caf::actor reporter;
};

request_body make_op(driver_state& st) {
  const auto& key = st.keys[st.rng() % st.keys.size()];
  switch (st.mix.pick(st.rng)) {
    case op::create: return create_request{key, st.value, open_acl_unsafe(), create_mode::persistent, -1};
    case op::set: return set_data_request{key, st.value, -1};
    case op::get: return get_data_request{key, false};
    case op::remove: return delete_request{key, -1};
  }
  return get_data_request{key, false};
}

// The response handler captures only what differs per request (its start time): a capture of the
// mix by value copied its vector into every request's handler.
void issue(caf::stateful_actor<driver_state>* self) {
  auto& st = self->state;
  if (steady_clock::now() >= st.stop) {
    if (st.outstanding == 0) {
      self->send(st.reporter, done_atom::value, std::make_shared<driver_result>(std::move(st.result)));
      self->quit();
    }
    return;
  }
  auto t0 = steady_clock::now();
  ++st.outstanding;
  self->request(st.session, caf::infinite, make_op(st)).then([=](response& r) {
    auto& s = self->state;
    --s.outstanding;
    auto us = duration_cast<microseconds>(steady_clock::now() - t0).count();
    s.result.latencies_us.push_back(static_cast<uint32_t>(us));
    ++s.result.ops;
    // NodeExists / NoNode are expected with a random key mix; anything else is an error.
    if (r.err != error_code::ok && r.err != error_code::node_exists && r.err != error_code::no_node) {
      ++s.result.errors;
      ++s.result.by_code[static_cast<int32_t>(r.err)];
    }
    issue(self);
  });
}

caf::behavior driver(caf::stateful_actor<driver_state>* self, caf::actor session, caf::actor reporter, op_mix mix,
                     std::string root, int keys, int inflight, int value_bytes, int duration_s, uint64_t seed) {
  auto& st = self->state;
  st.session = session;
  st.mix = std::move(mix);
  st.reporter = reporter;
  st.rng.seed(seed);
  st.value.assign(static_cast<size_t>(value_bytes), 'v');
  for (int k = 0; k < std::max(keys, 1); ++k)
    st.keys.push_back(root + "/k" + std::to_string(k));
  st.start = steady_clock::now();
  st.stop = st.start + seconds(duration_s);
  for (int i = 0; i < inflight; ++i)
    issue(self);
  return {[](response&) {}};
}

std::shared_ptr<driver_result> run_phase(caf::actor_system& sys, std::vector<caf::actor>& sessions, const op_mix& mix,
                                         const bench_config& cfg, int duration_s) {
  caf::scoped_actor self{sys};
  for (size_t i = 0; i < sessions.size(); ++i)
    sys.spawn(driver, sessions[i], caf::actor{self}, mix, cfg.root, cfg.keys, cfg.inflight, cfg.value_bytes, duration_s,
              static_cast<uint64_t>(i * 7919 + 1));
  auto total = std::make_shared<driver_result>();
  for (size_t i = 0; i < sessions.size(); ++i)
    self->receive([&](done_atom, std::shared_ptr<driver_result>& r) {
      total->ops += r->ops;
      total->errors += r->errors;
      for (auto& [code, n] : r->by_code)
        total->by_code[code] += n;
      total->latencies_us.insert(total->latencies_us.end(), r->latencies_us.begin(), r->latencies_us.end());
    });
  return total;
}

double percentile(std::vector<uint32_t>& v, double p) {
  if (v.empty())
    return 0;
  auto idx = static_cast<size_t>(p / 100.0 * static_cast<double>(v.size() - 1));
  return v[idx] / 1000.0;
}

} // namespace

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<driver_result>)

namespace {

// The benchmark's root node, created once (it may exist from an earlier run); false if the server
// cannot be reached.
bool create_root(caf::actor_system& sys, const caf::actor& session, const bench_config& cfg) {
  caf::scoped_actor self{sys};
  bool ok = true;
  self->request(session, seconds(10),
                request_body{create_request{cfg.root, "", open_acl_unsafe(), create_mode::persistent, -1}})
      .receive([&](response& r) { ok = r.err == error_code::ok || r.err == error_code::node_exists; },
               [&](caf::error&) { ok = false; });
  return ok;
}

// Creates every key once, spread over the sessions, 256 in flight, before measuring.
void populate(caf::actor_system& sys, const std::vector<caf::actor>& sessions, const bench_config& cfg) {
  std::cerr << "populating " << cfg.keys << " keys under " << cfg.root << "...\n";
  caf::scoped_actor self{sys};
  std::string value(static_cast<size_t>(cfg.value_bytes), 'v');
  int window = 256, sent = 0, done = 0;
  auto send_one = [&](int k) {
    self->send(sessions[static_cast<size_t>(k) % sessions.size()],
               request_body{create_request{cfg.root + "/k" + std::to_string(k), value, open_acl_unsafe(),
                                           create_mode::persistent, -1}});
  };
  while (sent < std::min(window, cfg.keys))
    send_one(sent++);
  auto t0 = steady_clock::now();
  while (done < cfg.keys) {
    self->receive([&](response&) {
      ++done;
      if (sent < cfg.keys)
        send_one(sent++);
      if (done % 100000 == 0)
        std::cerr << "  " << done << " created ("
                  << static_cast<int>(done / duration<double>(steady_clock::now() - t0).count()) << "/s)\n";
    });
  }
}

void print_result(driver_result& r, const bench_config& cfg) {
  std::sort(r.latencies_us.begin(), r.latencies_us.end());
  double rate = static_cast<double>(r.ops) / cfg.duration_s;
  auto p = [&](double q) { return percentile(r.latencies_us, q); };
  if (cfg.json) {
    std::printf("{\"sessions\":%d,\"inflight\":%d,\"mix\":\"%s\",\"value_bytes\":%d,\"keys\":%d,\"duration_s\":%d,"
                "\"ops\":%llu,\"errors\":%llu,\"ops_per_s\":%.0f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,\"p99_ms\":%.3f,"
                "\"p999_ms\":%.3f}\n",
                cfg.sessions, cfg.inflight, cfg.mix.c_str(), cfg.value_bytes, cfg.keys, cfg.duration_s,
                static_cast<unsigned long long>(r.ops), static_cast<unsigned long long>(r.errors), rate, p(50), p(90),
                p(99), p(99.9));
    return;
  }
  std::printf("%d session(s) x %d in flight, mix %s, %d-byte values, %d keys, %d s\n", cfg.sessions, cfg.inflight,
              cfg.mix.c_str(), cfg.value_bytes, cfg.keys, cfg.duration_s);
  std::printf("ops: %llu (%.0f ops/s), errors: %llu\n", static_cast<unsigned long long>(r.ops), rate,
              static_cast<unsigned long long>(r.errors));
  for (auto& [code, n] : r.by_code)
    std::printf("  %llu x %s\n", static_cast<unsigned long long>(n), error_name(static_cast<error_code>(code)));
  std::printf("latency ms: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f\n", p(50), p(90), p(99), p(99.9));
}

} // namespace

int main(int argc, char** argv) {
  bench_config cfg;
  if (auto err = cfg.parse(argc, argv)) {
    std::cerr << "corral-bench: " << caf::actor_system_config::render(err) << "\n";
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  op_mix mix;
  if (!parse_mix(cfg.mix, mix) || cfg.sessions < 1 || cfg.inflight < 1 || cfg.keys < 1 || cfg.duration_s < 1) {
    std::cerr << "corral-bench: bad --mix, --sessions, --inflight, --keys or --duration-s\n";
    return 2;
  }
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  std::vector<caf::actor> sessions;
  client::session_options so;
  so.servers = {cfg.server};
  so.session_timeout_ms = 30000;
  for (int i = 0; i < cfg.sessions; ++i)
    sessions.push_back(client::spawn_session(sys, so));
  if (!create_root(sys, sessions[0], cfg)) {
    std::cerr << "corral-bench: cannot reach " << cfg.server << " or create " << cfg.root << "\n";
    return 1;
  }
  if (cfg.populate)
    populate(sys, sessions, cfg);
  auto r = run_phase(sys, sessions, mix, cfg, cfg.duration_s);
  print_result(*r, cfg);
  for (auto& s : sessions) {
    caf::scoped_actor self{sys};
    self->request(s, seconds(5), atoms::close::value).receive([](response&) {}, [](caf::error&) {});
  }
  return r->errors == 0 ? 0 : 1;
}
