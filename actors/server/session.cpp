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
struct outgoing : answer_batch {
  bool close_after = false; // ZooKeeper closes the connection after a failed auth or SASL step
};

void encode_response(self_ptr self, response& r, outgoing& out) {
  protocol::jute::reply_shape shape;
  if (!take_shape(self, r.xid, shape))
    return;
  ++out.answers;
  if (self->state.kind == wire::native) {
    protocol::encode(protocol::server_message{std::move(r)}, out.bytes);
    return;
  }
  protocol::jute::encode_reply(r, shape, out.bytes);
  if ((shape.op == op_code::auth || shape.op == op_code::sasl) && r.err != error_code::ok) {
    log::warn("session", "session ", log::hex(self->state.id), ": ", r.detail, "; closing its connection");
    out.close_after = true;
  }
}

void encode_event(self_ptr self, watch_event& e, outgoing& out) {
  if (!self->state.attached)
    return; // the client re-reads and re-arms its watches when it reconnects
  if (self->state.kind == wire::native)
    protocol::encode(protocol::server_message{std::move(e)}, out.bytes);
  else
    protocol::jute::encode_event(e, out.bytes);
}

void write_output(self_ptr self, session_output& batch) {
  auto& st = self->state;
  outgoing out;
  for (auto& item : batch.items) {
    if (auto* r = std::get_if<response>(&item)) {
      st.order.answer_arrived(out);
      encode_response(self, *r, out);
    } else {
      encode_event(self, std::get<watch_event>(item), out);
      st.order.event_arrived(out);
    }
    if (out.close_after)
      break; // the connection closes: nothing after the failed auth reaches it
  }
  if (!out.bytes.empty() && self->state.attached)
    send_bytes(self, std::move(out.bytes), out.answers);
  if (out.close_after)
    close_connection(self);
}

// ---- reads answered here (shared_reads.hpp) ----------------------------------------------------

int64_t steady_ns() { return std::chrono::steady_clock::now().time_since_epoch().count(); }

// Whether this session may try to answer `r` itself: a read that may run in parallel, nothing of
// the session's at the state machine, a connection to answer, and a serving server whose lease holds.
bool may_read_here(self_ptr self, const request& r) {
  auto& st = self->state;
  auto& reads = *st.reads;
  return st.attached && st.order.may_answer_here() && database::is_shared_read(r.body) &&
         reads.serving.load(std::memory_order_relaxed) &&
         steady_ns() < reads.lease_until_ns.load(std::memory_order_relaxed);
}

// Answers `r` from the shared database into `out` (where st.order may hold it back, if it reflects
// changes whose events have not arrived here yet). False if the state machine is in a turn (or waits to
// begin one), or the session is closing: then the read goes to the state machine.
bool read_here(self_ptr self, const request& r, const protocol::jute::reply_shape& shape, outgoing& out) {
  auto& st = self->state;
  auto& reads = *st.reads;
  if (!reads.lock.try_lock_shared())
    return false;
  auto& db = *reads.db;
  auto* info = db.sessions().find(st.id);
  if (info == nullptr || info->closing || !reads.serving.load(std::memory_order_relaxed)) {
    reads.lock.unlock_shared();
    return false;
  }
  std::optional<watch_wish> wish;
  auto o = db.read_shared(st.id, r, wish);
  if (wish) {
    std::lock_guard<std::mutex> guard(reads.watch_lock);
    db.add_watch(st.id, *wish);
  }
  auto events_sent = st.link->events_sent.load(std::memory_order_relaxed);
  reads.lock.unlock_shared();
  reads.answered.fetch_add(1, std::memory_order_relaxed);
  auto from = out.bytes.size();
  if (st.kind == wire::native)
    protocol::encode(protocol::server_message{std::move(o.resp)}, out.bytes);
  else
    protocol::jute::encode_reply(o.resp, shape, out.bytes);
  st.order.answered_here(events_sent, out, from);
  return true;
}

// A session whose reads never reach the state machine still keeps itself alive there.
void touch_if_due(self_ptr self) {
  auto& st = self->state;
  auto now = std::chrono::steady_clock::now();
  if (now - st.last_touch < std::chrono::milliseconds(st.reads->touch_interval_ms))
    return;
  st.last_touch = now;
  self->send(st.sm, atoms::touch::value, st.id);
}

request& request_of(request& r) { return r; }
request& request_of(protocol::jute::decoded_request& d) { return d.req; }
protocol::jute::reply_shape shape_of(request&) { return {}; }
protocol::jute::reply_shape& shape_of(protocol::jute::decoded_request& d) { return d.shape; }

// A batch of the client's requests, in order: reads answered here while nothing of the session's is
// at the state machine; from the first request that must go there on, the rest follow it.
template <class Item>
void take_requests(self_ptr self, std::vector<Item>& items) {
  auto& st = self->state;
  outgoing out;
  std::vector<request> to_state_machine;
  bool read_any = false;
  for (auto& item : items) {
    auto& r = request_of(item);
    if (may_read_here(self, r) && read_here(self, r, shape_of(item), out)) {
      read_any = true;
      continue;
    }
    st.replies.push_back({r.xid, std::move(shape_of(item)), st.conn});
    st.order.sent_to_state_machine();
    to_state_machine.push_back(std::move(r));
  }
  if (!out.bytes.empty())
    send_bytes(self, std::move(out.bytes), out.answers);
  if (!to_state_machine.empty())
    self->send(st.sm, atoms::request::value, st.id, std::move(to_state_machine));
  if (read_any)
    touch_if_due(self);
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

session_actor::behavior_type session(self_ptr self, session_id id, state_machine_actor sm,
                                     std::shared_ptr<shared_reads> reads, std::shared_ptr<session_link> link) {
  self->state.id = id;
  self->state.sm = sm;
  self->state.reads = std::move(reads);
  self->state.link = std::move(link);
  return {
      [=](atoms::attach, const client_conn& conn, listener_actor broker, protocol::connect_response& resp,
          int32_t kind) {
        auto& st = self->state;
        if (st.attached && st.conn != conn)
          close_connection(self); // the client moved to a new connection before the old one died
        if (st.conn != conn)
          st.order.connection_replaced();
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
      [=](std::vector<request>& rs) { take_requests(self, rs); },
      [=](std::vector<protocol::jute::decoded_request>& ds) { take_requests(self, ds); },
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
