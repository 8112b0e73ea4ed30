// corral-failover: how long a Corral ensemble is without a leader after kill -9 of its leader, as a
// user sees it. Starts an ensemble (voters + observers) on 127.0.0.1 in a temporary directory with
// the servers' default settings (plus any --server-arg), keeps one client writing through all the
// servers (one write in flight, retried at once after an error), and then, --kills times: finds the
// leader (four-letter word srvr), kills it with SIGKILL, and measures
//   leader   kill -> another server answers srvr with "Mode: leader"
//   write    kill -> the first write sent after the kill is acknowledged
// then restarts the killed server and waits until it follows again. Prints one line per kill and the
// percentiles. A measurement tool, not a test.
//   corral-failover --server-bin=build/corral-server --kills=20 [--voters=3] [--observers=1]
//                   [--server-arg=--corral.zab-tick-ms=50 ...] [--pause-ms=5000] [--keep]
// With --pause-ms the leader is stopped (SIGSTOP) for that long instead of killed: times count from
// when the others noticed, and the old leader must follow once it resumes.
// --system=zookeeper runs Apache ZooKeeper 3.8 (the Debian package's zkServer.sh, its default
// tickTime 2000, initLimit 10, syncLimit 5) the same way, for a side-by-side figure; the writer is then
// ZooKeeper's C client. --client=zk uses that client against Corral's ZooKeeper port as well.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <boost/filesystem.hpp>

#include "actors/client/blocking_client.hpp"
#include "tools/torture/processes.hpp"

#ifdef CORRAL_HAVE_ZK_C_CLIENT
#include <zookeeper/zookeeper.h>
#endif

using namespace corral;
using corral::torture::exit_status;
using corral::torture::four_letter_word;
using corral::torture::free_port;
using corral::torture::kill_and_reap;
using corral::torture::server_mode;
using corral::torture::spawn;
using corral::torture::wait_for;
using namespace std::chrono;
namespace fs = boost::filesystem;

namespace {

struct options {
  std::string server_bin = "build/corral-server";
  int kills = 20, voters = 3, observers = 1;
  std::vector<std::string> server_args;
  bool keep = false;
  int pause_ms = 0;       // > 0: SIGSTOP the leader for this long instead of killing it
  bool zookeeper = false; // --system=zookeeper: Apache ZooKeeper instead of Corral
  bool zk_client = false; // --client=zk: ZooKeeper's C client writes (always with --system=zookeeper)
  std::string zk_bin = "/usr/share/zookeeper/bin/zkServer.sh";
};

std::optional<options> parse(int argc, char** argv) {
  options o;
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
    else if ((v = value("--kills")))
      o.kills = std::stoi(*v);
    else if ((v = value("--voters")))
      o.voters = std::stoi(*v);
    else if ((v = value("--observers")))
      o.observers = std::stoi(*v);
    else if ((v = value("--server-arg")))
      o.server_args.push_back(*v);
    else if ((v = value("--pause-ms")))
      o.pause_ms = std::stoi(*v);
    else if ((v = value("--system")))
      o.zookeeper = *v == "zookeeper";
    else if ((v = value("--client")))
      o.zk_client = *v == "zk";
    else if ((v = value("--zk-server-script")))
      o.zk_bin = *v;
    else if (a == "--keep")
      o.keep = true;
    else
      return std::nullopt;
  }
  if (o.voters < 3 || o.voters > 7 || o.observers < 0 || o.kills < 1 || o.kills > 1000)
    return std::nullopt;
  if (o.zookeeper)
    o.zk_client = true;
#ifndef CORRAL_HAVE_ZK_C_CLIENT
  if (o.zk_client) {
    std::cerr << "this corral-failover was built without ZooKeeper's C client (libzookeeper-mt-dev)\n";
    return std::nullopt;
  }
#endif
  return o;
}

struct server {
  int id = 0;
  uint16_t port = 0, zk_port = 0, quorum_port = 0, election_port = 0; // election: ZooKeeper only
  std::string dir;
  pid_t pid = -1;
};

