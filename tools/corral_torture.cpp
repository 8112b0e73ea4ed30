// corral-torture: runs a Corral ensemble on 127.0.0.1 under client load while it injects faults, records
// every operation, and checks the history. A tool for hours of soak and a bounded CI run alike.
//
//   corral-torture --server-bin=build/corral-server --logdump-bin=build/corral-logdump [--seconds=60]
//                  [--servers=3|5] [--clients=5] [--registers=3] [--rate=100] [--blind-writes=0] [--seed=N]
//                  [--faults=kill,pause,partition,disk,power|none] [--power-loss-lib=PATH]
//                  [--server-arg=ARG]... [--sabotage] [--keep]
//
// The ensemble: every quorum connection runs through a proxy (tools/torture/link_proxy.hpp) so that
// links can be cut without root. The load: each client (its own session, all servers in its list)
// runs, at random, reads (sync + getData) and compare-and-sets (setData with the version it last saw)
// on a few registers (and unconditional setData with --blind-writes), and creates of unique nodes.
// The faults, one at a time with quiet gaps: kill -9 of the leader or another server (restarted
// after a while), SIGSTOP and SIGCONT, a server cut off from every peer, a server whose writes fail
// (RLIMIT_FSIZE: "disk full"), and with --power-loss-lib a power cut (persistence/power_loss/shim.cpp:
// every byte no fsync covered is lost, the newest write torn) of one server or of all at once. A
// server that exits by itself is restarted and reported; after a disk fault exit code 70 is the
// documented answer (1 if it was starting and could not recover), anything else is an anomaly.
//
// The checks, after the faults stop and every server is back:
//   - each register's history (plus a final read on every server) is linearizable
//     (tools/torture/linearizability.hpp);
//   - every acknowledged create is on every server, and no node exists that nobody tried to create;
//   - every session saw zxids that never went back, across reconnects;
//   - every server recovers the same tree from its disk (corral-logdump --verify digests).
// --sabotage rolls one register back and deletes one acknowledged node behind the history's back, so
// that a run shows the checks catch a lost write. Exit: 0 all checks pass, 1 an anomaly, 2 usage,
// 3 the ensemble could not be run, 4 the checker gave up (history too concurrent for its budget).
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <boost/filesystem.hpp>

#include "actors/client/blocking_client.hpp"
#include "actors/client/session.hpp"
#include "actors/logging.hpp"
#include "tools/torture/link_proxy.hpp"
#include "tools/torture/linearizability.hpp"
#include "tools/torture/processes.hpp"

using namespace corral;
using namespace corral::torture;
using namespace std::chrono;
namespace fs = boost::filesystem;

namespace {

// ---- options ---------------------------------------------------------------------------------------

struct options {
  std::string server_bin = "build/corral-server", logdump_bin = "build/corral-logdump";
  std::string power_loss_lib; // the power-loss simulator (libcorral_power_loss.so): enables "power"
  int seconds = 60, servers = 3, clients = 5, registers = 3, rate = 100;
  // Percent of operations that are unconditional setData. Off by default: each one whose outcome is
  // unknown may take effect at any later point, which makes the check exponential in their number;
  // compare-and-sets with an unknown outcome can only apply at their version and cost little.
  int blind_writes = 0;
  uint64_t seed = 0;
  std::set<std::string> faults{"kill", "pause", "partition", "disk"};
  std::vector<std::string> server_args;
  bool sabotage = false, keep = false;
};

std::set<std::string> split_faults(const std::string& s) {
  std::set<std::string> out;
  std::stringstream in(s);
  for (std::string f; std::getline(in, f, ',');)
    if (f != "none")
      out.insert(f);
  return out;
}

std::optional<options> parse(int argc, char** argv) {
  options o;
  bool faults_given = false;
  o.seed = static_cast<uint64_t>(steady_clock::now().time_since_epoch().count());
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const std::string& name) -> std::optional<std::string> {
      if (a.rfind(name + "=", 0) == 0)
        return a.substr(name.size() + 1);
      return std::nullopt;
    };
    std::optional<std::string> v;
    if ((v = value("--server-bin")))
      o.server_bin = *v;
    else if ((v = value("--logdump-bin")))
      o.logdump_bin = *v;
    else if ((v = value("--seconds")))
      o.seconds = std::stoi(*v);
    else if ((v = value("--servers")))
      o.servers = std::stoi(*v);
    else if ((v = value("--clients")))
      o.clients = std::stoi(*v);
    else if ((v = value("--registers")))
      o.registers = std::stoi(*v);
    else if ((v = value("--rate")))
      o.rate = std::stoi(*v);
    else if ((v = value("--blind-writes")))
      o.blind_writes = std::stoi(*v);
    else if ((v = value("--seed")))
      o.seed = std::stoull(*v);
    else if ((v = value("--faults")))
      o.faults = split_faults(*v), faults_given = true;
    else if ((v = value("--power-loss-lib")))
      o.power_loss_lib = *v;
    else if ((v = value("--server-arg")))
      o.server_args.push_back(*v);
    else if (a == "--sabotage")
      o.sabotage = true;
    else if (a == "--keep")
      o.keep = true;
    else
      return std::nullopt;
  }
  if (!o.power_loss_lib.empty() && !faults_given)
    o.faults.insert("power");
  for (auto& f : o.faults)
    if (f != "kill" && f != "pause" && f != "partition" && f != "disk" && (f != "power" || o.power_loss_lib.empty()))
      return std::nullopt;
  if ((o.servers != 3 && o.servers != 5) || o.clients < 1 || o.clients > 50 || o.registers < 1 || o.registers > 20 ||
      o.seconds < 1 || o.seconds > 7 * 24 * 3600 || o.rate < 1 || o.rate > 10000 || o.blind_writes < 0 ||
      o.blind_writes > 50)
    return std::nullopt;
  return o;
}

