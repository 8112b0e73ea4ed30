#include "actors/logging.hpp"
#include "actors/server/actors.hpp"

namespace corral::server {

namespace {

using self_ptr = caf::io::stateful_broker<listener_state>*;
using caf::io::connection_handle;

// The connection `c` names, if it is still open (null if it closed, even if a newer connection now
// has its handle).
connection* find(self_ptr self, const client_conn& c) {
  auto it = self->state.conns.find(c.hdl);
  if (it == self->state.conns.end() || it->second->serial != c.serial)
    return nullptr;
  return it->second.get();
}

client_conn ref_of(connection_handle hdl, const connection& c) { return {hdl, c.serial}; }

void drop(self_ptr self, connection_handle hdl, const std::string& why) {
  auto it = self->state.conns.find(hdl);
  if (it == self->state.conns.end())
    return;
  log::warn("listener", "closing connection from ", it->second->peer, ": ", why);
  if (it->second->session)
    self->send(it->second->session, atoms::detach::value, ref_of(hdl, *it->second));
  self->state.conns.erase(it);
  self->close(hdl);
}

void record_latency(listener_state& st, std::chrono::steady_clock::time_point since) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since).count();
  st.latency_min_ms = st.latency_count == 0 ? ms : std::min(st.latency_min_ms, ms);
  st.latency_max_ms = std::max(st.latency_max_ms, ms);
  st.latency_sum_ms += ms;
  ++st.latency_count;
}

// Sends `bytes` (may be empty), then closes the connection.
template <class Bytes>
void reply_and_close(self_ptr self, const client_conn& to, const Bytes& bytes) {
  if (find(self, to) == nullptr)
    return; // the client did not wait for the answer
  auto& out = self->wr_buf(to.hdl);
  out.insert(out.end(), bytes.begin(), bytes.end());
  self->flush(to.hdl);
  self->state.conns.erase(to.hdl);
  self->close(to.hdl);
}

void attach(self_ptr self, const client_conn& to, protocol::connect_response& resp, caf::actor& sess) {
  auto* found = find(self, to);
  if (found == nullptr) {
    // The client left while its session was being opened (a new session then expires unused).
    log::debug("listener", "dropping the answer to a Connect whose connection closed (session ",
               log::hex(resp.session), ")");
    return;
  }
  auto& c = *found;
  c.opening = false;
  if (resp.err != error_code::ok) {
    std::vector<char> buf;
    if (c.kind == wire::native)
      protocol::encode(protocol::server_message{resp}, buf);
    else if (resp.err == error_code::session_expired)
      protocol::jute::encode_connect_response(resp, c.kind == wire::jute, buf); // timeout 0: expired
    else
      log::info("listener", "closing ZooKeeper connection from ", c.peer, ": ", resp.detail);
    // Otherwise (a client ahead of this server, or a server not serving) ZooKeeper closes the
    // connection without a word, and its client tries the next server.
    reply_and_close(self, to, buf);
    return;
  }
  c.session = sess;
  self->send(sess, atoms::attach::value, to, caf::actor_cast<caf::actor>(self), std::move(resp),
             static_cast<int32_t>(c.kind));
  for (auto& r : c.queued)
    std::visit([&](auto& x) { self->send(sess, std::move(x)); }, r);
  c.queued.clear();
}

// Counts a request in; at the limit, stops reading from this client until answers go out.
void count_request(self_ptr self, connection_handle hdl, connection& c) {
  ++self->state.received;
  c.arrivals.push_back(std::chrono::steady_clock::now());
  if (++c.in_flight >= self->state.max_in_flight && !c.halted) {
    c.halted = true;
    self->halt(hdl);
  }
}

void open_session(self_ptr self, connection_handle hdl, connection& c, protocol::connect_request& creq) {
  c.opening = true;
  auto to = ref_of(hdl, c);
  self->request(self->state.sm, caf::infinite, atoms::open::value, std::move(creq), c.peer)
      .then([=](protocol::connect_response& resp, caf::actor& sess) { attach(self, to, resp, sess); });
}

