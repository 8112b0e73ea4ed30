#include "actors/server/server.hpp"

#include "actors/logging.hpp"
#include "actors/server/actors.hpp"

namespace corral::server {

caf::expected<running_server> start(caf::actor_system& sys, const server_options& opts) {
  running_server srv;
  srv.state_machine = sys.spawn(state_machine, opts.db);
  size_t max_frame = opts.max_frame_bytes != 0 ? opts.max_frame_bytes
                                               : static_cast<size_t>(opts.db.max_data_bytes) + 64 * 1024;
  srv.listener = sys.middleman().spawn_broker(client_listener, srv.state_machine, max_frame,
                                              opts.max_connections);
  caf::scoped_actor self{sys};
  caf::error failure;
  self->request(srv.listener, std::chrono::seconds(10), atoms::open::value, opts.host, opts.port)
      .receive([&](uint16_t port) { srv.port = port; }, [&](caf::error& e) { failure = std::move(e); });
  if (failure) {
    stop(sys, srv);
    return failure;
  }
  log::info("server", "listening on ", opts.host, ":", srv.port, " (native protocol)");
  return srv;
}

void stop(caf::actor_system& sys, running_server& srv) {
  // Brokers that own a listening socket keep the system alive until told to exit.
  caf::anon_send_exit(srv.listener, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(srv.state_machine, caf::exit_reason::user_shutdown);
}

} // namespace corral::server