double since(steady_clock::time_point t0) { return duration<double>(steady_clock::now() - t0).count(); }

// Anomalies and progress lines, from any thread.
class report {
public:
  explicit report(steady_clock::time_point t0) : t0_(t0) {}
  void line(const std::string& s) {
    std::lock_guard<std::mutex> g(mtx_);
    std::printf("[%7.1f s] %s\n", since(t0_), s.c_str());
    std::fflush(stdout);
  }
  void anomaly(const std::string& s) {
    line("ANOMALY: " + s);
    std::lock_guard<std::mutex> g(mtx_);
    ++anomalies_;
  }
  int anomalies() {
    std::lock_guard<std::mutex> g(mtx_);
    return anomalies_;
  }

private:
  steady_clock::time_point t0_;
  std::mutex mtx_;
  int anomalies_ = 0;
};

// ---- the ensemble ----------------------------------------------------------------------------------

struct node {
  int id = 0;
  uint16_t port = 0, zk_port = 0, quorum_port = 0;
  std::string dir, ensemble; // ensemble: this server's view, with its peers behind their proxies
  pid_t pid = -1;
  bool paused = false, disk_failing = false;
  bool disk_fault_seen = false; // exit code 70 is then expected
};

class cluster {
public:
  cluster(const options& o, report& r) : opts_(o), report_(r) {
    root_ = (fs::temp_directory_path() / fs::unique_path("corral-torture-%%%%-%%%%")).string();
    for (int attempt = 1; attempt <= 3; ++attempt) {
      if (try_start())
        return;
      for (auto& n : nodes_)
        kill_and_reap(n.pid);
      nodes_.clear();
      proxies_ = std::make_unique<link_proxies>();
      links_.clear();
    }
    throw std::runtime_error("the servers did not start (three tries with new ports); run with --keep and read "
                             "their logs under " +
                             root_);
  }
  ~cluster() {
    for (auto& n : nodes_)
      kill_and_reap(n.pid);
    boost::system::error_code ec;
    if (!opts_.keep)
      fs::remove_all(root_, ec);
    else
      std::cerr << "kept the servers' files in " << root_ << std::endl;
  }

  std::vector<node>& nodes() { return nodes_; }
  std::mutex& lock() { return mtx_; }

  void start(node& n) {
    std::vector<std::string> args{opts_.server_bin,
                                  "--corral.server-id=" + std::to_string(n.id),
                                  "--corral.ensemble=" + n.ensemble,
                                  "--corral.data-dir=" + n.dir + "/data",
                                  "--corral.zk-port=" + std::to_string(n.zk_port),
                                  "--corral.four-letter-words=srvr",
                                  "--corral.log-file=" + n.dir + "/server.log"};
    args.insert(args.end(), opts_.server_args.begin(), opts_.server_args.end());
    std::vector<std::string> env;
    if (!opts_.power_loss_lib.empty()) {
      boost::system::error_code ec;
      fs::remove(power_switch(n), ec);
      env = {"LD_PRELOAD=" + opts_.power_loss_lib, "CORRAL_POWER_LOSS_DIR=" + n.dir + "/data",
             "CORRAL_POWER_LOSS_TRIGGER=" + power_switch(n), "CORRAL_POWER_LOSS_REPORT=" + n.dir + "/power-loss.log",
             "CORRAL_POWER_LOSS_SEED=" + std::to_string(opts_.seed + static_cast<uint64_t>(n.id) * 131 + ++starts_)};
    }
    n.pid = spawn(args, env);
    n.paused = n.disk_failing = false;
  }

