// The server's actors (internal to actors/server): behaviours and their states.
//  - state_machine: owns the database; applies writes, answers reads, fires watches, expires sessions.
//  - session: one per client session; owns its connection's outbound side while attached, keeps the
//    session's FIFO order, survives disconnects until the session ends.
//  - client_listener: the broker that accepts native-protocol connections, frames and decodes them.
#pragma once

#include <chrono>
#include <map>
#include <set>
#include <memory>
#include <random>
#include <deque>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "actors/messages.hpp"
#include "actors/server/peer_transport.hpp"
#include "core/flow_control.hpp"
#include "core/request_pipeline.hpp"
#include "core/zab.hpp"
#include "persistence/log.hpp"
#include "persistence/snapshot.hpp"
#include "protocol/four_letter_words.hpp"
#include "protocol/frame.hpp"
#include "security/tls.hpp"

namespace corral::server {

struct storage_config {
  std::string dir;
  uint64_t db_id = 0;
  persistence::snapshot_policy snapshots;
  bool snapshot_at_start = false; // recovery replayed txns: snapshot them so the next start is fast
};

// What a server of an ensemble starts with (null for a standalone server).
struct ensemble_setup {
  zab::config zab;
  zab::persistent_state epochs;
  std::string epochs_path;
  zxid_t snapshot_zxid = 0;
  std::vector<zab::entry> log; // entries after the snapshot: committed (applied) and the uncommitted tail
  size_t uncommitted = 0;      // how many of `log`'s last entries are not applied yet
  int64_t tick_ms = 0;         // the replication tick (server_options::zab_tick_ms)
};

struct state_machine_state {
  // The request ordering, the write path's queue and the database (core/request_pipeline.hpp).
  std::unique_ptr<request_pipeline> pipe;
  storage_config storage;
  caf::actor log_writer;
  caf::actor snapshotter;
  std::unordered_map<session_id, caf::actor> sessions;
  std::mt19937_64 rng{std::random_device{}()};
  // Connects waiting for their answer, by the pipeline's ticket.
  std::unordered_map<uint64_t, caf::response_promise> opening;
  uint64_t next_ticket = 1;
  // Snapshot under way.
  bool snapshotting = false;
  std::string cursor;
  uint64_t snap_nodes = 0;
  uint64_t since_snapshot = 0;
  int64_t last_purge = 0;
  // Ensemble (all empty for a standalone server).
  std::unique_ptr<zab::peer> zab;
  caf::actor transport;
  std::string epochs_path;
  zab::persistent_state epochs;
  int64_t zab_tick_ms = 0; // from ensemble_setup
  // When the ZAB core was last ticked. A process paused (SIGSTOP, a VM stall) or starved misses
  // ticks: the tick handler and the request path tick the core up to now before going on.
  std::chrono::steady_clock::time_point last_zab_tick = std::chrono::steady_clock::now();
  // When this server last stopped serving (an election began); logged with the next "serving".
  std::chrono::steady_clock::time_point stopped_serving = std::chrono::steady_clock::now();
  int64_t started_ms = 0;
  database& db() { return pipe->db(); }
  static inline const char* name = "state_machine";
};
caf::behavior state_machine(caf::stateful_actor<state_machine_state>* self, std::shared_ptr<database> db,
                            storage_config storage, caf::actor log_writer, caf::actor snapshotter,
                            std::shared_ptr<ensemble_setup> ensemble);

void log_writer(caf::blocking_actor* self, caf::actor sm, std::shared_ptr<persistence::log_appender> app);

struct snapshotter_state {
  std::unique_ptr<persistence::snapshot_writer> writer;
  std::string dir;
  bool sync = true;
  static inline const char* name = "snapshotter";
};
caf::behavior snapshotter(caf::stateful_actor<snapshotter_state>* self, std::string dir, bool sync);

// Which client connection a message is about. A broker's connection handle is the socket
// descriptor, which the operating system hands to the next connection as soon as this one closes;
// the serial is the listener's own count and is never reused. Everything that answers a connection
// later than it asked (connect, resume, four-letter words, responses, events) carries both, and the
// listener drops it unless the connection with that handle still has that serial.
struct client_conn {
  caf::io::connection_handle hdl;
  uint64_t serial = 0;
  friend bool operator==(const client_conn& a, const client_conn& b) { return a.hdl == b.hdl && a.serial == b.serial; }
  friend bool operator!=(const client_conn& a, const client_conn& b) { return !(a == b); }
};

// How a client connection speaks: the native Cap'n Proto protocol or ZooKeeper's jute (whose
// ConnectResponse carries the read-only flag only if the client's ConnectRequest did).
enum class wire : int32_t { native = 0, jute = 1, jute_without_read_only = 2 };

struct session_state {
  session_id id = 0;
  caf::actor sm;
  caf::actor broker;
  client_conn conn; // the attached connection (valid while `attached`)
  bool attached = false;
  wire kind = wire::native;
  // Each request's connection waits here for its response (responses come in request order), so a
  // reply for an earlier connection is dropped. For jute also its shape: jute replies are not
  // self-describing.
  struct pending_reply {
    int32_t xid;
    protocol::jute::reply_shape shape;
    client_conn conn;
  };
  std::deque<pending_reply> replies;
  static inline const char* name = "session";
};
caf::behavior session(caf::stateful_actor<session_state>* self, session_id id, caf::actor sm);

struct connection {
  connection(size_t max_frame, size_t max_packet) : reader(max_frame), packets(max_packet) {}
  uint64_t serial = 0; // see client_conn
  wire kind = wire::native;
  std::unique_ptr<security::tls_stream> tls; // on a secure port: everything in and out goes through it
  protocol::frame_reader reader;             // native
  protocol::jute::packet_reader packets;     // jute
  caf::actor session;
  bool opening = false;
  bool answering_word = false; // a four-letter word: nothing more is read, the answer closes it
  // Requests that arrived before the session was attached.
  std::vector<std::variant<request, protocol::jute::decoded_request>> queued;
  std::string peer;       // the client's address: its ip identity for ACLs
  uint16_t peer_port = 0; // for the four-letter words' connection lists
  // For the four-letter words: packets in and out; when each unanswered request arrived.
  // (Backpressure is the listener's flow_control's, by serial.)
  uint64_t received = 0;
  uint64_t sent_packets = 0;
  std::deque<std::chrono::steady_clock::time_point> arrivals;
};

// What the listener serves on its jute port beyond the protocol: four-letter words.
struct zookeeper_front_end {
  size_t max_packet = protocol::jute::default_max_packet;
  std::set<std::string> four_letter_words{"srvr"}; // ZooKeeper's default whitelist; "*" allows all
  protocol::config_lines conf;                     // what `conf` prints
};

struct listener_state {
  std::map<caf::io::connection_handle, std::unique_ptr<connection>> conns;
  std::unordered_map<uint64_t, caf::io::connection_handle> by_serial;
  std::unordered_map<std::string, size_t> per_address; // open connections by client address
  std::set<caf::io::accept_handle> jute_doormen;
  std::set<caf::io::accept_handle> tls_doormen; // secure ports
  std::shared_ptr<security::tls_context> tls;   // null: no secure ports
  zookeeper_front_end zk;
  flow_control flow{flow_limits{}};
  caf::actor sm;
  size_t max_frame = 0;
  uint64_t next_serial = 1;
  uint64_t received = 0, sent = 0;    // packets, all connections
  uint64_t rejected = 0, dropped = 0; // for mntr
  int64_t latency_min_ms = 0, latency_max_ms = 0, latency_sum_ms = 0, latency_count = 0;
  static inline const char* name = "client_listener";
};
caf::behavior client_listener(caf::io::stateful_broker<listener_state>* self, caf::actor sm, size_t max_frame,
                              flow_limits limits, zookeeper_front_end zk, std::shared_ptr<security::tls_context> tls);

// Wall-clock milliseconds: the time txns carry and sessions expire by.
int64_t wall_now();

} // namespace corral::server

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::server::client_conn)
