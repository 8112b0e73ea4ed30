#include "actors/logging.hpp"
#include "actors/server/actors.hpp"

namespace corral::server {

namespace {

using self_ptr = caf::io::stateful_broker<listener_state>*;
using caf::io::connection_handle;

void drop(self_ptr self, connection_handle hdl, const std::string& why) {
  auto it = self->state.conns.find(hdl);
  if (it == self->state.conns.end())
    return;
  log::warn("listener", "closing connection from ", it->second->peer, ": ", why);
  if (it->second->session)
    self->send(it->second->session, atoms::detach::value, hdl);
  self->state.conns.erase(it);
  self->close(hdl);
}

void attach(self_ptr self, connection_handle hdl, protocol::connect_response& resp, caf::actor& sess) {
  auto it = self->state.conns.find(hdl);
  if (it == self->state.conns.end()) {
    return; // the client left while its session was being opened; the session will expire
  }
  auto& c = *it->second;
  c.opening = false;
  if (resp.err != error_code::ok) {
    std::vector<char> buf;
    protocol::encode(protocol::server_message{resp}, buf);
    auto& out = self->wr_buf(hdl);
    out.insert(out.end(), buf.begin(), buf.end());
    self->flush(hdl);
    self->state.conns.erase(it);
    self->close(hdl);
    return;
  }
  c.session = sess;
  self->send(sess, atoms::attach::value, hdl, caf::actor_cast<caf::actor>(self), std::move(resp));
  for (auto& r : c.queued)
    self->send(sess, std::move(r));
  c.queued.clear();
}

// Handles one decoded frame; false if the connection was closed.
// Counts a request in; at the limit, stops reading from this client until answers go out.
void count_request(self_ptr self, connection_handle hdl, connection& c) {
  if (++c.in_flight >= self->state.max_in_flight && !c.halted) {
    c.halted = true;
    self->halt(hdl);
  }
}

bool on_message(self_ptr self, connection_handle hdl, connection& c, protocol::client_message& msg) {
  if (auto* creq = std::get_if<protocol::connect_request>(&msg)) {
    if (c.opening || c.session) {
      drop(self, hdl, "a second Connect frame on one connection");
      return false;
    }
    c.opening = true;
    self->request(self->state.sm, caf::infinite, atoms::open::value, std::move(*creq), c.peer)
        .then([=](protocol::connect_response& resp, caf::actor& sess) { attach(self, hdl, resp, sess); });
    return true;
  }
  auto& req = std::get<request>(msg);
  if (c.session) {
    count_request(self, hdl, c);
    self->send(c.session, std::move(req));
    return true;
  }
  if (!c.opening) {
    drop(self, hdl, "the first frame must be Connect");
    return false;
  }
  constexpr size_t max_queued = 10000;
  if (c.queued.size() >= max_queued) {
    drop(self, hdl, "too many requests before the session was open");
    return false;
  }
  count_request(self, hdl, c);
  c.queued.push_back(std::move(req));
  return true;
}

void on_data(self_ptr self, caf::io::new_data_msg& m) {
  auto it = self->state.conns.find(m.handle);
  if (it == self->state.conns.end())
    return;
  auto& c = *it->second;
  c.reader.feed(m.buf.data(), m.buf.size());
  for (;;) {
    kj::ArrayPtr<const capnp::word> frame;
    auto st = c.reader.next(frame);
    if (st == protocol::frame_reader::status::need_more)
      return;
    if (st != protocol::frame_reader::status::frame) {
      drop(self, m.handle, c.reader.reason());
      return;
    }
    auto msg = protocol::decode_client(frame);
    if (!msg) {
      drop(self, m.handle, msg.error().detail);
      return;
    }
    if (!on_message(self, m.handle, c, *msg))
      return;
  }
}

} // namespace

caf::behavior client_listener(caf::io::stateful_broker<listener_state>* self, caf::actor sm,
                              size_t max_frame, size_t max_connections) {
  self->state.sm = sm;
  self->state.max_frame = max_frame;
  self->state.max_connections = max_connections;
  return {
      [=](atoms::open, std::string& host, uint16_t port) -> caf::result<uint16_t> {
        auto r = self->add_tcp_doorman(port, host.c_str(), true);
        if (!r)
          return std::move(r.error());
        return r->second;
      },
      [=](const caf::io::new_connection_msg& m) {
        auto peer = self->remote_addr(m.handle);
        if (self->state.conns.size() >= self->state.max_connections) {
          log::warn("listener", "refusing connection from ", peer, ": ", self->state.max_connections,
                    " connections already open (raise corral.max-connections)");
          self->close(m.handle);
          return;
        }
        auto c = std::make_unique<connection>(self->state.max_frame);
        c->peer = peer;
        self->state.conns.emplace(m.handle, std::move(c));
        self->configure_read(m.handle, caf::io::receive_policy::at_most(64 * 1024));
        self->ack_writes(m.handle, true);
      },
      [=](caf::io::new_data_msg& m) { on_data(self, m); },
      [=](const caf::io::connection_closed_msg& m) {
        auto it = self->state.conns.find(m.handle);
        if (it == self->state.conns.end())
          return;
        if (it->second->session)
          self->send(it->second->session, atoms::detach::value, m.handle);
        self->state.conns.erase(it);
      },
      [=](const caf::io::acceptor_closed_msg&) { log::warn("listener", "listening socket closed"); },
      [=](atoms::write, connection_handle hdl, std::vector<char>& bytes, int32_t answers) {
        auto it = self->state.conns.find(hdl);
        if (it == self->state.conns.end())
          return;
        auto& c = *it->second;
        c.unsent += bytes.size();
        if (c.unsent > self->state.max_unsent) {
          drop(self, hdl, std::to_string(c.unsent) + " bytes are waiting to be sent: the client does not read");
          return;
        }
        auto& out = self->wr_buf(hdl);
        out.insert(out.end(), bytes.begin(), bytes.end());
        self->flush(hdl);
        c.in_flight -= std::min<size_t>(c.in_flight, static_cast<size_t>(answers));
        if (c.halted && c.in_flight < self->state.max_in_flight / 2) {
          c.halted = false;
          self->trigger(hdl);
        }
      },
      [=](const caf::io::data_transferred_msg& m) {
        if (auto it = self->state.conns.find(m.handle); it != self->state.conns.end())
          it->second->unsent = m.remaining;
      },
      [=](atoms::close, connection_handle hdl) {
        auto it = self->state.conns.find(hdl);
        if (it == self->state.conns.end())
          return;
        self->state.conns.erase(it);
        self->flush(hdl);
        self->close(hdl);
      },
  };
}

} // namespace corral::server