  // The file whose appearance cuts the server's power (at its next change to its data directory).
  static std::string power_switch(const node& n) { return n.dir + "/power-off"; }

  // Cuts the power of the servers in `which` at once; each is gone (and reaped) when this returns.
  // What each lost is appended to `lost`. Called with lock() held.
  void cut_power(const std::vector<node*>& which, std::vector<std::string>& lost) {
    for (auto* n : which)
      std::ofstream(power_switch(*n)) << "";
    for (auto* n : which) {
      // A server that changes nothing (idle) does not notice: after 3 s it is killed instead.
      if (!wait_for([&] { return exit_status(n->pid).has_value(); }, seconds(3), milliseconds(5))) {
        kill_and_reap(n->pid);
        lost.push_back("server " + std::to_string(n->id) + " changed nothing for 3 s; killed instead");
      } else {
        std::ifstream in(n->dir + "/power-loss.log");
        std::string line, last;
        while (std::getline(in, line))
          last = line;
        lost.push_back("server " + std::to_string(n->id) + ": " + last);
      }
      n->pid = -1;
    }
  }

  // The running server that says it leads, if exactly one does.
  node* leader() {
    node* found = nullptr;
    for (auto& n : nodes_)
      if (n.pid > 0 && !n.paused && server_mode(n.zk_port) == "leader") {
        if (found != nullptr)
          return nullptr;
        found = &n;
      }
    return found;
  }

  // Cuts or heals every link of server `id`.
  void isolate(int id, bool cut) {
    for (auto& [pair, link] : links_)
      if (pair.first == id || pair.second == id)
        cut ? proxies_->cut(link) : proxies_->heal(link);
  }

  void fail_disk(node& n, bool failing) {
    rlimit lim{};
    lim.rlim_cur = failing ? 4096 : RLIM_INFINITY; // every write past the first 4 KiB of a file fails
    lim.rlim_max = RLIM_INFINITY;
    if (n.pid > 0)
      ::prlimit(n.pid, RLIMIT_FSIZE, &lim, nullptr);
    n.disk_failing = failing;
    if (failing)
      n.disk_fault_seen = true;
  }

  // A server that exited by itself is reported and started again. Called with lock() held.
  void restart_exited() {
    for (auto& n : nodes_) {
      auto status = exit_status(n.pid);
      if (!status)
        continue;
      // After a disk fault a running server stops with 70; one that was starting (recovering) when its
      // disk failed refuses to start with 1 (its log line may be lost: the log file is on that disk).
      bool expected =
          n.disk_fault_seen && WIFEXITED(*status) && (WEXITSTATUS(*status) == 70 || WEXITSTATUS(*status) == 1);
      std::string what = "server " + std::to_string(n.id) + " exited by itself (" + describe_status(*status) + ")";
      if (expected)
        report_.line(what + " after its disk failed, as documented; starting it again");
      else
        report_.anomaly(what + "; read " + n.dir + "/server.log (run with --keep)");
      n.disk_fault_seen = false;
      start(n);
    }
  }

  // Every fault undone: links healed, servers resumed, disks back, dead servers started.
  void undo_all() {
    for (auto& [pair, link] : links_)
      proxies_->heal(link);
    for (auto& n : nodes_) {
      if (n.paused) {
        ::kill(n.pid, SIGCONT);
        n.paused = false;
      }
      if (n.disk_failing)
        fail_disk(n, false);
      if (n.pid <= 0)
        start(n);
    }
    restart_exited();
  }

  bool all_serving(milliseconds timeout) {
    return wait_for(
        [&] {
          for (auto& n : nodes_) {
            auto m = server_mode(n.zk_port);
            if (m != "leader" && m != "follower")
              return false;
          }
          return true;
        },
        timeout, milliseconds(50));
  }

  // SIGTERM every server and wait; false if one had to be killed.
  bool stop_all() {
    bool clean = true;
    for (auto& n : nodes_)
      if (n.pid > 0)
        ::kill(n.pid, SIGTERM);
    for (auto& n : nodes_) {
      if (n.pid <= 0)
        continue;
      if (!wait_for([&] { return exit_status(n.pid).has_value(); }, seconds(15), milliseconds(20))) {
        kill_and_reap(n.pid);
        clean = false;
      }
      n.pid = -1;
    }
    return clean;
  }