class ensemble {
public:
  // A port picked free can be taken before its server binds it (by another server's outgoing
  // connection): a server that exits at start means new ports and another try.
  explicit ensemble(const options& o) : opts_(o) {
    for (int attempt = 1; attempt <= 3; ++attempt) {
      try_start();
      if (all_answer())
        return;
      for (auto& s : servers_)
        stop(s);
      servers_.clear();
      boost::system::error_code ec;
      fs::remove_all(root_, ec);
    }
    throw std::runtime_error("the servers did not start (three tries with new ports); try --keep and read their logs");
  }
  void try_start() {
    const auto& o = opts_;
    root_ = (fs::temp_directory_path() / fs::unique_path("corral-failover-%%%%-%%%%")).string();
    std::string list = "[";
    for (int i = 1; i <= o.voters + o.observers; ++i) {
      server s;
      s.id = i;
      s.port = free_port();
      s.zk_port = free_port();
      s.quorum_port = free_port();
      s.election_port = free_port();
      s.dir = root_ + "/server-" + std::to_string(i);
      fs::create_directories(s.dir);
      list += (i > 1 ? ",\"" : "\"") + std::to_string(i) + "=127.0.0.1:" + std::to_string(s.port) + ":" +
              std::to_string(s.quorum_port) + (i > o.voters ? ":observer" : "") + "\"";
      servers_.push_back(s);
    }
    list_ = list + "]";
    if (o.zookeeper)
      write_zookeeper_configs();
    for (auto& s : servers_)
      start(s);
  }
  // Each ZooKeeper server's zoo.cfg (the package's defaults for the timing) and myid.
  void write_zookeeper_configs() {
    std::string members;
    for (auto& s : servers_)
      members += "server." + std::to_string(s.id) + "=127.0.0.1:" + std::to_string(s.quorum_port) + ":" +
                 std::to_string(s.election_port) + (s.id > opts_.voters ? ":observer" : "") + "\n";
    for (auto& s : servers_) {
      fs::create_directories(s.dir + "/data");
      std::ofstream(s.dir + "/data/myid") << s.id << "\n";
      std::ofstream(s.dir + "/zoo.cfg") << "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir=" << s.dir
                                        << "/data\nclientPort=" << s.zk_port
                                        << "\nclientPortAddress=127.0.0.1\nadmin.enableServer=false\n"
                                           "4lw.commands.whitelist=srvr\n"
                                        << (s.id > opts_.voters ? "peerType=observer\n" : "") << members;
    }
  }
  // Every server answers a four-letter word (serving or not); false at once if one has exited.
  bool all_answer() {
    auto deadline = steady_clock::now() + seconds(opts_.zookeeper ? 90 : 20);
    while (steady_clock::now() < deadline) {
      bool all = true;
      for (auto& s : servers_) {
        if (exit_status(s.pid)) {
          s.pid = -1;
          return false;
        }
        all = all && !four_letter_word(s.zk_port, "srvr").empty();
      }
      if (all)
        return true;
      std::this_thread::sleep_for(milliseconds(50));
    }
    return false;
  }
  ~ensemble() {
    for (auto& s : servers_)
      stop(s);
    if (!opts_.keep) {
      boost::system::error_code ec;
      fs::remove_all(root_, ec);
    } else {
      std::cerr << "kept the servers' files in " << root_ << std::endl;
    }
  }
  void start(server& s) {
    if (opts_.zookeeper) {
      // The script and its JVM, as one process group (stop() kills the group).
      s.pid = spawn({opts_.zk_bin, "start-foreground", s.dir + "/zoo.cfg"},
                    {"ZOO_LOG_DIR=" + s.dir, "ZOOCFGDIR=" + s.dir}, true);
      return;
    }
    std::vector<std::string> args{opts_.server_bin,
                                  "--corral.server-id=" + std::to_string(s.id),
                                  "--corral.ensemble=" + list_,
                                  "--corral.data-dir=" + s.dir + "/data",
                                  "--corral.zk-port=" + std::to_string(s.zk_port),
                                  "--corral.four-letter-words=srvr",
                                  "--corral.log-file=" + s.dir + "/server.log"};
    args.insert(args.end(), opts_.server_args.begin(), opts_.server_args.end());
    s.pid = spawn(args);
  }
  void stop(server& s) {
    if (opts_.zookeeper && s.pid > 0)
      ::kill(-s.pid, SIGKILL); // the JVM too
    kill_and_reap(s.pid);
    s.pid = -1;
  }
  // SIGKILL, SIGSTOP or SIGCONT to the server (for ZooKeeper: its JVM and script).
  void signal(server& s, int sig) { ::kill(opts_.zookeeper ? -s.pid : s.pid, sig); }
  std::string mode(const server& s) const { return server_mode(s.zk_port); }
  // The running server that says it leads, if exactly one does.
  server* leader(int skip_id = 0) {
    server* found = nullptr;
    for (auto& s : servers_)
      if (s.pid > 0 && s.id != skip_id && mode(s) == "leader") {
        if (found != nullptr)
          return nullptr;
        found = &s;
      }
    return found;
  }
  std::vector<std::string> addresses() const {
    std::vector<std::string> out;
    for (auto& s : servers_)
      out.push_back("127.0.0.1:" + std::to_string(opts_.zk_client ? s.zk_port : s.port));
    return out;
  }
  std::vector<server>& servers() { return servers_; }

private:
  options opts_;
  std::string root_, list_;
  std::vector<server> servers_;
};

