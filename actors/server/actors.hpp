// The server's actors (internal to actors/server): behaviours and their states.
//  - state_machine: owns the database; applies writes, answers reads, fires watches, expires sessions.
//  - session: one per client session; owns its connection's outbound side while attached, keeps the
//    session's FIFO order, survives disconnects until the session ends.
//  - client_listener: the broker that accepts native-protocol connections, frames and decodes them.
//  - log_writer, snapshotter: the disk (storage_actors.cpp).
// Their interfaces (what each accepts and answers) are in interfaces.hpp; the types here add what an
// actor sends itself (timers, retries) and, for the brokers, CAF's I/O events.
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
#include "actors/server/broker_io.hpp"
#include "actors/server/interfaces.hpp"
#include "actors/server/peer_transport.hpp"
#include "actors/server/shared_reads.hpp"
#include "core/answer_order.hpp"
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
  std::vector<zab::entry> log;     // entries after the snapshot: committed (applied) and the uncommitted tail
  size_t uncommitted = 0;          // how many of `log`'s last entries are not applied yet
  int64_t tick_ms = 0;             // the replication tick (server_options::zab_tick_ms)
  int64_t read_only_after_ms = -1; // looking this long: read-only mode (-1: never)
  bool reconfig_enabled = true;    // corral.reconfig-enabled
};

struct state_machine_state {
  // The request ordering, the write path's queue and the database (core/request_pipeline.hpp).
  std::unique_ptr<request_pipeline> pipe;
  storage_config storage;
  log_writer_actor log_writer;
  snapshotter_actor snapshotter;
  // Every session's actor and what it shares with this actor (shared_reads.hpp).
  struct session_entry {
    session_actor actor;
    std::shared_ptr<session_link> link;
  };
  std::unordered_map<session_id, session_entry> sessions;
  std::shared_ptr<shared_reads> reads;
  std::mt19937_64 rng{std::random_device{}()};
  // Connects waiting for their answer, by the pipeline's ticket.
  std::unordered_map<uint64_t, caf::typed_response_promise<protocol::connect_response, session_actor>> opening;
  uint64_t next_ticket = 1;
  std::vector<pipeline_effects> spare_effects; // state_machine_internal.hpp's effects_lease
  // Snapshot under way.
  bool snapshotting = false;
  std::string cursor;
  uint64_t snap_nodes = 0;
  std::unique_ptr<persistence::chunk_encoder> chunks; // reused memory for the chunks, while under way
  node_chunk chunk_buffer;                            // the payload buffer, back from the snapshotter
  uint64_t since_snapshot = 0;
  uint64_t snapshot_due = 0; // since_snapshot at which the next one starts (snapshot_policy)
  int64_t last_purge = 0;
  // Ensemble (all empty for a standalone server).
  std::unique_ptr<zab::peer> zab;
  transport_actor transport;
  std::string epochs_path;
  zab::persistent_state epochs;
  int64_t zab_tick_ms = 0; // from ensemble_setup
  // When the ZAB core was last ticked. A process paused (SIGSTOP, a VM stall) or starved misses
  // ticks: the tick handler and the request path tick the core up to now before going on.
  std::chrono::steady_clock::time_point last_zab_tick = std::chrono::steady_clock::now();
  // When this server last stopped serving (an election began); logged with the next "serving".
  std::chrono::steady_clock::time_point stopped_serving = std::chrono::steady_clock::now();
  // Read-only mode: when the ZAB core last began looking for a quorum, and how long it looks before
  // this server serves read-only sessions (-1: never).
  std::chrono::steady_clock::time_point looking_since = std::chrono::steady_clock::now();
  zab::role last_role = zab::role::looking;
  int64_t read_only_after_ms = -1;
  int64_t started_ms = 0;
  database& db() { return pipe->db(); }
  static inline const char* name = "state_machine";
};
// The state machine with its timers: the housekeeping tick (sessions, purges) and the replication tick.
using state_machine_self = state_machine_actor::extend<caf::reacts_to<atoms::tick>, caf::reacts_to<atoms::zab_tick>>;
state_machine_self::behavior_type state_machine(state_machine_self::stateful_pointer<state_machine_state> self,
                                                std::shared_ptr<database> db, storage_config storage,
                                                log_writer_actor log_writer, snapshotter_actor snapshotter,
                                                std::shared_ptr<ensemble_setup> ensemble,
                                                std::shared_ptr<shared_reads> reads);

