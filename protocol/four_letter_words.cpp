#include "protocol/four_letter_words.hpp"

#include "core/format.hpp"

#include <cstdio>
#include <cstdlib>
#include <sstream>

#include <sys/utsname.h>
#include <unistd.h>

namespace corral::protocol {

namespace {

std::string decimal(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  std::string s = buf;
  while (s.size() > 3 && s.back() == '0' && s[s.size() - 2] != '.')
    s.pop_back();
  return s;
}

void summary_head(std::ostringstream& o, const server_stats& s) {
  o << "Zookeeper version: " << reported_version() << "\n";
  if (s.mode == "read-only")
    o << "READ-ONLY mode; serving only read-only clients\n"; // ZooKeeper's words
}

void summary_tail(std::ostringstream& o, const server_stats& s, const listener_stats& l) {
  o << "Latency min/avg/max: " << l.latency_min_ms << "/" << decimal(l.latency_avg_ms) << "/" << l.latency_max_ms
    << "\n"
    << "Received: " << l.received << "\n"
    << "Sent: " << l.sent << "\n"
    << "Connections: " << l.connections.size() << "\n"
    << "Outstanding: " << l.outstanding << "\n"
    << "Zxid: " << to_hex(static_cast<uint64_t>(s.zxid)) << "\n"
    << "Mode: " << s.mode << "\n"
    << "Node count: " << s.node_count << "\n";
}

void connections(std::ostringstream& o, const listener_stats& l) {
  for (auto& c : l.connections)
    o << " /" << c.peer << "[1](queued=" << c.queued << ",recved=" << c.received << ",sent=" << c.sent << ")\n";
  o << "\n";
}

std::string mntr(const server_stats& s, const listener_stats& l) {
  std::ostringstream o;
  auto kv = [&](const char* k, const auto& v) { o << k << "\t" << v << "\n"; };
  kv("zk_version", reported_version());
  kv("zk_server_state", s.mode);
  kv("zk_avg_latency", decimal(l.latency_avg_ms));
  kv("zk_max_latency", l.latency_max_ms);
  kv("zk_min_latency", l.latency_min_ms);
  kv("zk_packets_received", l.received);
  kv("zk_packets_sent", l.sent);
  kv("zk_num_alive_connections", l.connections.size());
  kv("zk_outstanding_requests", l.outstanding);
  kv("zk_connection_rejected", l.rejected);
  kv("zk_connection_drop_count", l.dropped);
  kv("zk_request_throttle_wait_count", l.throttle_waits);
  kv("zk_znode_count", s.node_count);
  kv("zk_watch_count", s.watches);
  kv("zk_ephemerals_count", s.ephemerals);
  kv("zk_global_sessions", s.sessions);
  kv("zk_uptime", s.uptime_ms);
  kv("zk_data_dir_bytes", s.data_dir_bytes);
  if (s.mode == "leader")
    kv("zk_followers", s.followers);
  return o.str();
}

std::string environment() {
  std::ostringstream o;
  o << "Environment:\n";
  o << "zookeeper.version=" << reported_version() << "\n";
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) == 0)
    o << "host.name=" << host << "\n";
  utsname u{};
  if (uname(&u) == 0)
    o << "os.name=" << u.sysname << "\nos.arch=" << u.machine << "\nos.version=" << u.release << "\n";
  for (auto [key, var] : {std::pair{"user.name", "USER"}, std::pair{"user.home", "HOME"}})
    if (const char* v = std::getenv(var))
      o << key << "=" << v << "\n";
  char cwd[4096];
  if (getcwd(cwd, sizeof cwd) != nullptr)
    o << "user.dir=" << cwd << "\n";
  o << "process.id=" << getpid() << "\n";
  return o.str();
}

} // namespace

std::string reported_version() { return "3.8.0-corral-0.1.0, built for ZooKeeper 3.x clients"; }

std::string four_letter_text(const std::string& cmd, const server_stats& s, const listener_stats& l,
                             const config_lines& conf) {
  std::ostringstream o;
  bool needs_serving = cmd == "srvr" || cmd == "stat" || cmd == "mntr" || cmd == "cons" || cmd == "wchs";
  if (needs_serving && !s.serving)
    return "This ZooKeeper instance is not currently serving requests\n";
  if (cmd == "ruok") {
    o << "imok";
  } else if (cmd == "isro") {
    o << (s.mode == "read-only" ? "ro" : "rw");
  } else if (cmd == "srvr") {
    summary_head(o, s);
    summary_tail(o, s, l);
  } else if (cmd == "stat") {
    summary_head(o, s);
    o << "Clients:\n";
    connections(o, l);
    summary_tail(o, s, l);
  } else if (cmd == "mntr") {
    o << mntr(s, l);
  } else if (cmd == "cons") {
    connections(o, l);
  } else if (cmd == "conf") {
    for (auto& [k, v] : conf)
      o << k << "=" << v << "\n";
  } else if (cmd == "envi") {
    o << environment();
  } else if (cmd == "wchs") {
    o << s.watch_sessions << " connections watching " << s.watch_paths << " paths\nTotal watches:" << s.watches << "\n";
  } else if (cmd == "dirs") {
    // The log and the snapshots share the data directory.
    o << "datadir_size: " << s.data_dir_bytes << "\nlogdir_size: " << s.data_dir_bytes << "\n";
  } else {
    o << cmd << " is not supported by Corral\n";
  }
  return o.str();
}

} // namespace corral::protocol