// One client writing through the ensemble: the times writes were sent and acknowledged.
// With `zk`, through ZooKeeper's C client (libzookeeper-mt) instead of Corral's native client.
class writer {
public:
  writer(std::vector<std::string> servers, bool zk) {
    if (zk) {
      open_zk(servers);
    } else {
      client::client_options o;
      o.servers = std::move(servers);
      o.request_timeout_ms = 5000;
      client_ = std::make_unique<client::blocking_client>(o);
    }
    thread_ = std::thread([this] { run(); });
  }
  ~writer() {
    stop_ = true;
    thread_.join();
#ifdef CORRAL_HAVE_ZK_C_CLIENT
    if (zh_ != nullptr)
      zookeeper_close(zh_);
#endif
  }
  // When the first write sent at or after `t` was acknowledged, if it has been.
  std::optional<steady_clock::time_point> first_ack_sent_after(steady_clock::time_point t) {
    std::lock_guard<std::mutex> l(mtx_);
    for (auto& [sent, acked] : acks_)
      if (sent >= t)
        return acked;
    return std::nullopt;
  }

private:
  void open_zk(const std::vector<std::string>& servers) {
#ifdef CORRAL_HAVE_ZK_C_CLIENT
    std::string hosts;
    for (auto& s : servers)
      hosts += (hosts.empty() ? "" : ",") + s;
    zoo_set_debug_level(static_cast<ZooLogLevel>(0));
    zh_ = zookeeper_init(hosts.c_str(), nullptr, 10000, nullptr, nullptr, 0);
    if (zh_ == nullptr)
      throw std::runtime_error("zookeeper_init failed for " + hosts);
#endif
  }
  // One write (the first creates the node); true if acknowledged.
  bool write_once(uint64_t i, bool& made) {
    if (client_)
      return made ? client_->set("/failover-probe", std::to_string(i)).ok()
                  : (made = client_->create("/failover-probe", "0").ok() || client_->exists("/failover-probe").ok());
#ifdef CORRAL_HAVE_ZK_C_CLIENT
    if (!made) {
      int rc = zoo_create(zh_, "/failover-probe", "0", 1, &ZOO_OPEN_ACL_UNSAFE, 0, nullptr, 0);
      return made = rc == ZOK || rc == ZNODEEXISTS;
    }
    auto v = std::to_string(i);
    return zoo_set(zh_, "/failover-probe", v.data(), static_cast<int>(v.size()), -1) == ZOK;
#else
    return false;
#endif
  }
  void run() {
    if (client_)
      client_->wait_connected(seconds(30));
    bool made = false;
    for (uint64_t i = 0; !stop_; ++i) {
      auto sent = steady_clock::now();
      bool ok = write_once(i, made);
      if (ok) {
        std::lock_guard<std::mutex> l(mtx_);
        acks_.emplace_back(sent, steady_clock::now());
        if (acks_.size() > 100000)
          acks_.erase(acks_.begin(), acks_.begin() + 50000);
      } else {
        std::this_thread::sleep_for(milliseconds(2));
      }
    }
  }
  std::unique_ptr<client::blocking_client> client_;
#ifdef CORRAL_HAVE_ZK_C_CLIENT
  zhandle_t* zh_ = nullptr;
#endif
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mtx_;
  std::vector<std::pair<steady_clock::time_point, steady_clock::time_point>> acks_;
};

double ms_between(steady_clock::time_point a, steady_clock::time_point b) {
  return duration_cast<duration<double, std::milli>>(b - a).count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())))];
}

// SIGSTOP the leader for --pause-ms: the others notice its silence (a follower stops serving), elect
// a new leader and take writes; times are counted from that notice. Then SIGCONT: the old leader
// must step down and follow.
void pause_round(ensemble& e, writer& w, server& old, const options& o, int k, std::vector<double>& to_leader,
                 std::vector<double>& to_write) {
  auto stopped = steady_clock::now();
  e.signal(old, SIGSTOP);
  std::optional<steady_clock::time_point> noticed, led, wrote;
  wait_for(
      [&] {
        if (!noticed)
          for (auto& s : e.servers())
            if (s.id != old.id && s.pid > 0 && e.mode(s) != "follower" && e.mode(s) != "observer") {
              noticed = steady_clock::now();
              break;
            }
        if (noticed && !led && e.leader(old.id) != nullptr)
          led = steady_clock::now();
        if (noticed && !wrote)
          wrote = w.first_ack_sent_after(*noticed);
        return led && wrote;
      },
      milliseconds(std::max(o.pause_ms, 1) + 30000));
  double l = noticed && led ? ms_between(*noticed, *led) : 30000;
  double wr = noticed && wrote ? ms_between(*noticed, *wrote) : 30000;
  to_leader.push_back(l);
  to_write.push_back(wr);
  auto rest = milliseconds(o.pause_ms) - duration_cast<milliseconds>(steady_clock::now() - stopped);
  if (rest > milliseconds(0))
    std::this_thread::sleep_for(rest);
  auto resumed = steady_clock::now();
  e.signal(old, SIGCONT);
  bool follows = wait_for([&] { return e.mode(old) == "follower"; }, seconds(30), milliseconds(10));
  std::printf("pause %2d: server %d  noticed after %5.0f ms  new leader +%5.0f ms  first write +%5.0f ms  "
              "old leader follows %s%.0f ms after it resumed\n",
              k, old.id, noticed ? ms_between(stopped, *noticed) : -1.0, l, wr, follows ? "" : "NOT (30 s) ",
              ms_between(resumed, steady_clock::now()));
  std::fflush(stdout);
  std::this_thread::sleep_for(milliseconds(300));
}