struct log_writer_state {
  std::shared_ptr<persistence::log_appender> app;
  log_events sm;
  bool rejecting = false;     // after a failed write, until the state machine has caught up (resume)
  bool has_txns = false;      // the batch holds txns (not only digest checks): report it durable
  bool commit_queued = false; // a `commit` is in the mailbox behind the batch's records
  static inline const char* name = "log_writer";
};
// The log writer with the `commit` it sends itself to close a group-commit batch.
using log_writer_self = log_writer_actor::extend<caf::reacts_to<atoms::commit>>;
log_writer_self::behavior_type log_writer(log_writer_self::stateful_pointer<log_writer_state> self,
                                          std::shared_ptr<persistence::log_appender> app);

struct snapshotter_state {
  std::unique_ptr<persistence::snapshot_writer> writer;
  std::string dir;
  bool sync = true;
  static inline const char* name = "snapshotter";
};
snapshotter_actor::behavior_type snapshotter(snapshotter_actor::stateful_pointer<snapshotter_state> self,
                                             std::string dir, bool sync);

// How a client connection speaks: the native Cap'n Proto protocol or ZooKeeper's jute (whose
// ConnectResponse carries the read-only flag only if the client's ConnectRequest did).
enum class wire : int32_t { native = 0, jute = 1, jute_without_read_only = 2 };

struct session_state {
  session_id id = 0;
  state_machine_actor sm;
  listener_actor broker;
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
  // Reading in parallel (shared_reads.hpp); `order` places the answers (core/answer_order.hpp).
  std::shared_ptr<shared_reads> reads;
  std::shared_ptr<session_link> link;
  answer_order order;
  std::chrono::steady_clock::time_point last_touch{};
  static inline const char* name = "session";
};
session_actor::behavior_type session(session_actor::stateful_pointer<session_state> self, session_id id,
                                     state_machine_actor sm, std::shared_ptr<shared_reads> reads,
                                     std::shared_ptr<session_link> link);

struct connection {
  connection(size_t max_frame, size_t max_packet) : reader(max_frame), packets(max_packet) {}
  uint64_t serial = 0; // see client_conn
  wire kind = wire::native;
  std::unique_ptr<security::tls_stream> tls; // on a secure port: everything in and out goes through it
  protocol::frame_reader reader;             // native
  protocol::jute::packet_reader packets;     // jute
  session_actor session;
  bool opening = false;
  bool answering_word = false; // a four-letter word: nothing more is read, the answer closes it
  bool halted = false;         // its socket is not read (client_listener's hold_back)
  // Requests decoded from what arrived and not yet sent to the session (one message per read, see
  // client_listener's flush_requests); before the session is attached they wait here too.
  std::vector<request> native_requests;
  std::vector<protocol::jute::decoded_request> jute_requests;
  // The size of the last batch sent: the next one reserves it at once. Grown one request at a time,
  // a batch of 64 jute requests (176 bytes each) was reallocated 7 times, and its buffers past 1 KiB
  // made glibc consolidate its fast bins each time: 6% of a create's server samples.
  size_t last_batch = 0;
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
  state_machine_actor sm;
  size_t max_frame = 0;
  uint64_t next_serial = 1;
  uint64_t received = 0, sent = 0;    // packets, all connections
  uint64_t rejected = 0, dropped = 0; // for mntr
  int64_t latency_min_ms = 0, latency_max_ms = 0, latency_sum_ms = 0, latency_count = 0;
  static inline const char* name = "client_listener";
};
// The listener with CAF's I/O events and what it sends itself (client_listener.cpp): `resume` a
// paused connection, `retry` reading a halted one.
using listener_self = listener_actor::extend_with<broker_io>::extend<caf::reacts_to<atoms::resume, client_conn>,
                                                                     caf::reacts_to<atoms::retry, client_conn>>;
listener_self::behavior_type client_listener(listener_self::stateful_broker_pointer<listener_state> self,
                                             state_machine_actor sm, size_t max_frame, flow_limits limits,
                                             zookeeper_front_end zk, std::shared_ptr<security::tls_context> tls);

// Wall-clock milliseconds: the time txns carry and sessions expire by.
int64_t wall_now();

} // namespace corral::server