  std::vector<std::string> addresses() const {
    std::vector<std::string> out;
    for (auto& n : nodes_)
      out.push_back("127.0.0.1:" + std::to_string(n.port));
    return out;
  }

private:
  bool try_start() {
    for (int i = 1; i <= opts_.servers; ++i) {
      node n;
      n.id = i;
      n.port = free_port();
      n.zk_port = free_port();
      n.quorum_port = free_port();
      n.dir = root_ + "/server-" + std::to_string(i);
      fs::create_directories(n.dir);
      nodes_.push_back(n);
    }
    // The higher id dials the lower: server i reaches server j < i through the proxy of link (i, j).
    for (auto& hi : nodes_)
      for (auto& lo : nodes_)
        if (lo.id < hi.id)
          links_[{hi.id, lo.id}] = proxies_->add(lo.quorum_port);
    for (auto& n : nodes_) {
      std::string list = "[";
      for (auto& p : nodes_) {
        uint16_t quorum = p.id < n.id ? proxies_->port(links_[{n.id, p.id}]) : p.quorum_port;
        list += (p.id > 1 ? ",\"" : "\"") + std::to_string(p.id) + "=127.0.0.1:" + std::to_string(p.port) + ":" +
                std::to_string(quorum) + "\"";
      }
      n.ensemble = list + "]";
    }
    for (auto& n : nodes_)
      start(n);
    return all_serving(seconds(30)) && wait_for([&] { return leader() != nullptr; }, seconds(10));
  }

  options opts_;
  report& report_;
  std::string root_;
  std::vector<node> nodes_;
  std::unique_ptr<link_proxies> proxies_ = std::make_unique<link_proxies>();
  std::map<std::pair<int, int>, size_t> links_;
  std::mutex mtx_;
  uint64_t starts_ = 0;
};

// ---- the faults ------------------------------------------------------------------------------------

class fault_injector {
public:
  fault_injector(cluster& c, const options& o, report& r) : c_(c), opts_(o), report_(r), rng_(o.seed ^ 0x5eed) {
    kinds_.assign(o.faults.begin(), o.faults.end());
  }
  std::map<std::string, int> counts;

  // Injects faults until `until`, one at a time. Also restarts servers that exit by themselves.
  void run(steady_clock::time_point until) {
    while (steady_clock::now() < until) {
      rest(milliseconds(between(500, 1500)), until);
      if (kinds_.empty() || steady_clock::now() >= until)
        continue;
      auto kind = kinds_[static_cast<size_t>(between(0, static_cast<int>(kinds_.size()) - 1))];
      inject(kind, until);
    }
    std::lock_guard<std::mutex> g(c_.lock());
    c_.undo_all();
  }

private:
  int between(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }

  // Sleeps for `d` (not past `until`), restarting servers that exit meanwhile.
  void rest(milliseconds d, steady_clock::time_point until) {
    auto end = std::min(steady_clock::now() + d, until);
    while (steady_clock::now() < end) {
      {
        std::lock_guard<std::mutex> g(c_.lock());
        c_.restart_exited();
      }
      std::this_thread::sleep_for(milliseconds(50));
    }
  }

  node& target() {
    std::lock_guard<std::mutex> g(c_.lock());
    if (between(0, 1) == 0)
      if (auto* l = c_.leader())
        return *l;
    return c_.nodes()[static_cast<size_t>(between(0, static_cast<int>(c_.nodes().size()) - 1))];
  }

  std::string name(const node& n) {
    return "server " + std::to_string(n.id) + (server_mode(n.zk_port) == "leader" ? " (leader)" : "");
  }

