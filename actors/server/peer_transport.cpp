#include "actors/server/peer_transport.hpp"

#include <map>

#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/native_socket.hpp>

#include "actors/logging.hpp"
#include "protocol/frame.hpp"
#include "protocol/peer_codec.hpp"

namespace corral::server {

namespace {

using caf::io::connection_handle;
using zab::server_id;

struct link {
  server_id peer = 0; // 0 until the Hello arrives (accepted connections)
  std::unique_ptr<protocol::frame_reader> reader;
};

struct transport_state {
  transport_options opts;
  caf::actor owner;
  std::vector<peer_address> peers;
  std::map<connection_handle, link> links;
  std::map<server_id, connection_handle> by_peer;
  std::map<server_id, int> failures;      // consecutive failed connects, for backoff
  std::map<server_id, uint64_t> attempts; // stale connect results are ignored
  static inline const char* name = "peer_transport";
};

using self_ptr = caf::io::stateful_broker<transport_state>*;

void schedule_connect(self_ptr self, server_id id);

void drop(self_ptr self, connection_handle hdl, const std::string& why) {
  auto it = self->state.links.find(hdl);
  if (it == self->state.links.end())
    return;
  auto peer = it->second.peer;
  self->state.links.erase(it);
  self->close(hdl);
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

void write(self_ptr self, connection_handle hdl, const protocol::peer_frame& f) {
  auto& buf = self->wr_buf(hdl);
  protocol::encode(f, buf);
  if (buf.size() > self->state.opts.max_unsent_bytes) {
    drop(self, hdl, "it does not read fast enough");
    return;
  }
  self->flush(hdl);
}

void on_data(self_ptr self, caf::io::new_data_msg& m) {
  auto it = self->state.links.find(m.handle);
  if (it == self->state.links.end())
    return;
  auto& l = it->second;
  l.reader->feed(m.buf.data(), m.buf.size());
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
    if (auto* h = std::get_if<protocol::peer_hello>(&*f)) {
      if (l.peer != 0 || h->server <= self->state.opts.self || h->version != protocol::peer_protocol_version)
        return drop(self, m.handle, "unexpected Hello from server " + std::to_string(h->server));
      attach(self, m.handle, h->server);
      it = self->state.links.find(m.handle);
      continue;
    }
    if (l.peer == 0)
      return drop(self, m.handle, "a frame before Hello");
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
  auto me = caf::actor_cast<caf::actor>(self);
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
  st.links[hdl].reader = std::make_unique<protocol::frame_reader>(st.opts.max_frame_bytes);
  self->configure_read(hdl, caf::io::receive_policy::at_most(256 * 1024));
  write(self, hdl, protocol::peer_hello{st.opts.self, protocol::peer_protocol_version});
  attach(self, hdl, id);
}

caf::behavior transport(caf::io::stateful_broker<transport_state>* self, transport_options opts, caf::actor owner) {
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
        for (auto& p : self->state.peers)
          if (p.id < self->state.opts.self)
            start_connect(self, p.id);
      },
      [=](atoms::retry, server_id id) { start_connect(self, id); },
      [=](atoms::connected, server_id id, uint64_t attempt, int64_t fd) { on_connected_socket(self, id, attempt, fd); },
      [=](const caf::io::new_connection_msg& m) {
        self->state.links[m.handle].reader = std::make_unique<protocol::frame_reader>(self->state.opts.max_frame_bytes);
        self->configure_read(m.handle, caf::io::receive_policy::at_most(256 * 1024));
      },
      [=](caf::io::new_data_msg& m) { on_data(self, m); },
      [=](const caf::io::connection_closed_msg& m) { drop(self, m.handle, "closed by the other side"); },
      [=](const caf::io::acceptor_closed_msg&) { log::warn("peer", "the quorum port closed"); },
      [=](zab::message& m) {
        auto it = self->state.by_peer.find(m.to);
        if (it != self->state.by_peer.end())
          write(self, it->second, protocol::peer_frame{std::move(m)});
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

caf::actor spawn_peer_transport(caf::actor_system& sys, transport_options opts, caf::actor owner) {
  return sys.middleman().spawn_broker(transport, std::move(opts), std::move(owner));
}

} // namespace corral::server
