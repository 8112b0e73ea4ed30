#include <algorithm>
#include <utility>

#include "actors/errors.hpp"
#include "actors/logging.hpp"
#include "actors/server/actors.hpp"

namespace corral::server {

namespace {

using self_ptr = listener_self::stateful_broker_pointer<listener_state>;
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

void resume_later(self_ptr self, const std::vector<uint64_t>& serials);

// Forgets a connection (the caller closes it): its share of the per-address and global counts goes.
void forget(self_ptr self, std::map<connection_handle, std::unique_ptr<connection>>::iterator it) {
  auto& st = self->state;
  auto& c = *it->second;
  if (c.session)
    self->send(c.session, atoms::detach::value, ref_of(it->first, c));
  if (auto a = st.per_address.find(c.peer); a != st.per_address.end() && --a->second == 0)
    st.per_address.erase(a);
  st.by_serial.erase(c.serial);
  auto freed = st.flow.closed(c.serial); // its unanswered requests no longer count
  st.conns.erase(it);
  resume_later(self, freed);
}

void drop(self_ptr self, connection_handle hdl, const std::string& why) {
  auto it = self->state.conns.find(hdl);
  if (it == self->state.conns.end())
    return;
  log::warn("listener", "closing connection from ", it->second->peer, ": ", why);
  forget(self, it);
  self->close(hdl);
}

void record_latency(listener_state& st, std::chrono::steady_clock::time_point since) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - since).count();
  st.latency_min_ms = st.latency_count == 0 ? ms : std::min(st.latency_min_ms, ms);
  st.latency_max_ms = std::max(st.latency_max_ms, ms);
  st.latency_sum_ms += ms;
  ++st.latency_count;
}

// Queues bytes for the client, through TLS on a secure port; false if TLS failed (the caller drops).
bool send_to(self_ptr self, connection_handle hdl, connection& c, const char* data, size_t n) {
  auto& out = self->wr_buf(hdl);
  if (c.tls) {
    if (!c.tls->send(data, n))
      return false;
    c.tls->take_output(out);
  } else {
    out.insert(out.end(), data, data + n);
  }
  self->flush(hdl);
  return true;
}

// Sends `bytes` (may be empty), then closes the connection.
template <class Bytes>
void reply_and_close(self_ptr self, const client_conn& to, const Bytes& bytes) {
  auto* c = find(self, to);
  if (c == nullptr)
    return; // the client did not wait for the answer
  send_to(self, to.hdl, *c, bytes.data(), bytes.size());
  forget(self, self->state.conns.find(to.hdl));
  self->close(to.hdl);
}

// Sends the requests decoded so far to the connection's session, in one message (nothing before
// the session is attached: they wait for it).
void flush_requests(self_ptr self, connection& c) {
  if (!c.session)
    return;
  if (!c.native_requests.empty()) {
    c.last_batch = c.native_requests.size();
    self->send(c.session, std::exchange(c.native_requests, {}));
  }
  if (!c.jute_requests.empty()) {
    c.last_batch = c.jute_requests.size();
    self->send(c.session, std::exchange(c.jute_requests, {}));
  }
}

// Closes a connection whose input is bad, after passing on the requests read before the bad part.
void refuse(self_ptr self, connection_handle hdl, connection& c, const std::string& why) {
  flush_requests(self, c);
  drop(self, hdl, why);
}

