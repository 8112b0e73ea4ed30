// Starting and stopping a standalone Corral server inside an actor system: the state machine actor
// (owns the database), one session actor per client session, and the client listener broker.
// Called by tools/corral_server.cpp and by tests that embed a server.
#pragma once

#include <cstdint>
#include <string>

#include <caf/fwd.hpp>
#include <caf/expected.hpp>

#include "actors/server/interfaces.hpp"
#include "core/database.hpp"
#include "core/flow_control.hpp"
#include "core/membership.hpp"
#include "persistence/log.hpp"
#include "persistence/snapshot.hpp"
#include "security/tls.hpp"

namespace corral::server {

struct server_options {
  std::string host = "127.0.0.1";
  uint16_t port = 2281; // native protocol; 0 picks a free port
  std::string data_dir = "data";
  size_t max_frame_bytes = 0; // 0: max data + 64 KiB
  flow_limits flow;           // connections and backpressure (core/flow_control.hpp)
  // ZooKeeper's client protocol (jute), beside the native one.
  int32_t zk_port = 2181;                 // -1: off; 0 picks a free port
  size_t zk_max_packet_bytes = 0xfffff;   // ZooKeeper's jute.maxbuffer default
  std::string four_letter_words = "srvr"; // ZooKeeper's 4lw.commands.whitelist: comma-separated, or *
  // TLS ports (-1: off; 0 picks a free port), served with `tls` (made from corral.tls-* files).
  int32_t secure_zk_port = -1; // ZooKeeper's secureClientPort
  int32_t secure_port = -1;    // the native protocol over TLS
  std::shared_ptr<security::tls_context> tls;
  database_options db;
  // Durability. log.sync = false is unsafe: acknowledged writes can be lost in a crash.
  persistence::log_options log;
  persistence::snapshot_policy snapshots;
  bool repair_log = false; // cut the log at corruption instead of refusing to start
  // Ensemble: this server's id and every server (empty: standalone).
  int64_t server_id = 0;
  std::vector<member> ensemble;
  int64_t zab_tick_ms = 100; // heartbeats each tick; elections and lost peers after zab::config's tick counts
  // Read-only mode (ZooKeeper's readonlymode.enabled): a server that finds no quorum for 2 s serves
  // reads to clients that allow read-only sessions. Only those clients see it; others move on.
  bool read_only_mode = true;
  // Dynamic reconfiguration (ZooKeeper's reconfigEnabled): still only for the superuser or a client
  // with write permission on /zookeeper/config.
  bool reconfig_enabled = true;
  // Session actors answer reads themselves, on every core, instead of passing them through the one
  // state machine actor (actors/server/shared_reads.hpp); off: every request goes through it.
  bool parallel_reads = true;
  // The ensemble's shared secret (read from corral.peer-secret-file); empty: none.
  std::string peer_secret;
  uint64_t peer_max_unsent_bytes = 64ull << 20; // frames waiting for a peer before it is dropped (it resyncs)
  // Mutual TLS between servers (corral.quorum-tls): accepting and connecting contexts; null: none.
  std::shared_ptr<security::tls_context> quorum_tls_server, quorum_tls_client;
};

struct running_server {
  state_machine_actor state_machine;
  listener_actor listener;
  log_writer_actor log_writer;
  snapshotter_actor snapshotter;
  transport_actor transport; // null: standalone
  uint16_t port = 0;
  int32_t zk_port = -1; // -1: not listening
  int32_t secure_zk_port = -1;
  int32_t secure_port = -1;
};

// Recovers the data directory (refusing to start on corruption, with the reason), then listens.

caf::expected<running_server> start(caf::actor_system& sys, const server_options& opts);
void stop(caf::actor_system& sys, running_server& srv);

} // namespace corral::server
