// An ensemble's membership: which servers vote, which observe, and where each one listens; its
// version (the zxid of the reconfig txn that made it, 0 for the configuration the servers started
// with); ZooKeeper's text form of it (the data of /zookeeper/config, what zkCli's `config` prints and
// Curator's EnsembleTracker parses); and the changes a reconfig request asks for.
//
// Plain data and pure functions: the ZAB core (core/zab) counts quorums with it, the database
// (core/database) prepares reconfig txns with it, the server (actors/server) connects to its
// addresses, and the tools parse and print it.
//
// ZooKeeper's server line is `server.ID=HOST:QUORUM_PORT:ELECTION_PORT[:ROLE][;[CLIENT_HOST:]CLIENT_PORT]`.
// Corral elects and replicates over one quorum port and serves two client protocols, so its line is
// `server.ID=HOST:QUORUM_PORT:NATIVE_PORT:ROLE;HOST:ZK_PORT`: the slot of ZooKeeper's election port
// carries the native protocol's port (both are a server's second port, which ZooKeeper's parsers
// require), and the client address is the ZooKeeper-protocol port, the one ZooKeeper clients use.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/error.hpp"
#include "core/types.hpp"

namespace corral {

struct member {
  int64_t id = 0; // 1..254 (session ids carry it in their top byte)
  std::string host;
  uint16_t quorum_port = 0;
  uint16_t client_port = 0; // the native protocol
  int32_t zk_port = -1;     // the ZooKeeper protocol; -1: not given
  bool observer = false;
  friend bool operator==(const member& a, const member& b) {
    return a.id == b.id && a.host == b.host && a.quorum_port == b.quorum_port && a.client_port == b.client_port &&
           a.zk_port == b.zk_port && a.observer == b.observer;
  }
};

struct membership {
  zxid_t version = 0;
  std::vector<member> members; // sorted by id (sort_by_id()), ids unique

  const member* find(int64_t id) const;
  bool is_voter(int64_t id) const;
  std::vector<int64_t> voters() const;
  std::vector<int64_t> observers() const;
  void sort_by_id();
  friend bool operator==(const membership& a, const membership& b) {
    return a.version == b.version && a.members == b.members;
  }
};

constexpr int64_t max_server_id = 254;
constexpr std::string_view config_path = "/zookeeper/config"; // where the text lives in the tree

// Corral's own member form, as corral.ensemble and corral-cli take it:
// `ID=HOST:NATIVE_PORT:QUORUM_PORT[:participant|:observer][;ZK_PORT]`.
result<member> parse_member(const std::string& text);
std::string member_text(const member& m);

// ZooKeeper's form of one server (`server.ID` and what follows its `=`).
result<member> parse_server_line(const std::string& key, const std::string& value);
std::string server_line(const member& m); // "server.ID=..."

// The whole configuration as /zookeeper/config holds it: one server line each (by id), then
// `version=HEX` (ZooKeeper's form: the zxid in hex, no 0x).
std::string config_text(const membership& m);
result<membership> parse_config_text(const std::string& text);

// Checks a membership a reconfig would make: ids in range and unique, no two servers on one
// address and port, at least two voters (ZooKeeper's rule with its default standaloneEnabled).
error_info check_membership(const membership& m);

// What a reconfig request asks for. Incremental: `joining` are server lines ("server.5=...", comma
// or newline separated; a known id is replaced), `leaving` server ids (comma separated). Whole:
// `members` is every server line of the new configuration. Returns the new membership (version 0:
// the caller stamps the txn's zxid) or BadArguments with the reason.
struct reconfig_change {
  std::optional<std::string> joining, leaving, members;
};
result<membership> changed_membership(const membership& current, const reconfig_change& change);

} // namespace corral