  void inject(const std::string& kind, steady_clock::time_point until) {
    node& n = target();
    auto who = name(n);
    ++counts[kind];
    milliseconds hold(between(kind == "kill" ? 200 : 500, kind == "disk" ? 2500 : 4000));
    if (kind == "kill") {
      report_.line("kill -9 " + who + "; restart in " + std::to_string(hold.count()) + " ms");
      std::lock_guard<std::mutex> g(c_.lock());
      kill_and_reap(n.pid);
      n.pid = -1;
    } else if (kind == "pause") {
      report_.line("SIGSTOP " + who + " for " + std::to_string(hold.count()) + " ms");
      std::lock_guard<std::mutex> g(c_.lock());
      ::kill(n.pid, SIGSTOP);
      n.paused = true;
    } else if (kind == "power") {
      std::vector<node*> which{&n};
      bool all = between(0, 2) == 0; // a third of the time the whole ensemble loses power at once
      if (all) {
        which.clear();
        for (auto& x : c_.nodes())
          which.push_back(&x);
      }
      report_.line(std::string("cut the power of ") + (all ? "every server" : who) + "; back in " +
                   std::to_string(hold.count()) + " ms");
      std::vector<std::string> lost;
      {
        std::lock_guard<std::mutex> g(c_.lock());
        c_.cut_power(which, lost);
      }
      for (auto& l : lost)
        report_.line("  " + l);
    } else if (kind == "partition") {
      report_.line("cut " + who + " off from every peer for " + std::to_string(hold.count()) + " ms");
      c_.isolate(n.id, true);
    } else {
      report_.line("fail the disk of " + who + " for " + std::to_string(hold.count()) + " ms");
      std::lock_guard<std::mutex> g(c_.lock());
      c_.fail_disk(n, true);
    }
    rest(hold, until + seconds(5));
    std::lock_guard<std::mutex> g(c_.lock());
    c_.undo_all();
  }

  cluster& c_;
  const options& opts_;
  report& report_;
  std::mt19937_64 rng_;
  std::vector<std::string> kinds_;
};

// ---- the load --------------------------------------------------------------------------------------

std::string reg_path(int r) { return "/torture/r" + std::to_string(r); }

// What every client recorded.
struct history {
  std::mutex mtx;
  std::vector<std::vector<register_op>> registers;
  std::map<std::string, torture::outcome> creates; // path -> outcome
  std::map<std::string, int> tally;                // "cas unknown" -> count
  void add(int reg, register_op op, const std::string& what) {
    std::lock_guard<std::mutex> g(mtx);
    registers[static_cast<size_t>(reg)].push_back(std::move(op));
    ++tally[what];
  }
};

bool definite_failure(error_code e) {
  // Answers that say the request was refused before it was ordered; everything else (ConnectionLoss,
  // timeouts, SessionExpired, a write the leader could not save) leaves the outcome unknown.
  return e == error_code::no_node || e == error_code::bad_arguments || e == error_code::marshalling_error ||
         e == error_code::no_auth || e == error_code::throttled_op;
}

class load_client {
public:
  load_client(int id, const cluster& c, const options& o, history& h, report& r, steady_clock::time_point t0)
      : id_(id), opts_(o), h_(h), report_(r), t0_(t0), rng_(o.seed + static_cast<uint64_t>(id) * 7919),
        servers_(c.addresses()), versions_(static_cast<size_t>(o.registers), 0) {}

  void run(const std::atomic<bool>& stop) {
    connect();
    auto gap = microseconds(1000000 / opts_.rate);
    for (uint64_t n = 0; !stop; ++n) {
      one_op(n);
      std::this_thread::sleep_for(gap);
    }
  }

private:
  void connect() {
    std::shuffle(servers_.begin(), servers_.end(), rng_);
    client::client_options co;
    co.servers = servers_;
    co.session_timeout_ms = 10000;
    co.request_timeout_ms = 4000;
    client_ = std::make_unique<client::blocking_client>(co);
    client_->wait_connected(seconds(30));
    session_ = client_->id();
    last_zxid_ = 0;
  }

  int64_t now() const { return duration_cast<microseconds>(steady_clock::now() - t0_).count(); }

  response call(request_body b) {
    auto r = client_->call(std::move(b));
    if (r.err == error_code::ok) {
      if (r.zxid < last_zxid_)
        report_.anomaly("client " + std::to_string(id_) + ": session " + std::to_string(session_) + " saw zxid " +
                        std::to_string(r.zxid) + " after " + std::to_string(last_zxid_));
      last_zxid_ = std::max(last_zxid_, r.zxid);
    }
    if (r.err == error_code::session_expired)
      expired_ = true;
    return r;
  }

  void one_op(uint64_t n) {
    if (expired_) {
      report_.line("client " + std::to_string(id_) + ": session expired; a new session");
      expired_ = false;
      connect();
    }
    int p = std::uniform_int_distribution<int>(0, 99)(rng_);
    int reg = std::uniform_int_distribution<int>(0, opts_.registers - 1)(rng_);
    std::string value = "c" + std::to_string(id_) + "-" + std::to_string(n);
    if (p < 35)
      read(reg);
    else if (p < 35 + opts_.blind_writes)
      write(reg, value, false);
    else if (p < 85)
      write(reg, value, true);
    else
      create("/torture/c/" + value);
  }