// A request (native `request` or jute `decoded_request`) for the connection's session; false if the
// connection was closed.
template <class Request>
bool on_request(self_ptr self, connection_handle hdl, connection& c, Request& req) {
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

// Handles one decoded native frame; false if the connection was closed.
bool on_message(self_ptr self, connection_handle hdl, connection& c, protocol::client_message& msg) {
  if (auto* creq = std::get_if<protocol::connect_request>(&msg)) {
    if (c.opening || c.session) {
      drop(self, hdl, "a second Connect frame on one connection");
      return false;
    }
    open_session(self, hdl, c, *creq);
    return true;
  }
  return on_request(self, hdl, c, std::get<request>(msg));
}

// Four-letter words ("ruok", "srvr", ...): answered in text, then the connection closes.
void four_letter(self_ptr self, const client_conn& to, const std::string& cmd) {
  auto& allowed = self->state.zk.four_letter_words;
  if (allowed.count("*") == 0 && allowed.count(cmd) == 0) {
    reply_and_close(self, to, std::string(cmd + " is not executed because it is not in the whitelist.\n"));
    return;
  }
  if (cmd == "ruok") { // "is the process up": answered without waiting on the state machine
    reply_and_close(self, to, std::string("imok"));
    return;
  }
  auto& st = self->state;
  protocol::listener_stats l;
  l.received = st.received;
  l.sent = st.sent;
  if (st.latency_count > 0) {
    l.latency_min_ms = st.latency_min_ms;
    l.latency_max_ms = st.latency_max_ms;
    l.latency_avg_ms = static_cast<double>(st.latency_sum_ms) / static_cast<double>(st.latency_count);
  }
  for (auto& [h, x] : st.conns) {
    l.outstanding += x->in_flight;
    l.connections.push_back({x->peer + ":" + std::to_string(x->peer_port), x->in_flight, x->received, x->sent_packets});
  }
  self->request(st.sm, std::chrono::seconds(5), atoms::stats::value)
      .then([=](protocol::server_stats& s) {
              reply_and_close(self, to, protocol::four_letter_text(cmd, s, l, self->state.zk.conf));
            },
            [=](caf::error&) {
              reply_and_close(self, to, std::string("This ZooKeeper instance is not currently serving requests\n"));
            });
}

void on_jute_data(self_ptr self, caf::io::new_data_msg& m, connection& c) {
  c.packets.feed(m.buf.data(), m.buf.size());
  if (!c.opening && !c.session && c.received == 0) {
    int32_t word = 0;
    if (!c.packets.peek_first_word(word))
      return;
    if (auto cmd = protocol::jute::four_letter_word(word); !cmd.empty()) {
      c.received = 1;
      c.halted = true;
      self->halt(m.handle);
      four_letter(self, ref_of(m.handle, c), cmd);
      return;
    }
  }
  std::string body;
  for (;;) {
    auto st = c.packets.next(body);
    if (st == protocol::jute::packet_reader::status::need_more)
      return;
    if (st != protocol::jute::packet_reader::status::packet) {
      drop(self, m.handle, c.packets.reason());
      return;
    }
    ++c.received;
    if (!c.opening && !c.session) {
      auto p = protocol::jute::decode_connect(body);
      if (!p) {
        drop(self, m.handle, p.error().detail);
        return;
      }
      c.kind = p->has_read_only ? wire::jute : wire::jute_without_read_only;
      open_session(self, m.handle, c, p->req);
      continue;
    }
    auto d = protocol::jute::decode_request(body);
    if (!d) {
      drop(self, m.handle, d.error().detail);
      return;
    }
    if (!on_request(self, m.handle, c, *d))
      return;
  }
}

void on_data(self_ptr self, caf::io::new_data_msg& m) {
  auto it = self->state.conns.find(m.handle);
  if (it == self->state.conns.end())
    return;
  auto& c = *it->second;
  if (c.kind != wire::native) {
    on_jute_data(self, m, c);
    return;
  }
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
    ++c.received;
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
                              size_t max_frame, size_t max_connections, zookeeper_front_end zk) {
  self->state.sm = sm;
  self->state.zk = std::move(zk);
  self->state.max_frame = max_frame;
  self->state.max_connections = max_connections;
  return {
      [=](atoms::open, std::string& host, uint16_t port, bool zookeeper) -> caf::result<uint16_t> {
        auto r = self->add_tcp_doorman(port, host.c_str(), true);
        if (!r)
          return std::move(r.error());
        if (zookeeper)
          self->state.jute_doormen.insert(r->first);
        // `conf` shows the ports actually bound (0 in the options picks a free one).
        for (auto& [key, value] : self->state.zk.conf)
          if (key == (zookeeper ? "clientPort" : "nativeClientPort"))
            value = std::to_string(r->second);
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
        auto c = std::make_unique<connection>(self->state.max_frame, self->state.zk.max_packet);
        c->serial = self->state.next_serial++;
        c->peer = peer;
        c->peer_port = self->remote_port(m.handle);
        if (self->state.jute_doormen.count(m.source) > 0)
          c->kind = wire::jute; // until its ConnectRequest says whether it sends the read-only flag
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
          self->send(it->second->session, atoms::detach::value, ref_of(m.handle, *it->second));
        self->state.conns.erase(it);
      },
      [=](const caf::io::acceptor_closed_msg&) { log::warn("listener", "listening socket closed"); },
      [=](atoms::write, const client_conn& to, std::vector<char>& bytes, int32_t answers) {
        auto* found = find(self, to);
        if (found == nullptr)
          return; // meant for a connection that has closed
        auto hdl = to.hdl;
        auto& c = *found;
        c.unsent += bytes.size();
        if (c.unsent > self->state.max_unsent) {
          drop(self, hdl, std::to_string(c.unsent) + " bytes are waiting to be sent: the client does not read");
          return;
        }
        auto& out = self->wr_buf(hdl);
        out.insert(out.end(), bytes.begin(), bytes.end());
        self->flush(hdl);
        ++c.sent_packets;
        ++self->state.sent;
        for (int32_t i = 0; i < answers && !c.arrivals.empty(); ++i) {
          record_latency(self->state, c.arrivals.front());
          c.arrivals.pop_front();
        }
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
      [=](atoms::close, const client_conn& to) {
        if (find(self, to) == nullptr)
          return;
        self->state.conns.erase(to.hdl);
        self->flush(to.hdl);
        self->close(to.hdl);
      },
  };
}

} // namespace corral::server
