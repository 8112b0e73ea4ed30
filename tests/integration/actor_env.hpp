// An actor system for one integration test, with sessions to the test's servers. The actors named
// in `owned` are killed when it ends, so a failed assertion does not leave the system waiting for
// them forever.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "actors/client/session.hpp"
#include "actors/scheduler.hpp"

namespace corral::test {

struct actor_env {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::vector<caf::actor> owned;
  actor_env() {
    cfg.load<caf::io::middleman>();
    use_quiet_scheduler(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }
  caf::actor own(caf::actor a) {
    owned.push_back(a);
    return a;
  }
  caf::actor session(const std::string& address, int32_t timeout_ms = 4000) {
    client::session_options so;
    so.servers = {address};
    so.session_timeout_ms = timeout_ms;
    return own(client::spawn_session(*sys, so));
  }
  ~actor_env() {
    for (auto& a : owned)
      caf::anon_send_exit(a, caf::exit_reason::kill);
  }
};

// Requests `msg...` from `dest` and returns the answer of type T (or `fallback` on error/timeout).
template <class T, class... Ts>
T ask_for(caf::scoped_actor& self, const caf::actor& dest, T fallback, Ts&&... msg) {
  T out = std::move(fallback);
  self->request(dest, std::chrono::seconds(20), std::forward<Ts>(msg)...)
      .receive([&](T& v) { out = std::move(v); }, [](caf::error&) {});
  return out;
}

} // namespace corral::test
