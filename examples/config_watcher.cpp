// config_watcher: an app written as an actor that keeps a configuration value fresh. It spawns a
// Corral session actor, reads /config/<name> with a watch, and re-reads whenever the watch fires
// (a watch fires once, and the event carries no data, so the app reads again and re-arms).
// It logs connection-state changes, and stops after --changes N updates (0: run until killed).
//   config_watcher --server 127.0.0.1:2281 --name app --changes 3
#include <iostream>

#include "actors/scheduler.hpp"
#include "actors/client/session.hpp"

using namespace corral;

namespace {

struct watcher_config : caf::actor_system_config {
  std::string server = "127.0.0.1:2281";
  std::string name = "app";
  int changes = 0;
  watcher_config() {
    corral::use_quiet_scheduler(*this); // no CPU while waiting (actors/scheduler.hpp)
    opt_group{custom_options_, "global"}
        .add(server, "server", "Corral server, host:port")
        .add(name, "name", "watch /config/NAME")
        .add(changes, "changes", "stop after this many updates (0: never)");
  }
};

struct watcher_state {
  caf::actor session;
  std::string path;
  int seen = 0;
  int limit = 0;
};

void read_and_watch(caf::stateful_actor<watcher_state>* self) {
  // The session delivers this watch's event back to us (the sender), as a watch_event.
  self->request(self->state.session, caf::infinite, request_body{get_data_request{self->state.path, true}})
      .then([=](response& r) {
        if (r.err == error_code::no_node) {
          // Not there yet: wait for it to appear.
          self->send(self->state.session, request_body{exists_request{self->state.path, true}});
          std::cout << self->state.path << " does not exist yet; waiting" << std::endl;
          return;
        }
        if (r.err != error_code::ok) {
          std::cout << "read failed: " << error_name(r.err) << " " << r.detail << std::endl;
          return;
        }
        auto& d = std::get<data_result>(r.body);
        std::cout << self->state.path << " = " << d.data << " (version " << d.stat.version << ")" << std::endl;
        if (self->state.limit > 0 && ++self->state.seen > self->state.limit)
          self->quit();
      });
}

caf::behavior config_watcher(caf::stateful_actor<watcher_state>* self, caf::actor session, std::string path,
                             int limit) {
  self->state.session = session;
  self->state.path = std::move(path);
  self->state.limit = limit;
  self->send(session, atoms::subscribe::value, caf::actor_cast<caf::actor>(self));
  read_and_watch(self);
  return {
      [=](watch_event& e) {
        std::cout << "event: " << event_type_name(e.type) << " " << e.path << std::endl;
        read_and_watch(self);
      },
      [=](client::connection_state s) {
        std::cout << "session: " << client::to_string(s) << std::endl;
        if (s == client::connection_state::expired)
          self->quit();
      },
      [=](response&) {}, // the answer to the exists() above
  };
}

} // namespace

int main(int argc, char** argv) {
  watcher_config cfg;
  if (auto err = cfg.parse(argc, argv)) {
    std::cerr << caf::actor_system_config::render(err) << "\n";
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  cfg.load<caf::io::middleman>();
  caf::actor_system sys{cfg};
  client::session_options opts;
  opts.servers = {cfg.server};
  auto session = client::spawn_session(sys, opts);
  auto app = sys.spawn(config_watcher, session, "/config/" + cfg.name, cfg.changes);
  caf::scoped_actor self{sys};
  self->wait_for(app);
  self->request(session, std::chrono::seconds(5), atoms::close::value).receive([](response&) {}, [](caf::error&) {});
  return 0;
}
