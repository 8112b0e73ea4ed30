#include "actors/server/peer_transport.hpp"

#include <netdb.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <map>
#include <optional>

#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/native_socket.hpp>

#include "actors/logging.hpp"
#include "actors/messages.hpp"
#include "actors/server/broker_io.hpp"
#include "protocol/frame.hpp"
#include "protocol/peer_codec.hpp"
#include "security/peer_handshake.hpp"

namespace corral::server {

namespace {

using caf::io::connection_handle;
using zab::server_id;

// Frames before admission are small (hello, challenge, proof): nobody unknown may make us buffer more.
constexpr size_t handshake_max_frame = 64 * 1024;

struct link {
  server_id peer = 0;                                // 0 until admitted
  server_id dialled = 0;                             // the server we connected to (0: an accepted connection)
  uint64_t serial = 0;                               // handles are socket descriptors and get reused; this is not
  std::optional<security::peer_handshake> handshake; // until admitted
  std::unique_ptr<security::tls_stream> tls;         // with corral.quorum-tls
  std::unique_ptr<protocol::frame_reader> reader;
  std::optional<std::chrono::steady_clock::time_point> behind_since; // over max_unsent_bytes since
  // Bytes the socket had not taken at the last write acknowledgement (write acks are on only while
  // a backlog exists; see unsent_bytes()).
  size_t reported_unsent = 0;
  bool acks_on = false;
};

struct transport_state {
  transport_options opts;
  peer_events owner;
  std::vector<peer_address> peers;
  std::vector<security::roster_entry> roster; // who may connect, from where
  uint64_t next_serial = 1;
  std::map<connection_handle, link> links;
  std::map<server_id, connection_handle> by_peer;
  std::map<server_id, int> failures;      // consecutive failed connects, for backoff
  std::map<server_id, uint64_t> attempts; // stale connect results are ignored
  static inline const char* name = "peer_transport";
};

// The transport with CAF's I/O events and what it sends itself: a reconnect's timer, a dialling
// thread's result (the attempt's number and the socket, -1 if it failed), a handshake's deadline.
using transport_self =
    transport_actor::extend_with<broker_io>::extend<caf::reacts_to<atoms::retry, server_id>,
                                                    caf::reacts_to<atoms::connected, server_id, uint64_t, int64_t>,
                                                    caf::reacts_to<atoms::expired, connection_handle, uint64_t>>;
using self_ptr = transport_self::stateful_broker_pointer<transport_state>;

void schedule_connect(self_ptr self, server_id id);

void drop(self_ptr self, connection_handle hdl, const std::string& why) {
  auto it = self->state.links.find(hdl);
  if (it == self->state.links.end())
    return;
  auto peer = it->second.peer;
  auto dialled = it->second.dialled;
  self->state.links.erase(it);
  self->close(hdl);
  if (peer == 0 && dialled != 0) {
    // Our handshake with a server we dialled failed: try again later (the other side logs why).
    if (self->state.failures[dialled]++ == 0)
      log::warn("peer", "handshake with server ", dialled, " failed (", why, "); retrying");
    schedule_connect(self, dialled);
    return;
  }
  if (peer == 0)
    return;
  if (auto b = self->state.by_peer.find(peer); b != self->state.by_peer.end() && b->second == hdl) {
    self->state.by_peer.erase(b);
    log::info("peer", "connection to server ", peer, " lost (", why, ")");
    self->send(self->state.owner, atoms::gone::value, peer);
    if (peer < self->state.opts.self)
      schedule_connect(self, peer);
  }
}

void attach(self_ptr self, connection_handle hdl, server_id peer) {
  auto& st = self->state;
  if (auto old = st.by_peer.find(peer); old != st.by_peer.end() && old->second != hdl) {
    // A newer connection from the same server replaces the old one.
    auto h = old->second;
    st.by_peer.erase(old);
    st.links.erase(h);
    self->close(h);
    self->send(st.owner, atoms::gone::value, peer);
  }
  st.links[hdl].peer = peer;
  st.by_peer[peer] = hdl;
  st.failures[peer] = 0;
  log::info("peer", "connected to server ", peer);
  self->send(st.owner, atoms::connected::value, peer);
}

// The bytes waiting for a peer. CAF's wr_buf() is only the part not yet handed to the socket's
// writer: when a write finishes, everything queued behind it moves into the writer's own buffer and
// wr_buf() is empty again, however much the peer still has to read. So once a backlog forms (a
// frame is queued while an earlier write is still going), the link asks CAF for write
// acknowledgements, which carry the true remainder; a link that keeps up never has them on and
// costs no extra message.
size_t unsent_bytes(self_ptr self, connection_handle hdl, link& l) {
  size_t queued = self->wr_buf(hdl).size();
  if (queued > 0 && !l.acks_on) {
    l.acks_on = true;
    self->ack_writes(hdl, true);
  }
  return std::max(queued, l.acks_on ? l.reported_unsent : size_t{0});
}

// A peer that stays behind is dropped (it resyncs when it comes back: DIFF or SNAP). "Behind": more
// than max_unsent_bytes wait for it, and have for slow_peer_grace. The grace keeps a healthy voter
// that a burst of big writes puts over the limit for a few milliseconds from being dropped (which
// would cost the leader its quorum); a slow learner stays over it. Returns false if it dropped it.
bool keeps_up(self_ptr self, connection_handle hdl, link& l, size_t unsent) {
  auto now = std::chrono::steady_clock::now();
  if (unsent <= self->state.opts.max_unsent_bytes) {
    l.behind_since.reset();
  } else if (!l.behind_since) {
    l.behind_since = now;
  } else if (now - *l.behind_since > self->state.opts.slow_peer_grace) {
    log::warn("peer", "server ", l.peer, " does not read fast enough: ", unsent, " bytes have waited for it for over ",
              self->state.opts.slow_peer_grace.count(),
              " ms (corral.peer-max-unsent-bytes); dropping it, it will resync");
    drop(self, hdl, "it does not read fast enough");
    return false;
  }
  return true;
}

// The socket took some bytes of a link that has a backlog.
void on_written(self_ptr self, const caf::io::data_transferred_msg& m) {
  auto it = self->state.links.find(m.handle);
  if (it == self->state.links.end())
    return;
  auto& l = it->second;
  l.reported_unsent = m.remaining;
  if (!keeps_up(self, m.handle, l, m.remaining))
    return;
  if (m.remaining == 0 && l.acks_on) {
    l.acks_on = false;
    self->ack_writes(m.handle, false);
  }
}

// Adds the frame to the connection's output; `flush` starts the write (a batch flushes once).
void write(self_ptr self, connection_handle hdl, const protocol::peer_frame& f, bool flush = true) {
  auto& buf = self->wr_buf(hdl);
  // Checked before adding, so one frame bigger than the limit (a SNAP of a big tree) still goes to a
  // peer that keeps up.
  auto l = self->state.links.find(hdl);
  if (l != self->state.links.end() && !keeps_up(self, hdl, l->second, unsent_bytes(self, hdl, l->second)))
    return;
  if (l != self->state.links.end() && l->second.tls) {
    std::vector<char> plain;
    protocol::encode(f, plain);
    if (!l->second.tls->send(plain.data(), plain.size())) {
      drop(self, hdl, l->second.tls->reason());
      return;
    }
    l->second.tls->take_output(buf);
  } else {
    protocol::encode(f, buf);
  }
  if (flush)
    self->flush(hdl);
}

// A new connection, before admission.
link& new_link(self_ptr self, connection_handle hdl, security::peer_handshake hs, server_id dialled) {
  auto& st = self->state;
  auto& l = st.links[hdl];
  l.serial = st.next_serial++;
  l.dialled = dialled;
  l.handshake.emplace(std::move(hs));
  l.reader = std::make_unique<protocol::frame_reader>(handshake_max_frame);
  if (auto& ctx = dialled != 0 ? st.opts.tls_client : st.opts.tls_server) {
    l.tls = std::make_unique<security::tls_stream>(ctx);
    l.tls->take_output(self->wr_buf(hdl)); // the ClientHello, when connecting
    self->flush(hdl);
  }
  self->configure_read(hdl, caf::io::receive_policy::at_most(256 * 1024));
  self->delayed_send(self, st.opts.handshake_timeout, atoms::expired::value, hdl, l.serial);
  return l;
}

// With TLS: whether the peer's verified certificate names the host configured for server `id`.
bool certificate_fits(self_ptr self, const link& l, server_id id) {
  for (auto& p : self->state.peers)
    if (p.id == id)
      return l.tls->peer_certificate_names(p.host);
  return false;
}

// Feeds a handshake frame; false if the connection was closed.
bool on_handshake(self_ptr self, connection_handle hdl, link& l, const protocol::peer_frame& f) {
  auto& hs = *l.handshake;
  for (auto& out : hs.on_frame(f))
    write(self, hdl, out);
  if (hs.current() == security::peer_handshake::state::refused) {
    auto why = hs.reason(); // a copy: drop() destroys the link and its handshake
    if (l.dialled == 0)     // an initiator's refusal is logged by drop(), once per run of failures
      log::warn("peer", "refusing a quorum connection: ", why);
    drop(self, hdl, why);
    return false;
  }
  if (hs.current() == security::peer_handshake::state::admitted) {
    auto peer = hs.peer();
    if (l.tls && !certificate_fits(self, l, peer)) {
      auto why = "the TLS certificate of server " + std::to_string(peer) +
                 " does not name the address corral.ensemble gives for it";
      if (l.dialled == 0)
        log::warn("peer", "refusing a quorum connection: ", why);
      drop(self, hdl, why);
      return false;
    }
    l.handshake.reset();
    l.reader->set_max_frame_bytes(self->state.opts.max_frame_bytes);
    attach(self, hdl, peer);
  }
  return true;
}

void on_data(self_ptr self, caf::io::new_data_msg& m) {
  auto it = self->state.links.find(m.handle);
  if (it == self->state.links.end())
    return;
  auto& l = it->second;
  if (l.tls) {
    std::string plain;
    bool ok = l.tls->receive(m.buf.data(), m.buf.size(), plain, self->wr_buf(m.handle));
    self->flush(m.handle);
    if (!ok) {
      auto why = l.tls->reason();
      if (l.dialled == 0)
        log::warn("peer", "refusing a quorum connection from ", self->remote_addr(m.handle), ": ", why);
      return drop(self, m.handle, why);
    }
    l.reader->feed(plain.data(), plain.size());
  } else {
    l.reader->feed(m.buf.data(), m.buf.size());
  }
  for (;;) {
    kj::ArrayPtr<const capnp::word> frame;
    auto st = l.reader->next(frame);
    if (st == protocol::frame_reader::status::need_more)
      return;
    if (st != protocol::frame_reader::status::frame)
      return drop(self, m.handle, l.reader->reason());
    auto f = protocol::decode_peer(frame);
    if (!f)
      return drop(self, m.handle, f.error().detail);
    if (l.handshake) {
      if (!on_handshake(self, m.handle, l, *f))
        return;
      continue;
    }
    if (auto* msg = std::get_if<zab::message>(&*f)) {
      if (msg->from != l.peer || msg->to != self->state.opts.self)
        return drop(self, m.handle, "a message that does not belong on this connection");
      self->send(self->state.owner, std::move(*msg));
      continue;
    }
    self->send(self->state.owner, atoms::peer_frame::value, l.peer, std::move(*f));
  }
}

void schedule_connect(self_ptr self, server_id id) {
  int f = self->state.failures[id];
  auto delay = std::chrono::milliseconds(f == 0 ? 0 : std::min(2000, 50 << std::min(f, 6)));
  self->delayed_send(self, delay, atoms::retry::value, id);
}

void start_connect(self_ptr self, server_id id) {
  auto& st = self->state;
  if (st.by_peer.count(id) != 0)
    return;
  auto p = std::find_if(st.peers.begin(), st.peers.end(), [&](auto& x) { return x.id == id; });
  if (p == st.peers.end())
    return;
  auto attempt = ++st.attempts[id];
  auto me = caf::actor_cast<transport_self>(self);
  auto host = p->host;
  auto port = p->port;
  self->system().spawn<caf::detached>([me, id, attempt, host, port] {
    auto fd = caf::io::network::new_tcp_connection(host, port);
    caf::anon_send(me, atoms::connected::value, id, attempt, fd ? static_cast<int64_t>(*fd) : int64_t{-1});
  });
}

void on_connected_socket(self_ptr self, server_id id, uint64_t attempt, int64_t fd) {
  auto& st = self->state;
  if (attempt != st.attempts[id] || st.by_peer.count(id) != 0) {
    if (fd >= 0)
      caf::io::network::close_socket(static_cast<caf::io::network::native_socket>(fd));
    return;
  }
  if (fd < 0) {
    if (st.failures[id]++ == 0)
      log::debug("peer", "cannot connect to server ", id, "; retrying");
    schedule_connect(self, id);
    return;
  }
  auto hdl = self->add_scribe(static_cast<caf::io::network::native_socket>(fd));
  auto& l = new_link(self, hdl, security::peer_handshake::initiator(st.opts.self, id, st.opts.secret), id);
  write(self, hdl, l.handshake->hello());
}

// The numeric addresses `host` stands for (itself if it is one).
std::vector<std::string> addresses_of(const std::string& host) {
  std::vector<std::string> out;
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (::getaddrinfo(host.c_str(), nullptr, &hints, &res) != 0) {
    log::warn("peer", "cannot resolve ", host, " (named in corral.ensemble); connections from it are refused");
    return out;
  }
  for (auto* a = res; a != nullptr; a = a->ai_next) {
    char buf[INET6_ADDRSTRLEN] = {};
    const void* src = a->ai_family == AF_INET
                          ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(a->ai_addr)->sin_addr)
                          : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(a->ai_addr)->sin6_addr);
    if (::inet_ntop(a->ai_family, src, buf, sizeof buf) != nullptr &&
        std::find(out.begin(), out.end(), buf) == out.end())
      out.emplace_back(buf);
  }
  ::freeaddrinfo(res);
  return out;
}

