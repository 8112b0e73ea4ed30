#include "actors/logging.hpp"
#include "actors/server/actors.hpp"

namespace corral::server {

namespace {

using self_ptr = session_actor::stateful_pointer<session_state>;

void send_bytes(self_ptr self, std::vector<char> buf, int32_t answers) {
  auto& st = self->state;
  // The listener counts answered requests to apply backpressure.
  self->send(st.broker, atoms::write::value, st.conn, std::move(buf), answers);
}

void close_connection(self_ptr self) {
  auto& st = self->state;
  if (st.attached)
    self->send(st.broker, atoms::close::value, st.conn);
  st.attached = false;
}

void write(self_ptr self, protocol::server_message msg) {
  auto& st = self->state;
  if (!st.attached)
    return; // the client re-reads and re-arms its watches when it reconnects
  int32_t answers = std::holds_alternative<response>(msg) ? 1 : 0;
  std::vector<char> buf;
  protocol::encode(msg, buf);
  send_bytes(self, std::move(buf), answers);
}

// The shape of the reply to `xid`: the oldest waiting request with that xid (responses come in
// request order, so it is the front one). False if the request came on another connection than the
// one attached now: its answer goes nowhere (the client that asked saw ConnectionLoss).
bool take_shape(self_ptr self, int32_t xid, protocol::jute::reply_shape& shape) {
  auto& st = self->state;
  while (!st.replies.empty()) {
    auto e = std::move(st.replies.front());
    st.replies.pop_front();
    if (e.xid != xid)
      continue; // its connection went away before the answer: nobody waits for it
    shape = std::move(e.shape);
    return st.attached && e.conn == st.conn;
  }
  return false;
}

void write_jute_reply(self_ptr self, const response& r) {
  protocol::jute::reply_shape shape;
  if (!take_shape(self, r.xid, shape))
    return;
  std::vector<char> buf;
  protocol::jute::encode_reply(r, shape, buf);
  send_bytes(self, std::move(buf), 1);
  // ZooKeeper closes the connection after a failed auth or SASL step (the client goes to AUTH_FAILED).
  if ((shape.op == op_code::auth || shape.op == op_code::sasl) && r.err != error_code::ok) {
    log::warn("session", "session ", log::hex(self->state.id), ": ", r.detail, "; closing its connection");
    close_connection(self);
  }
}

void write_jute_event(self_ptr self, const watch_event& e) {
  if (!self->state.attached)
    return;
  std::vector<char> buf;
  protocol::jute::encode_event(e, buf);
  send_bytes(self, std::move(buf), 0);
}

void write_connected(self_ptr self, protocol::connect_response& resp) {
  auto& st = self->state;
  if (st.kind == wire::native) {
    write(self, std::move(resp));
    return;
  }
  std::vector<char> buf;
  protocol::jute::encode_connect_response(resp, st.kind == wire::jute, buf);
  send_bytes(self, std::move(buf), 0);
}

} // namespace

session_actor::behavior_type session(self_ptr self, session_id id, state_machine_actor sm) {
  self->state.id = id;
  self->state.sm = sm;
  return {
      [=](atoms::attach, const client_conn& conn, listener_actor broker, protocol::connect_response& resp,
          int32_t kind) {
        auto& st = self->state;
        if (st.attached && st.conn != conn)
          close_connection(self); // the client moved to a new connection before the old one died
        st.conn = conn;
        st.broker = broker;
        st.attached = true;
        st.kind = static_cast<wire>(kind);
        write_connected(self, resp);
      },
      [=](atoms::detach, const client_conn& conn) {
        auto& st = self->state;
        if (!st.attached || st.conn != conn)
          return;
        st.attached = false;
        self->send(st.sm, atoms::detach::value, st.id);
      },
      [=](request& r) {
        auto& st = self->state;
        st.replies.push_back({r.xid, {}, st.conn});
        self->send(st.sm, atoms::request::value, st.id, std::move(r));
      },
      [=](protocol::jute::decoded_request& d) {
        auto& st = self->state;
        st.replies.push_back({d.req.xid, std::move(d.shape), st.conn});
        self->send(st.sm, atoms::request::value, st.id, std::move(d.req));
      },
      [=](response& r) {
        if (self->state.kind != wire::native) {
          write_jute_reply(self, r);
          return;
        }
        protocol::jute::reply_shape unused;
        if (take_shape(self, r.xid, unused))
          write(self, std::move(r));
      },
      [=](watch_event& e) {
        if (self->state.kind == wire::native)
          write(self, std::move(e));
        else
          write_jute_event(self, e);
      },
      [=](atoms::expired) {
        // ZooKeeper's server just closes the connection; its client learns of the expiry when it
        // reconnects. The native client is told.
        if (self->state.kind == wire::native)
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