  void read(int reg) {
    register_op op;
    op.what = register_op::kind::read;
    op.client = id_;
    op.invoked = now();
    if (call(sync_request{reg_path(reg)}).err != error_code::ok)
      return;
    auto r = call(get_data_request{reg_path(reg), false});
    if (r.err != error_code::ok)
      return;
    op.completed = now();
    auto& d = std::get<data_result>(r.body);
    op.value = d.data;
    op.version = d.stat.version;
    versions_[static_cast<size_t>(reg)] = op.version;
    h_.add(reg, std::move(op), "read ok");
  }

  void write(int reg, const std::string& value, bool conditional) {
    register_op op;
    op.what = conditional ? register_op::kind::cas : register_op::kind::write;
    op.client = id_;
    op.value = value;
    op.expected_version = conditional ? versions_[static_cast<size_t>(reg)] : -1;
    op.invoked = now();
    auto r = call(set_data_request{reg_path(reg), value, op.expected_version});
    op.completed = now();
    std::string what = conditional ? "cas " : "write ";
    if (r.err == error_code::ok) {
      op.version = std::get<node_stat>(r.body).version;
      versions_[static_cast<size_t>(reg)] = op.version;
      what += "ok";
    } else if (conditional && r.err == error_code::bad_version) {
      op.result = torture::outcome::failed;
      what += "BadVersion";
    } else if (definite_failure(r.err)) {
      report_.anomaly("client " + std::to_string(id_) + ": setData " + reg_path(reg) + " failed with " +
                      error_name(r.err) + " (" + r.detail + ")");
      return;
    } else {
      op.result = torture::outcome::unknown;
      what += std::string("unknown (") + error_name(r.err) + ")";
    }
    h_.add(reg, std::move(op), what);
    if (op.result == torture::outcome::unknown)
      settle();
  }

  // After an answer that left the outcome unknown: wait (bounded) for the session to be connected
  // again, so that an outage is not spent piling up unknown operations, and learn the versions anew.
  void settle() {
    wait_for(
        [&] {
          return client_->state() == client::connection_state::connected ||
                 client_->state() == client::connection_state::reconnected ||
                 client_->state() == client::connection_state::expired;
        },
        seconds(5), milliseconds(10));
    std::this_thread::sleep_for(milliseconds(20));
  }

  void create(const std::string& path) {
    auto r = call(create_request{path, "", open_acl_unsafe(), create_mode::persistent, -1});
    torture::outcome o = r.err == error_code::ok   ? torture::outcome::ok
                         : definite_failure(r.err) ? torture::outcome::failed
                                                   : torture::outcome::unknown;
    if (o == torture::outcome::unknown)
      settle();
    if (r.err == error_code::node_exists) // nobody else creates this name, and it is sent once
      report_.anomaly("client " + std::to_string(id_) + ": create " + path + " found it already there");
    std::lock_guard<std::mutex> g(h_.mtx);
    h_.creates[path] = o;
    ++h_.tally[std::string("create ") + (o == torture::outcome::ok ? "ok" : error_name(r.err))];
  }

  int id_;
  const options& opts_;
  history& h_;
  report& report_;
  steady_clock::time_point t0_;
  std::mt19937_64 rng_;
  std::vector<std::string> servers_;
  std::vector<int32_t> versions_; // the version this client last saw of each register
  std::unique_ptr<client::blocking_client> client_;
  session_id session_ = 0;
  zxid_t last_zxid_ = 0;
  bool expired_ = false;
};

// ---- the checks ------------------------------------------------------------------------------------

std::unique_ptr<client::blocking_client> client_of(const std::vector<std::string>& servers) {
  client::client_options co;
  co.servers = servers;
  co.request_timeout_ms = 10000;
  auto c = std::make_unique<client::blocking_client>(co);
  if (!c->wait_connected(seconds(30)))
    throw std::runtime_error("no session with " + servers.front() + " within 30 s");
  return c;
}

