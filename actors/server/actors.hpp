// The server's actors (internal to actors/server): behaviours and their states.
//  - state_machine: owns the database; applies writes, answers reads, fires watches, expires sessions.
//  - session: one per client session; owns its connection's outbound side while attached, keeps the
//    session's FIFO order, survives disconnects until the session ends.
//  - client_listener: the broker that accepts native-protocol connections, frames and decodes them.
#pragma once

#include <map>
#include <memory>
#include <random>
#include <unordered_map>
#include <vector>

#include "actors/messages.hpp"
#include "protocol/frame.hpp"

namespace corral::server {

struct state_machine_state {
  std::unique_ptr<database> db;
  std::unordered_map<session_id, caf::actor> sessions;
  std::mt19937_64 rng{std::random_device{}()};
  static inline const char* name = "state_machine";
};
caf::behavior state_machine(caf::stateful_actor<state_machine_state>* self, database_options opts);

struct session_state {
  session_id id = 0;
  caf::actor sm;
  caf::actor broker;
  caf::io::connection_handle hdl;
  bool attached = false;
  static inline const char* name = "session";
};
caf::behavior session(caf::stateful_actor<session_state>* self, session_id id, caf::actor sm);

struct connection {
  explicit connection(size_t max_frame) : reader(max_frame) {}
  protocol::frame_reader reader;
  caf::actor session;
  bool opening = false;
  std::vector<request> queued; // requests that arrived before the session was attached
  std::string peer;
};

struct listener_state {
  std::map<caf::io::connection_handle, std::unique_ptr<connection>> conns;
  caf::actor sm;
  size_t max_frame = 0;
  size_t max_connections = 0;
  static inline const char* name = "client_listener";
};
caf::behavior client_listener(caf::io::stateful_broker<listener_state>* self, caf::actor sm,
                              size_t max_frame, size_t max_connections);

// Wall-clock milliseconds: the time txns carry and sessions expire by.
int64_t wall_now();

} // namespace corral::server