void attach(self_ptr self, const client_conn& to, protocol::connect_response& resp, session_actor& sess) {
  auto* found = find(self, to);
  if (found == nullptr) {
    // The client left while its session was being opened (a new session then expires unused).
    log::debug("listener", "dropping the answer to a Connect whose connection closed (session ", log::hex(resp.session),
               ")");
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
  self->send(sess, atoms::attach::value, to, caf::actor_cast<listener_actor>(self), std::move(resp),
             static_cast<int32_t>(c.kind));
  flush_requests(self, c); // what arrived before the session was open
}

// ---- backpressure (core/flow_control decides, this does) -----------------------------------------

// A paused connection's requests wait, undecoded, in its reader until flow_control lets it go on;
// its socket is read on until max_unread bytes wait there, and only then halted (the kernel then
// holds the client back). Why not halt at once: CAF 0.17 applies halt() and trigger() to its event
// loop only at the end of a loop iteration, and a trigger() in the same iteration as a halt() is
// lost (the stream still looks active, so the re-add is skipped, then the removal is applied): the
// connection is never read again. A resume sent through the clock (1 ms) did not separate the two
// under load, when one turn of the loop takes longer (seen: ZooKeeper's C client with 8 x 128
// writes in flight against the global limit, a connection stalled until its client gave up after
// 20 s); and a trigger() on a stream that reads resets what it has half read, so it cannot simply be
// repeated. A pipelining client sends at most its window while it waits, far below max_unread, so
// only a client that floods is halted, and resumed 10 ms after it may go on.
size_t unread(const connection& c) { return c.kind == wire::native ? c.reader.buffered_bytes() : c.packets.buffered(); }

void hold_back(self_ptr self, connection_handle hdl, connection& c) {
  if (c.halted || unread(c) <= self->state.flow.limits().max_unread)
    return;
  c.halted = true;
  self->halt(hdl);
}

void pause(self_ptr self, connection_handle hdl, connection& c) {
  if (!self->state.flow.is_paused(c.serial))
    self->state.flow.paused(c.serial);
  hold_back(self, hdl, c);
}

// Counts a request in (`bytes`: its packet's size).
void count_request(self_ptr self, connection& c, size_t bytes) {
  ++self->state.received;
  c.arrivals.push_back(std::chrono::steady_clock::now());
  self->state.flow.took(c.serial, bytes);
}

// Connections that flow_control lets go on: handled after the current message (the caller may be
// in the middle of one connection's bookkeeping).
void resume_later(self_ptr self, const std::vector<uint64_t>& serials) {
  for (auto serial : serials)
    if (auto h = self->state.by_serial.find(serial); h != self->state.by_serial.end())
      self->send(self, atoms::resume::value, client_conn{h->second, serial});
}

bool pump(self_ptr self, connection_handle hdl, connection& c);

// The answer to resume_later: what arrived while the connection was paused is handled now.
void resume(self_ptr self, const client_conn& to) {
  auto* c = find(self, to);
  if (c == nullptr || c->answering_word || self->state.flow.is_paused(c->serial))
    return; // gone, a four-letter word, or paused again meanwhile
  if (pump(self, to.hdl, *c) && c->halted && !self->state.flow.is_paused(c->serial))
    self->delayed_send(self, std::chrono::milliseconds(10), atoms::retry::value, to);
}

// A halted connection that may go on is read again (see hold_back).
void read_again(self_ptr self, const client_conn& to) {
  auto* c = find(self, to);
  if (c == nullptr || !c->halted || self->state.flow.is_paused(c->serial))
    return; // gone, already reading, or paused again (then a later resume comes here again)
  c->halted = false;
  self->trigger(to.hdl);
}

void open_session(self_ptr self, connection_handle hdl, connection& c, protocol::connect_request& creq) {
  c.opening = true;
  auto to = ref_of(hdl, c);
  std::string subject = c.tls ? c.tls->peer_subject() : std::string();
  self->request(self->state.sm, caf::infinite, atoms::open::value, std::move(creq), c.peer, subject)
      .then([=](protocol::connect_response& resp, session_actor& sess) { attach(self, to, resp, sess); },
            [=](caf::error& e) {
              // The state machine is gone (the server is stopping): nothing will answer this client.
              if (find(self, to) != nullptr)
                drop(self, to.hdl, "the session could not be opened: " + from_caf_error(e).detail);
            });
}

// A request (native `request` or jute `decoded_request`) for the connection's session, queued until
// the end of the read (flush_requests); false if the connection was closed.
template <class Request>
bool on_request(self_ptr self, connection_handle hdl, connection& c, Request& req, size_t bytes,
                std::vector<Request>& queue) {
  if (!c.session && !c.opening) {
    drop(self, hdl, "the first frame must be Connect");
    return false;
  }
  constexpr size_t max_queued = 10000;
  if (!c.session && queue.size() >= max_queued) {
    drop(self, hdl, "too many requests before the session was open");
    return false;
  }
  count_request(self, c, bytes);
  if (queue.empty())
    queue.reserve(std::clamp<size_t>(c.last_batch, 1, 128)); // bounded: one burst does not pin memory
  queue.push_back(std::move(req));
  return true;
}

// Handles one decoded native frame; false if the connection was closed.
bool on_message(self_ptr self, connection_handle hdl, connection& c, protocol::client_message& msg, size_t bytes) {
  if (auto* creq = std::get_if<protocol::connect_request>(&msg)) {
    if (c.opening || c.session) {
      refuse(self, hdl, c, "a second Connect frame on one connection");
      return false;
    }
    open_session(self, hdl, c, *creq);
    return true;
  }
  return on_request(self, hdl, c, std::get<request>(msg), bytes, c.native_requests);
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
  l.outstanding = st.flow.outstanding();
  l.rejected = st.rejected;
  l.dropped = st.dropped;
  l.throttle_waits = st.flow.throttle_waits();
  for (auto& [h, x] : st.conns) {
    l.connections.push_back(
        {x->peer + ":" + std::to_string(x->peer_port), st.flow.outstanding(x->serial), x->received, x->sent_packets});
  }
  self->request(st.sm, std::chrono::seconds(5), atoms::stats::value)
      .then(
          [=](protocol::server_stats& s) {
            reply_and_close(self, to, protocol::four_letter_text(cmd, s, l, self->state.zk.conf));
          },
          [=](caf::error&) {
            reply_and_close(self, to, std::string("This ZooKeeper instance is not currently serving requests\n"));
          });
}

// Jute packets already received, until the buffer runs dry or a limit pauses the connection; false if
// the connection was closed.
bool pump_jute(self_ptr self, connection_handle hdl, connection& c) {
  std::string body;
  while (self->state.flow.may_read(c.serial)) {
    auto st = c.packets.next(body);
    if (st == protocol::jute::packet_reader::status::need_more) {
      flush_requests(self, c);
      return true;
    }
    if (st != protocol::jute::packet_reader::status::packet) {
      refuse(self, hdl, c, c.packets.reason());
      return false;
    }
    ++c.received;
    if (!c.opening && !c.session) {
      auto p = protocol::jute::decode_connect(body);
      if (!p) {
        drop(self, hdl, p.error().detail);
        return false;
      }
      c.kind = p->has_read_only ? wire::jute : wire::jute_without_read_only;
      open_session(self, hdl, c, p->req);
      continue;
    }
    auto d = protocol::jute::decode_request(body);
    if (!d) {
      refuse(self, hdl, c, d.error().detail);
      return false;
    }
    if (!on_request(self, hdl, c, *d, body.size() + 4, c.jute_requests))
      return false;
  }
  flush_requests(self, c);
  pause(self, hdl, c);
  return true;
}

bool pump_native(self_ptr self, connection_handle hdl, connection& c) {
  while (self->state.flow.may_read(c.serial)) {
    kj::ArrayPtr<const capnp::word> frame;
    auto st = c.reader.next(frame);
    if (st == protocol::frame_reader::status::need_more) {
      flush_requests(self, c);
      return true;
    }
    if (st != protocol::frame_reader::status::frame) {
      refuse(self, hdl, c, c.reader.reason());
      return false;
    }
    ++c.received;
    auto msg = protocol::decode_client(frame);
    if (!msg) {
      refuse(self, hdl, c, msg.error().detail);
      return false;
    }
    if (!on_message(self, hdl, c, *msg, frame.size() * sizeof(capnp::word)))
      return false;
  }
  flush_requests(self, c);
  pause(self, hdl, c);
  return true;
}

// Handles what has been received and not yet handled; false if the connection was closed.
bool pump(self_ptr self, connection_handle hdl, connection& c) {
  return c.kind == wire::native ? pump_native(self, hdl, c) : pump_jute(self, hdl, c);
}

// On a secure port: decrypts what arrived (answering the handshake); false if the connection closed.
bool through_tls(self_ptr self, connection_handle hdl, connection& c, const caf::io::new_data_msg& m,
                 std::string& plain) {
  bool ok = c.tls->receive(m.buf.data(), m.buf.size(), plain, self->wr_buf(hdl));
  self->flush(hdl);
  if (!ok) {
    drop(self, hdl, c.tls->reason());
    return false;
  }
  return true;
}

void on_data(self_ptr self, caf::io::new_data_msg& m) {
  auto it = self->state.conns.find(m.handle);
  if (it == self->state.conns.end())
    return;
  auto& c = *it->second;
  if (c.answering_word)
    return;
  const char* data = m.buf.data();
  size_t size = m.buf.size();
  std::string plain;
  if (c.tls) {
    if (!through_tls(self, m.handle, c, m, plain))
      return;
    data = plain.data();
    size = plain.size();
  }
  if (c.kind == wire::native) {
    c.reader.feed(data, size);
  } else {
    c.packets.feed(data, size);
    if (!c.opening && !c.session && c.received == 0) {
      int32_t word = 0;
      if (!c.packets.peek_first_word(word))
        return;
      if (auto cmd = protocol::jute::four_letter_word(word); !cmd.empty()) {
        c.received = 1;
        c.answering_word = true;
        pause(self, m.handle, c);
        four_letter(self, ref_of(m.handle, c), cmd);
        return;
      }
    }
  }
  if (self->state.flow.is_paused(c.serial))
    hold_back(self, m.handle, c); // it waits in the reader
  else
    pump(self, m.handle, c);
}

// Refuses a new connection over corral.max-connections or corral.max-client-cnxns; logs the first
// refusals and then every power of two, so a flood does not flood the log.
bool admit(self_ptr self, const std::string& peer) {
  auto& st = self->state;
  std::string why;
  auto& limits = st.flow.limits();
  if (st.conns.size() >= limits.max_connections)
    why = std::to_string(limits.max_connections) + " connections are open (raise corral.max-connections)";
  else if (auto a = st.per_address.find(peer);
           limits.max_per_address != 0 && a != st.per_address.end() && a->second >= limits.max_per_address)
    why = std::to_string(a->second) + " connections from this address are open (corral.max-client-cnxns)";
  if (why.empty())
    return true;
  ++st.rejected;
  if ((st.rejected & (st.rejected - 1)) == 0)
    log::warn("listener", "refusing connection from ", peer, ": ", why, "; ", st.rejected, " refused so far");
  return false;
}

} // namespace

