// Internal to actors/server: the state machine's pieces that its standalone path (state_machine.cpp)
// and its ensemble mode (ensemble.cpp) share. Not for use elsewhere.
#pragma once

#include "actors/server/actors.hpp"

namespace corral::server::sm {

using self_ptr = state_machine_self::stateful_pointer<state_machine_state>;

// A pipeline_effects vector whose capacity is kept from turn to turn: grown from empty in every
// turn, a batch's effects were reallocated ~8 times (3% of a create's server samples). Taken from
// and given back to a small stack of spares, since run() can nest (a leader's proposal may commit
// and answer inside it).
class effects_lease {
public:
  explicit effects_lease(self_ptr self) : spare_(self->state.spare_effects) {
    if (!spare_.empty()) {
      v = std::move(spare_.back());
      spare_.pop_back();
    }
  }
  ~effects_lease() {
    constexpr size_t max_spares = 4, max_kept = 4096; // bounded: one huge turn does not pin memory
    v.clear();
    if (spare_.size() < max_spares && v.capacity() <= max_kept)
      spare_.push_back(std::move(v));
  }
  effects_lease(const effects_lease&) = delete;
  effects_lease& operator=(const effects_lease&) = delete;

  pipeline_effects v;

private:
  std::vector<pipeline_effects>& spare_;
};

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