transport_self::behavior_type transport(self_ptr self, transport_options opts, peer_events owner) {
  self->state.opts = std::move(opts);
  self->state.owner = std::move(owner);
  return {
      [=](atoms::open) -> caf::result<uint16_t> {
        auto r = self->add_tcp_doorman(self->state.opts.listen_port, self->state.opts.listen_host.c_str(), true);
        if (!r)
          return std::move(r.error());
        return r->second;
      },
      [=](atoms::connect, std::vector<peer_address>& peers) {
        self->state.peers = std::move(peers);
        self->state.roster.clear();
        for (auto& p : self->state.peers)
          self->state.roster.push_back({p.id, addresses_of(p.host)});
        for (auto& p : self->state.peers)
          if (p.id < self->state.opts.self)
            start_connect(self, p.id);
      },
      [=](atoms::retry, server_id id) { start_connect(self, id); },
      [=](atoms::connected, server_id id, uint64_t attempt, int64_t fd) { on_connected_socket(self, id, attempt, fd); },
      [=](const caf::io::new_connection_msg& m) {
        auto& st = self->state;
        new_link(
            self, m.handle,
            security::peer_handshake::acceptor(st.opts.self, self->remote_addr(m.handle), st.roster, st.opts.secret),
            0);
      },
      [=](atoms::expired, connection_handle hdl, uint64_t serial) {
        auto it = self->state.links.find(hdl);
        if (it != self->state.links.end() && it->second.serial == serial && it->second.handshake) {
          log::warn("peer", "closing a quorum connection from ", self->remote_addr(hdl), ": no handshake within ",
                    self->state.opts.handshake_timeout.count(), " ms");
          drop(self, hdl, "no handshake in time");
        }
      },
      [=](caf::io::new_data_msg& m) { on_data(self, m); },
      [=](const caf::io::data_transferred_msg& m) { on_written(self, m); },
      [=](const caf::io::connection_closed_msg& m) { drop(self, m.handle, "closed by the other side"); },
      [=](const caf::io::acceptor_closed_msg&) { log::warn("peer", "the quorum port closed"); },
      [=](std::vector<zab::message>& ms) {
        std::vector<connection_handle> written;
        for (auto& m : ms) {
          auto it = self->state.by_peer.find(m.to);
          if (it == self->state.by_peer.end())
            continue;
          auto hdl = it->second; // a peer that does not keep up is dropped by write(), and `it` with it
          write(self, hdl, protocol::peer_frame{std::move(m)}, false);
          if (std::find(written.begin(), written.end(), hdl) == written.end())
            written.push_back(hdl);
        }
        for (auto hdl : written)
          if (self->state.links.count(hdl) != 0) // a write that overflowed dropped its connection
            self->flush(hdl);
      },
      [=](atoms::peer_frame, server_id to, protocol::peer_frame& f) {
        auto it = self->state.by_peer.find(to);
        if (it != self->state.by_peer.end())
          write(self, it->second, f);
      },
      [=](atoms::close, server_id id) {
        auto it = self->state.by_peer.find(id);
        if (it != self->state.by_peer.end())
          drop(self, it->second, "closed by this server");
      },
  };
}

} // namespace

transport_actor spawn_peer_transport(caf::actor_system& sys, transport_options opts, peer_events owner) {
  return sys.middleman().spawn_broker(transport, std::move(opts), std::move(owner));
}

} // namespace corral::server
