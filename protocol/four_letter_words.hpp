// ZooKeeper's four-letter words (ruok, srvr, stat, mntr, conf, cons, envi, wchs, dirs, isro): the text
// a server answers when a connection to its ZooKeeper port starts with one of them. Formatting only,
// in ZooKeeper 3.8's layout so that scripts which parse it (zkServer.sh status, exporters) work; the
// listener gathers the figures. Plain C++, unit-tested.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/types.hpp"

namespace corral::protocol {

// What the state machine knows.
struct server_stats {
  std::string mode = "standalone"; // standalone, leader, follower, observer, read-only
  bool serving = true;
  zxid_t zxid = 0;
  uint64_t node_count = 0;
  uint64_t sessions = 0;
  uint64_t ephemerals = 0;
  uint64_t watch_sessions = 0, watch_paths = 0, watches = 0;
  uint64_t data_dir_bytes = 0;
  std::string data_dir;
  int64_t uptime_ms = 0;
  uint64_t followers = 0; // leader: connected learners
};

// What the client listener knows.
struct connection_info {
  std::string peer;
  uint64_t queued = 0, received = 0, sent = 0;
};
struct listener_stats {
  uint64_t received = 0, sent = 0, outstanding = 0;
  uint64_t rejected = 0;       // connections refused (max-connections, max-client-cnxns)
  uint64_t dropped = 0;        // connections dropped because the client did not read
  uint64_t throttle_waits = 0; // times all reading paused at global-outstanding-limit
  int64_t latency_min_ms = 0, latency_max_ms = 0;
  double latency_avg_ms = 0;
  std::vector<connection_info> connections;
};

using config_lines = std::vector<std::pair<std::string, std::string>>;

// The version string srvr and mntr report: ZooKeeper's protocol version, then ours.
std::string reported_version();

// The answer to `cmd` (one of the words above).
std::string four_letter_text(const std::string& cmd, const server_stats& s, const listener_stats& l,
                             const config_lines& conf);

} // namespace corral::protocol