// Reads every register on every server (after sync) into the histories, and checks the creates.
void final_reads(cluster& c, history& h, report& r, steady_clock::time_point t0, const options& o) {
  for (auto& n : c.nodes()) {
    auto cl = client_of({"127.0.0.1:" + std::to_string(n.port)});
    for (int reg = 0; reg < o.registers; ++reg) {
      register_op op;
      op.client = 1000 + n.id;
      op.invoked = duration_cast<microseconds>(steady_clock::now() - t0).count();
      if (!cl->sync(reg_path(reg)).ok())
        throw std::runtime_error("sync on server " + std::to_string(n.id) + " failed after the faults stopped");
      auto got = cl->get(reg_path(reg));
      if (!got.ok())
        throw std::runtime_error("reading " + reg_path(reg) + " on server " + std::to_string(n.id) + ": " +
                                 got.error().to_string());
      op.completed = duration_cast<microseconds>(steady_clock::now() - t0).count();
      op.value = got->data;
      op.version = got->stat.version;
      h.registers[static_cast<size_t>(reg)].push_back(op);
    }
    auto kids = cl->children("/torture/c");
    if (!kids.ok())
      throw std::runtime_error("listing /torture/c on server " + std::to_string(n.id) + ": " +
                               kids.error().to_string());
    std::set<std::string> there;
    for (auto& k : kids->children)
      there.insert("/torture/c/" + k);
    int lost = 0;
    for (auto& [path, out] : h.creates)
      if (out == torture::outcome::ok && !there.count(path) && ++lost <= 5)
        r.anomaly("server " + std::to_string(n.id) + " lacks acknowledged create " + path + " (a lost write)");
    for (auto& p : there)
      if (!h.creates.count(p) || h.creates[p] == torture::outcome::failed)
        r.anomaly("server " + std::to_string(n.id) + " has " + p + ", which no client created");
    r.line("server " + std::to_string(n.id) + ": " + std::to_string(there.size()) + " created nodes, " +
           std::to_string(lost) + " acknowledged ones missing");
  }
}

// 0: linearizable; 1: not; 4: gave up.
int check_registers(history& h, report& r) {
  int worst = 0;
  for (size_t reg = 0; reg < h.registers.size(); ++reg) {
    auto started = steady_clock::now();
    auto res = check_register(h.registers[reg], register_state{"0", 0});
    std::ostringstream o;
    o << reg_path(static_cast<int>(reg)) << ": " << h.registers[reg].size() << " operations, " << res.steps
      << " search steps, " << duration_cast<milliseconds>(steady_clock::now() - started).count() << " ms: ";
    if (res.linearizable) {
      r.line(o.str() + "linearizable");
    } else if (res.gave_up) {
      r.line(o.str() + "the checker gave up (raise its budget or lower --clients)");
      worst = std::max(worst, 4);
    } else {
      r.anomaly(o.str() + "NOT linearizable: " + res.explanation);
      worst = 1;
    }
  }
  return worst;
}

