#include "actors/scheduler.hpp"

#include <algorithm>
#include <thread>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>

namespace corral {

void use_quiet_scheduler(caf::actor_system_config& cfg) {
  cfg.set("scheduler.policy", caf::atom("sharing"));
  // hardware_concurrency() may be 0 when unknown; two workers keep an actor that blocks briefly (the
  // state machine waiting for a snapshot's file) from stalling every other.
  cfg.set("scheduler.max-threads", static_cast<int64_t>(std::max(2u, std::thread::hardware_concurrency())));
}

} // namespace corral
