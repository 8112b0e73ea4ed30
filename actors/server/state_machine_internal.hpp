// Internal to actors/server: the state machine's pieces that its standalone path (state_machine.cpp)
// and its ensemble mode (ensemble.cpp) share. Not for use elsewhere.
#pragma once

#include "actors/server/actors.hpp"

namespace corral::server::sm {

using self_ptr = state_machine_self::stateful_pointer<state_machine_state>;

// Shared by both paths (state_machine.cpp).
void run(self_ptr self, pipeline_effects& effects); // carries out the pipeline's effects, in order
void spawn_session(self_ptr self, session_id s);    // the session's actor, unless it has one
void apply_committed(self_ptr self, zxid_t upto);

// The ensemble mode (ensemble.cpp): driving the ZAB core and the learner/leader traffic.
void process_ready(self_ptr self);
void on_role(self_ptr self);
void on_peer_frame(self_ptr self, zab::server_id from, protocol::peer_frame& f);
void on_zab_tick(self_ptr self);

} // namespace corral::server::sm