// Stops the servers and compares the trees they recover from disk.
void compare_digests(cluster& c, const options& o, report& r) {
  if (!c.stop_all())
    r.line("a server did not stop within 15 s of SIGTERM and was killed");
  std::set<std::string> digests;
  for (auto& n : c.nodes()) {
    std::string out_file = n.dir + "/logdump.out";
    pid_t pid = ::fork();
    if (pid == 0) {
      std::freopen(out_file.c_str(), "w", stdout);
      std::freopen("/dev/null", "w", stderr);
      std::string dir = n.dir + "/data";
      ::execl(o.logdump_bin.c_str(), o.logdump_bin.c_str(), "--verify", dir.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    int status = 0;
    ::waitpid(pid, &status, 0);
    std::ifstream in(out_file);
    std::string line, digest;
    while (std::getline(in, line))
      if (line.rfind("recovered tree:", 0) == 0)
        digest = line;
    if (digest.empty())
      r.anomaly("corral-logdump --verify found no tree in server " + std::to_string(n.id) + "'s data (" +
                describe_status(status) + ")");
    else
      r.line("server " + std::to_string(n.id) + " " + digest);
    digests.insert(digest);
  }
  if (digests.size() > 1)
    r.anomaly("the servers recovered different trees");
}

// Behind the history's back: one register set to an older acknowledged value, one acknowledged node
// deleted. The checks must call both lost writes.
void sabotage(cluster& c, history& h, report& r) {
  std::string old_value, lost_node;
  {
    std::lock_guard<std::mutex> g(h.mtx);
    for (auto& op : h.registers[0])
      if (op.what != register_op::kind::read && op.result == torture::outcome::ok) {
        old_value = op.value;
        break;
      }
    for (auto& [path, out] : h.creates)
      if (out == torture::outcome::ok) {
        lost_node = path;
        break;
      }
  }
  auto cl = client_of(c.addresses());
  if (!old_value.empty() && cl->set(reg_path(0), old_value).ok())
    r.line("sabotage: " + reg_path(0) + " set back to \"" + old_value + "\" behind the history's back");
  if (!lost_node.empty() && cl->remove(lost_node).ok())
    r.line("sabotage: acknowledged " + lost_node + " deleted behind the history's back");
}

constexpr const char* usage =
    "usage: corral-torture --server-bin=PATH --logdump-bin=PATH [--seconds=N] [--servers=3|5]\n"
    "                      [--clients=1..50] [--registers=1..20] [--rate=OPS_PER_CLIENT_PER_S]\n"
    "                      [--blind-writes=PERCENT]\n"
    "                      [--seed=N] [--faults=kill,pause,partition,disk,power|none] [--server-arg=ARG]...\n"
    "                      [--power-loss-lib=build/libcorral_power_loss.so]\n"
    "                      [--sabotage] [--keep]\n";

// Starts the ensemble and creates the nodes the load works on; null (and why, on stderr) if it cannot.
std::unique_ptr<cluster> set_up(const options& o, report& rep) {
  try {
    auto c = std::make_unique<cluster>(o, rep);
    auto setup = client_of(c->addresses());
    setup->create("/torture", "");
    setup->create("/torture/c", "");
    for (int reg = 0; reg < o.registers; ++reg)
      if (!setup->create(reg_path(reg), "0").ok())
        throw std::runtime_error("cannot create " + reg_path(reg));
    return c;
  } catch (const std::exception& e) {
    std::cerr << "corral-torture: " << e.what() << std::endl;
    return nullptr;
  }
}

// The load clients and the faults (and, with --sabotage, the planted anomaly) for --seconds; then
// the faults stop, the ensemble heals, and the load stops.
void run_load_and_faults(cluster& c, const options& o, history& h, report& rep, steady_clock::time_point t0) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> workers;
  for (int i = 1; i <= o.clients; ++i)
    workers.emplace_back([&, i] {
      load_client lc(i, c, o, h, rep, t0);
      lc.run(stop);
    });
  auto until = steady_clock::now() + seconds(o.seconds);
  fault_injector faults(c, o, rep);
  std::thread sab;
  if (o.sabotage)
    sab = std::thread([&] {
      std::this_thread::sleep_until(steady_clock::now() + seconds(o.seconds) * 2 / 3);
      try {
        sabotage(c, h, rep);
      } catch (const std::exception& e) {
        rep.line(std::string("sabotage did not happen: ") + e.what());
      }
    });
  faults.run(until);
  if (sab.joinable())
    sab.join();
  rep.line("faults stopped; waiting for every server to serve");
  if (!c.all_serving(seconds(60)))
    rep.anomaly("not every server was serving 60 s after the faults stopped");
  std::this_thread::sleep_for(seconds(2)); // the load runs on a healed ensemble for a moment
  stop = true;
  for (auto& w : workers)
    w.join();
  for (auto& [what, n] : h.tally)
    rep.line(what + ": " + std::to_string(n));
  for (auto& [kind, n] : faults.counts)
    rep.line("faults " + kind + ": " + std::to_string(n));
}

// Reads everything back and checks it: 0 passed, 1 an anomaly, 4 the registers were too big to check.
int verdict_of(cluster& c, const options& o, history& h, report& rep, steady_clock::time_point t0) {
  int verdict = 0;
  try {
    final_reads(c, h, rep, t0, o);
    verdict = check_registers(h, rep);
    compare_digests(c, o, rep);
  } catch (const std::exception& e) {
    rep.anomaly(e.what());
  }
  if (rep.anomalies() > 0) {
    rep.line(std::to_string(rep.anomalies()) + " anomaly(ies): FAILED (seed " + std::to_string(o.seed) + ")");
    return 1;
  }
  if (verdict == 4)
    return 4;
  rep.line("no lost write, no anomaly: PASSED");
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  if (!o) {
    std::cerr << usage;
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  log::set_level("warn"); // the clients' reconnects are the point of the exercise, not news
  auto t0 = steady_clock::now();
  report rep(t0);
  rep.line("seed " + std::to_string(o->seed) + ", " + std::to_string(o->servers) + " servers, " +
           std::to_string(o->clients) + " clients, " + std::to_string(o->seconds) + " s of faults");
  auto c = set_up(*o, rep);
  if (!c)
    return 3;
  history h;
  h.registers.resize(static_cast<size_t>(o->registers));
  run_load_and_faults(*c, *o, h, rep, t0);
  return verdict_of(*c, *o, h, rep, t0);
}