// One kill: SIGKILL the leader, time the new leader and the first acknowledged write after the
// kill, then restart the killed server and wait until it follows again.
void kill_round(ensemble& e, writer& w, server& old, int k, std::vector<double>& to_leader,
                std::vector<double>& to_write) {
  int old_id = old.id;
  auto killed = steady_clock::now();
  e.signal(old, SIGKILL);
  std::optional<steady_clock::time_point> led, wrote;
  wait_for(
      [&] {
        if (!led) {
          auto* now = e.leader();
          if (now != nullptr && now->id != old_id)
            led = steady_clock::now();
        }
        if (!wrote)
          wrote = w.first_ack_sent_after(killed);
        return led && wrote;
      },
      seconds(30));
  double l = led ? ms_between(killed, *led) : 30000, wr = wrote ? ms_between(killed, *wrote) : 30000;
  to_leader.push_back(l);
  to_write.push_back(wr);
  std::printf("kill %2d: server %d  new leader %6.0f ms  first write %6.0f ms\n", k, old_id, l, wr);
  std::fflush(stdout);
  for (auto& s : e.servers())
    if (s.id == old_id) {
      e.stop(s);
      e.start(s);
      if (!wait_for([&] { return e.mode(s) == "follower"; }, seconds(30), milliseconds(20)))
        std::cerr << "server " << s.id << " did not follow again within 30 s" << std::endl;
    }
  std::this_thread::sleep_for(milliseconds(300));
}

// The leader once every server has settled (leading, following or observing) and writes go
// through; null if that does not happen within 30 s.
server* settled_leader(ensemble& e, writer& w) {
  server* leader = nullptr;
  auto flowing = [&] {
    for (auto& s : e.servers()) {
      auto m = e.mode(s);
      if (m != "leader" && m != "follower" && m != "observer")
        return false;
    }
    leader = e.leader();
    return leader != nullptr && w.first_ack_sent_after(steady_clock::now() - milliseconds(100)).has_value();
  };
  return wait_for(flowing, seconds(30), milliseconds(20)) ? leader : nullptr;
}

} // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  if (!o) {
    std::cerr << "usage: corral-failover --server-bin=PATH [--kills=N 1..1000] [--voters=3..7] [--observers=N]\n"
                 "                       [--server-arg=ARG]... [--pause-ms=MS] [--keep]\n"
                 "                       [--system=corral|zookeeper] [--client=native|zk] [--zk-server-script=PATH]\n";
    return 2;
  }
  ::signal(SIGPIPE, SIG_IGN);
  ensemble e(*o);
  if (!wait_for([&] { return e.leader() != nullptr; }, seconds(30), milliseconds(50))) {
    std::cerr << "the ensemble elected no leader within 30 s; run with --keep and read the servers' logs" << std::endl;
    return 1;
  }
  writer w(e.addresses(), o->zk_client);
  std::vector<double> to_leader, to_write;
  for (int k = 1; k <= o->kills; ++k) {
    server* old = settled_leader(e, w);
    if (old == nullptr) {
      std::cerr << "kill " << k << ": no leader with writes flowing within 30 s" << std::endl;
      return 1;
    }
    if (o->pause_ms > 0)
      pause_round(e, w, *old, *o, k, to_leader, to_write);
    else
      kill_round(e, w, *old, k, to_leader, to_write);
  }
  auto p = [](std::vector<double>& v, double q) { return percentile(v, q); };
  std::printf(o->pause_ms > 0 ? "%d pauses: new leader after the others noticed p50 %.0f ms, p99 %.0f ms, max %.0f ms; "
                                "first write after they noticed p50 %.0f ms, p99 %.0f ms, max %.0f ms\n"
                              : "%d kills: new leader p50 %.0f ms, p99 %.0f ms, max %.0f ms; first write p50 %.0f ms, "
                                "p99 %.0f ms, max %.0f ms\n",
              o->kills, p(to_leader, 0.5), p(to_leader, 0.99), p(to_leader, 1.0), p(to_write, 0.5), p(to_write, 0.99),
              p(to_write, 1.0));
  return 0;
}
