#include "actors/logging.hpp"
#include "actors/server/actors.hpp"

namespace corral::server {

namespace {

using self_ptr = caf::stateful_actor<session_state>*;

void write(self_ptr self, protocol::server_message msg) {
  auto& st = self->state;
  if (!st.attached)
    return; // the client re-reads and re-arms its watches when it reconnects
  // The listener counts answered requests to apply backpressure.
  int32_t answers = std::holds_alternative<response>(msg) ? 1 : 0;
  std::vector<char> buf;
  protocol::encode(msg, buf);
  self->send(st.broker, atoms::write::value, st.hdl, std::move(buf), answers);
}

void close_connection(self_ptr self) {
  auto& st = self->state;
  if (st.attached)
    self->send(st.broker, atoms::close::value, st.hdl);
  st.attached = false;
}

} // namespace

caf::behavior session(caf::stateful_actor<session_state>* self, session_id id, caf::actor sm) {
  self->state.id = id;
  self->state.sm = sm;
  return {
      [=](atoms::attach, caf::io::connection_handle hdl, caf::actor broker,
          protocol::connect_response& resp) {
        auto& st = self->state;
        if (st.attached && st.hdl != hdl)
          close_connection(self); // the client moved to a new connection before the old one died
        st.hdl = hdl;
        st.broker = broker;
        st.attached = true;
        write(self, std::move(resp));
      },
      [=](atoms::detach, caf::io::connection_handle hdl) {
        auto& st = self->state;
        if (!st.attached || st.hdl != hdl)
          return;
        st.attached = false;
        self->send(st.sm, atoms::detach::value, st.id);
      },
      [=](request& r) { self->send(self->state.sm, atoms::request::value, self->state.id, std::move(r)); },
      [=](response& r) { write(self, std::move(r)); },
      [=](watch_event& e) { write(self, std::move(e)); },
      [=](atoms::expired) {
        write(self, watch_event{event_type::none, keeper_state::expired, "", 0});
        close_connection(self);
        self->quit();
      },
      [=](atoms::close) {
        close_connection(self);
        self->quit();
      },
      [=](atoms::stop) { close_connection(self); }, // this server stopped serving; the session lives on
  };
}

} // namespace corral::server
