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

// Bytes for the attached connection, gathered over one batch of answers and sent as one write.
struct outgoing {
  std::vector<char> buf;
  int32_t answers = 0;
  bool close_after = false; // ZooKeeper closes the connection after a failed auth or SASL step
};

void encode_response(self_ptr self, response& r, outgoing& out) {
  protocol::jute::reply_shape shape;
  if (!take_shape(self, r.xid, shape))
    return;
  ++out.answers;
  if (self->state.kind == wire::native) {
    protocol::encode(protocol::server_message{std::move(r)}, out.buf);
    return;
  }
  protocol::jute::encode_reply(r, shape, out.buf);
  if ((shape.op == op_code::auth || shape.op == op_code::sasl) && r.err != error_code::ok) {
    log::warn("session", "session ", log::hex(self->state.id), ": ", r.detail, "; closing its connection");
    out.close_after = true;
  }
}

void encode_event(self_ptr self, watch_event& e, outgoing& out) {
  if (!self->state.attached)
    return; // the client re-reads and re-arms its watches when it reconnects
  if (self->state.kind == wire::native)
    protocol::encode(protocol::server_message{std::move(e)}, out.buf);
  else
    protocol::jute::encode_event(e, out.buf);
}

void write_output(self_ptr self, session_output& batch) {
  outgoing out;
  for (auto& item : batch.items) {
    if (auto* r = std::get_if<response>(&item))
      encode_response(self, *r, out);
    else
      encode_event(self, std::get<watch_event>(item), out);
    if (out.close_after)
      break; // the connection closes: nothing after the failed auth reaches it
  }
  if (!out.buf.empty() && self->state.attached)
    send_bytes(self, std::move(out.buf), out.answers);
  if (out.close_after)
    close_connection(self);
}

void write_connected(self_ptr self, protocol::connect_response& resp) {
  auto& st = self->state;
  std::vector<char> buf;
  if (st.kind == wire::native)
    protocol::encode(protocol::server_message{std::move(resp)}, buf);
  else
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
      [=](std::vector<request>& rs) {
        auto& st = self->state;
        for (auto& r : rs)
          st.replies.push_back({r.xid, {}, st.conn});
        self->send(st.sm, atoms::request::value, st.id, std::move(rs));
      },
      [=](std::vector<protocol::jute::decoded_request>& ds) {
        auto& st = self->state;
        std::vector<request> rs;
        rs.reserve(ds.size());
        for (auto& d : ds) {
          st.replies.push_back({d.req.xid, std::move(d.shape), st.conn});
          rs.push_back(std::move(d.req));
        }
        self->send(st.sm, atoms::request::value, st.id, std::move(rs));
      },
      [=](session_output& batch) { write_output(self, batch); },
      [=](atoms::expired) {
        // ZooKeeper's server just closes the connection; its client learns of the expiry when it
        // reconnects. The native client is told.
        if (self->state.kind == wire::native && self->state.attached) {
          std::vector<char> buf;
          protocol::encode(protocol::server_message{watch_event{event_type::none, keeper_state::expired, "", 0}}, buf);
          send_bytes(self, std::move(buf), 0);
        }
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