listener_self::behavior_type client_listener(self_ptr self, state_machine_actor sm, size_t max_frame,
                                             flow_limits limits, zookeeper_front_end zk,
                                             std::shared_ptr<security::tls_context> tls) {
  self->state.sm = sm;
  self->state.zk = std::move(zk);
  self->state.max_frame = max_frame;
  self->state.flow = flow_control(limits);
  self->state.tls = std::move(tls);
  return {
      [=](atoms::open, std::string& host, uint16_t port, bool zookeeper, bool secure) -> caf::result<uint16_t> {
        if (secure && !self->state.tls)
          return caf::make_error(caf::sec::runtime_error,
                                 "a secure port needs corral.tls-cert-file and corral.tls-key-file");
        auto r = self->add_tcp_doorman(port, host.c_str(), true);
        if (!r)
          return std::move(r.error());
        if (zookeeper)
          self->state.jute_doormen.insert(r->first);
        if (secure)
          self->state.tls_doormen.insert(r->first);
        // `conf` shows the ports actually bound (0 in the options picks a free one).
        const char* key_name = zookeeper ? (secure ? "secureClientPort" : "clientPort")
                                         : (secure ? "nativeSecureClientPort" : "nativeClientPort");
        for (auto& [key, value] : self->state.zk.conf)
          if (key == key_name)
            value = std::to_string(r->second);
        return r->second;
      },
      [=](const caf::io::new_connection_msg& m) {
        auto peer = self->remote_addr(m.handle);
        if (!admit(self, peer)) {
          self->close(m.handle);
          return;
        }
        ++self->state.per_address[peer];
        auto c = std::make_unique<connection>(self->state.max_frame, self->state.zk.max_packet);
        c->serial = self->state.next_serial++;
        self->state.flow.opened(c->serial);
        self->state.by_serial.emplace(c->serial, m.handle);
        c->peer = peer;
        c->peer_port = self->remote_port(m.handle);
        if (self->state.jute_doormen.count(m.source) > 0)
          c->kind = wire::jute; // until its ConnectRequest says whether it sends the read-only flag
        if (self->state.tls_doormen.count(m.source) > 0)
          c->tls = std::make_unique<security::tls_stream>(self->state.tls);
        self->state.conns.emplace(m.handle, std::move(c));
        self->configure_read(m.handle, caf::io::receive_policy::at_most(64 * 1024));
        self->ack_writes(m.handle, true);
      },
      [=](caf::io::new_data_msg& m) { on_data(self, m); },
      [=](const caf::io::connection_closed_msg& m) {
        if (auto it = self->state.conns.find(m.handle); it != self->state.conns.end())
          forget(self, it);
      },
      [=](const caf::io::acceptor_closed_msg&) { log::warn("listener", "listening socket closed"); },
      [=](atoms::write, const client_conn& to, std::vector<char>& bytes, int32_t answers) {
        auto* found = find(self, to);
        if (found == nullptr)
          return; // meant for a connection that has closed
        auto hdl = to.hdl;
        auto& c = *found;
        auto& flow = self->state.flow;
        auto freed = flow.answered(c.serial, answers, bytes.size());
        if (flow.over_output_limit(c.serial)) {
          ++self->state.dropped;
          drop(self, hdl,
               "more than " + std::to_string(flow.limits().max_unsent) +
                   " bytes are waiting to be sent: the client does not read");
          resume_later(self, freed);
          return;
        }
        if (!send_to(self, hdl, c, bytes.data(), bytes.size())) {
          drop(self, hdl, c.tls->reason());
          resume_later(self, freed);
          return;
        }
        ++c.sent_packets;
        ++self->state.sent;
        for (int32_t i = 0; i < answers && !c.arrivals.empty(); ++i) {
          record_latency(self->state, c.arrivals.front());
          c.arrivals.pop_front();
        }
        resume_later(self, freed);
      },
      [=](const caf::io::data_transferred_msg& m) {
        if (auto it = self->state.conns.find(m.handle); it != self->state.conns.end())
          resume_later(self, self->state.flow.waiting(it->second->serial, m.remaining));
      },
      [=](atoms::resume, const client_conn& to) { resume(self, to); },
      [=](atoms::retry, const client_conn& to) { read_again(self, to); },
      [=](atoms::close, const client_conn& to) {
        if (find(self, to) == nullptr)
          return;
        forget(self, self->state.conns.find(to.hdl));
        self->flush(to.hdl);
        self->close(to.hdl);
      },
  };
}

} // namespace corral::server
