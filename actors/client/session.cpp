#include "actors/client/session.hpp"

#include "actors/client/connection.hpp"

#include <algorithm>
#include <deque>
#include <random>
#include <map>

#include <caf/io/network/default_multiplexer.hpp>
#include <caf/io/network/native_socket.hpp>

#include "core/path.hpp"

#include "actors/logging.hpp"
#include "protocol/frame.hpp"

namespace corral::client {

const char* to_string(connection_state s) {
  switch (s) {
    case connection_state::connected: return "CONNECTED";
    case connection_state::suspended: return "SUSPENDED";
    case connection_state::reconnected: return "RECONNECTED";
    case connection_state::expired: return "EXPIRED";
    case connection_state::closed: return "CLOSED";
  }
  return "?";
}

namespace {

using namespace std::chrono;

enum class watch_kind { data, exist, child, persistent, recursive };

// One request on its way: what to answer and which watch to arm when the answer comes.
// Where a watch's events go: an actor, or a callback run by the watch actor itself.
struct watch_target {
  caf::actor actor;
  watch_callback callback;
  explicit operator bool() const { return actor || callback; }
};

struct pending {
  request req;
  caf::response_promise rp;
  watch_target watch_to; // empty: no watch
  bool internal = false; // ping, auth replay, setWatches: nobody waits for the answer
  steady_clock::time_point queued_at;
};

struct registered_watch {
  watch_kind kind;
  caf::actor actor;
};

// The connection's thread (actors/client/connection.hpp) sends these to the session.
using received = caf::atom_constant<caf::atom("received")>; // (received, generation, bytes)
using hangup = caf::atom_constant<caf::atom("hangup")>;     // (hangup, generation, why)

enum class phase { connecting, handshaking, connected, closing, expired, closed };

struct state {
  session_options opts;
  size_t next_server = 0;
  uint64_t generation = 0; // bumps on every connection attempt; stale timers and connects check it
  phase ph = phase::connecting;
  std::shared_ptr<connection> conn; // null: not connected
  uint64_t conn_generation = 0;     // the generation conn belongs to; its bytes carry it
  std::vector<char> out;            // frames of this turn, sent by one `write` behind them
  bool flush_queued = false;
  std::unique_ptr<protocol::frame_reader> reader;
  std::unique_ptr<security::tls_stream> tls; // with opts.tls: everything goes through it
  std::string host;                          // the server's host, for its certificate's name
  bool host_checked = false;
  session_id id = 0;
  std::string password;
  int32_t timeout_ms = 0;
  zxid_t last_zxid = 0;
  int32_t next_xid = 1;
  bool ever_connected = false;
  bool new_session = false; // renewing after expiry: the next handshake is a new session
  int failures = 0;
  steady_clock::time_point last_recv;
  // Sent and not answered, in the order sent: the server answers a session's requests in that order
  // (as ZooKeeper does), so an answer is the front's; a deque, because a map's node per request cost
  // an allocation and a rebalance each way.
  std::deque<pending> in_flight;
  std::deque<pending> queued;
  std::vector<caf::actor> subscribers;
  std::multimap<std::string, registered_watch> watches;
  std::vector<auth_request> auths;
  int outstanding_deliveries = 0;            // watch actors that have not confirmed an event yet
  std::deque<protocol::server_message> held; // frames that arrived after such an event
  static inline const char* name = "corral_session";
  state() = default;
  state(const state&) = delete;
  ~state() {
    if (conn)
      conn->close(); // the connection's thread ends with it
  }
};

using self_ptr = caf::stateful_actor<state>*;

void publish(self_ptr self, connection_state s) {
  log::debug("client", "session ", log::hex(self->state.id), " is ", to_string(s));
  for (auto& sub : self->state.subscribers)
    self->send(sub, s);
}

// Frames written in one turn go out in one send: the first asks for a `write` message, which
// queues behind every request already in the mailbox.
void queue_flush(self_ptr self) {
  auto& st = self->state;
  if (st.flush_queued || st.out.empty())
    return;
  st.flush_queued = true;
  self->send(self, atoms::write::value);
}

void flush(self_ptr self) {
  auto& st = self->state;
  st.flush_queued = false;
  if (st.conn && !st.out.empty())
    st.conn->write(st.out.data(), st.out.size()); // a failure comes back as the connection's `closed`
  st.out.clear();
}

template <class Message> // protocol::client_message, or a request (encoded without a copy into the variant)
void write(self_ptr self, const Message& msg) {
  auto& st = self->state;
  if (!st.conn)
    return;
  if (st.tls) {
    std::vector<char> plain;
    protocol::encode(msg, plain);
    st.tls->send(plain.data(), plain.size());
    st.tls->take_output(st.out);
  } else {
    protocol::encode(msg, st.out);
  }
  queue_flush(self);
}

void close_connection(self_ptr self) {
  auto& st = self->state;
  if (!st.conn)
    return;
  flush(self); // a close request written this turn still goes out
  st.conn->close();
  st.conn.reset();
}

void send_now(self_ptr self, pending p) {
  auto& st = self->state;
  p.req.xid = st.next_xid++;
  if (st.next_xid <= 0)
    st.next_xid = 1;
  write(self, p.req);
  st.in_flight.push_back(std::move(p));
}

response error_response(int32_t xid, error_code code, std::string detail) {
  response r;
  r.xid = xid;
  r.err = code;
  r.detail = std::move(detail);
  return r;
}

void fail_all(self_ptr self, error_code code, const std::string& why, bool include_queued) {
  auto& st = self->state;
  for (auto& p : st.in_flight)
    if (!p.internal)
      p.rp.deliver(error_response(p.req.xid, code, why));
  st.in_flight.clear();
  if (include_queued) {
    for (auto& p : st.queued)
      if (!p.internal)
        p.rp.deliver(error_response(0, code, why));
    st.queued.clear();
  }
}

// ---- watches ---------------------------------------------------------------------------------

// One armed watch. It confirms each delivery, so the session can keep later responses back until
// the event is where it belongs.
caf::behavior watch_actor(caf::event_based_actor* self, watch_target target, bool persistent) {
  return {
      [=](atoms::fire, watch_event& e) -> bool {
        if (target.callback)
          target.callback(e);
        else
          self->send(target.actor, e);
        bool last = !persistent || e.state == keeper_state::expired || e.type == event_type::data_watch_removed ||
                    e.type == event_type::child_watch_removed || e.type == event_type::persistent_watch_removed;
        if (last)
          self->quit();
        return true;
      },
  };
}

const std::string* watched_path(const request_body& body, watch_kind& kind) {
  if (auto* x = std::get_if<exists_request>(&body); x && x->watch) {
    kind = watch_kind::exist;
    return &x->path;
  }
  if (auto* x = std::get_if<get_data_request>(&body); x && x->watch) {
    kind = watch_kind::data;
    return &x->path;
  }
  if (auto* x = std::get_if<get_children_request>(&body); x && x->watch) {
    kind = watch_kind::child;
    return &x->path;
  }
  if (auto* x = std::get_if<add_watch_request>(&body)) {
    kind = x->mode == add_watch_mode::persistent_recursive ? watch_kind::recursive : watch_kind::persistent;
    return &x->path;
  }
  return nullptr;
}

void arm_watch(self_ptr self, const pending& p, const response& resp) {
  if (!p.watch_to)
    return;
  watch_kind kind;
  auto* path = watched_path(p.req.body, kind);
  if (path == nullptr)
    return;
  bool armed = resp.err == error_code::ok || (kind == watch_kind::exist && resp.err == error_code::no_node);
  if (!armed)
    return;
  bool persistent = kind == watch_kind::persistent || kind == watch_kind::recursive;
  auto w = self->spawn(watch_actor, p.watch_to, persistent);
  self->state.watches.emplace(*path, registered_watch{kind, w});
}

bool kind_sees(watch_kind k, event_type t, bool same_path) {
  switch (k) {
    case watch_kind::data:
    case watch_kind::exist:
      return same_path &&
             (t == event_type::node_created || t == event_type::node_data_changed || t == event_type::node_deleted);
    case watch_kind::child:
      return same_path && (t == event_type::node_children_changed || t == event_type::node_deleted);
    case watch_kind::persistent: return same_path;
    case watch_kind::recursive: return t != event_type::node_children_changed;
  }
  return false;
}

void process_held(self_ptr self);

// Hands an event to a watch actor and counts it until the actor confirms.
void fire(self_ptr self, const caf::actor& w, const watch_event& e) {
  ++self->state.outstanding_deliveries;
  auto done = [=] {
    if (--self->state.outstanding_deliveries == 0)
      process_held(self);
  };
  self->request(w, caf::infinite, atoms::fire::value, e).then([=](bool) { done(); }, [=](caf::error&) { done(); });
}

void route_event(self_ptr self, const watch_event& e) {
  auto& ws = self->state.watches;
  auto visit_path = [&](const std::string& path, bool same) {
    auto range = ws.equal_range(path);
    for (auto it = range.first; it != range.second;) {
      if (!kind_sees(it->second.kind, e.type, same) || (!same && it->second.kind != watch_kind::recursive)) {
        ++it;
        continue;
      }
      fire(self, it->second.actor, e);
      bool persistent = it->second.kind == watch_kind::persistent || it->second.kind == watch_kind::recursive;
      it = persistent ? std::next(it) : ws.erase(it);
    }
  };
  visit_path(e.path, true);
  for (auto p = std::string(parent_of(e.path)); !p.empty(); p = std::string(parent_of(p)))
    visit_path(p, false);
}

void drop_local_watches(self_ptr self, const remove_watches_request& r) {
  auto& ws = self->state.watches;
  auto range = ws.equal_range(r.path);
  for (auto it = range.first; it != range.second;) {
    auto k = it->second.kind;
    bool match = r.type == watcher_type::any ||
                 (r.type == watcher_type::data && (k == watch_kind::data || k == watch_kind::exist)) ||
                 (r.type == watcher_type::children && k == watch_kind::child) ||
                 (r.type == watcher_type::persistent && k == watch_kind::persistent) ||
                 (r.type == watcher_type::persistent_recursive && k == watch_kind::recursive);
    if (!match) {
      ++it;
      continue;
    }
    auto type = k == watch_kind::child                                        ? event_type::child_watch_removed
                : (k == watch_kind::persistent || k == watch_kind::recursive) ? event_type::persistent_watch_removed
                                                                              : event_type::data_watch_removed;
    fire(self, it->second.actor, watch_event{type, keeper_state::sync_connected, r.path, 0});
    it = ws.erase(it);
  }
}

// The setWatches request that re-arms every watch after a reconnect.
std::optional<set_watches_request> rearm_request(const state& st) {
  if (st.watches.empty())
    return std::nullopt;
  set_watches_request sw;
  sw.relative_zxid = st.last_zxid;
  for (auto& [path, w] : st.watches) {
    auto& list = w.kind == watch_kind::data         ? sw.data
                 : w.kind == watch_kind::exist      ? sw.exist
                 : w.kind == watch_kind::child      ? sw.child
                 : w.kind == watch_kind::persistent ? sw.persistent
                                                    : sw.persistent_recursive;
    if (list.empty() || list.back() != path)
      list.push_back(path);
  }
  return sw;
}

// ---- connection management -------------------------------------------------------------------

void schedule_connect(self_ptr self, milliseconds delay);

// How long to wait before the next connection attempt after `failures` failed ones in a row. The
// servers are tried in turn with no pause (one that is down or not serving answers at once); after a
// whole round failed, pause 25 ms (plus up to 25 ms of jitter, so that many clients spread out) for
// the first 8 rounds, which covers an election (about 100-300 ms), then 50 ms doubling to 2 s.
milliseconds reconnect_delay(int failures, size_t servers) {
  static thread_local std::minstd_rand jitter{std::random_device{}()};
  auto n = static_cast<int>(std::max<size_t>(servers, 1));
  if (failures % n != 0)
    return milliseconds(0);
  int rounds = failures / n;
  int base = rounds <= 8 ? 25 : std::min(2000, 50 << std::min(rounds - 9, 6));
  return milliseconds(base + static_cast<int>(jitter() % 26));
}

void drop_connection(self_ptr self, const std::string& why) {
  auto& st = self->state;
  close_connection(self);
  bool was_connected = st.ph == phase::connected;
  if (st.ph == phase::closing) {
    st.ph = phase::closed;
    fail_all(self, error_code::connection_loss, "connection lost while closing", true);
    publish(self, connection_state::closed);
    self->quit();
    return;
  }
  if (st.ph == phase::expired || st.ph == phase::closed)
    return;
  st.ph = phase::connecting;
  fail_all(self, error_code::connection_loss, why, false);
  if (was_connected) {
    log::info("client", "session ", log::hex(st.id), ": connection lost (", why, "), reconnecting");
    publish(self, connection_state::suspended);
  }
  ++st.failures;
  schedule_connect(self, was_connected ? milliseconds(0) : reconnect_delay(st.failures, st.opts.servers.size()));
}

void expire(self_ptr self, const std::string& why) {
  auto& st = self->state;
  log::info("client", "session ", log::hex(st.id), " expired: ", why);
  close_connection(self);
  st.ph = phase::expired;
  fail_all(self, error_code::session_expired, why, true);
  for (auto& [path, w] : st.watches)
    fire(self, w.actor, watch_event{event_type::none, keeper_state::expired, "", 0});
  st.watches.clear();
  publish(self, connection_state::expired);
  if (st.opts.renew_after_expiry) {
    log::info("client", "session ", log::hex(st.id), " expired; opening a new session (renew_after_expiry)");
    st.id = 0;
    st.password.clear();
    st.timeout_ms = 0;
    st.new_session = true;
    st.ph = phase::connecting;
    st.failures = 0;
    schedule_connect(self, milliseconds(0));
  }
}

void schedule_connect(self_ptr self, milliseconds delay) {
  auto gen = ++self->state.generation;
  self->delayed_send(self, delay, atoms::retry::value, gen);
}

void start_connect(self_ptr self) {
  auto& st = self->state;
  if (st.opts.servers.empty())
    return;
  auto target = st.opts.servers[st.next_server++ % st.opts.servers.size()];
  auto colon = target.rfind(':');
  auto host = target.substr(0, colon);
  uint16_t port = colon == std::string::npos ? 2281 : static_cast<uint16_t>(std::stoi(target.substr(colon + 1)));
  auto gen = st.generation;
  caf::actor me = caf::actor_cast<caf::actor>(self);
  // connect() blocks: do it on a thread of its own, never on the multiplexer.
  self->system().spawn<caf::detached>([me, host, port, gen, target]() {
    auto fd = caf::io::network::new_tcp_connection(host, port);
    if (fd)
      caf::anon_send(me, atoms::connected::value, gen, static_cast<int64_t>(*fd), target);
    else
      caf::anon_send(me, atoms::connected::value, gen, int64_t{-1}, target);
  });
  self->delayed_send(self, milliseconds(st.opts.connect_timeout_ms), atoms::tick::value, gen, true);
}

// The connection's callbacks hold the session weakly: an app that drops its last handle to the
// session ends it (and with it the connection), the connection's thread does not keep it alive.
std::shared_ptr<connection> open_connection(self_ptr self, int fd, uint64_t gen) {
  caf::weak_actor_ptr weak{self->ctrl()};
  connection::callbacks cb;
  cb.data = [weak, gen](std::vector<char>&& bytes) {
    if (auto strong = weak.lock())
      caf::anon_send(caf::actor_cast<caf::actor>(strong), received::value, gen, std::move(bytes));
  };
  cb.closed = [weak, gen](const std::string& why) {
    if (auto strong = weak.lock())
      caf::anon_send(caf::actor_cast<caf::actor>(strong), hangup::value, gen, why);
  };
  return connection::start(fd, std::move(cb));
}

void on_connected_socket(self_ptr self, uint64_t gen, int64_t fd, const std::string& target) {
  auto& st = self->state;
  if (gen != st.generation || st.ph != phase::connecting) {
    if (fd >= 0)
      caf::io::network::close_socket(static_cast<caf::io::network::native_socket>(fd));
    return;
  }
  if (fd < 0) {
    log::debug("client", "cannot connect to ", target);
    drop_connection(self, "cannot connect to " + target);
    return;
  }
  st.conn = open_connection(self, static_cast<int>(fd), gen);
  if (!st.conn) {
    drop_connection(self, "cannot start a connection to " + target);
    return;
  }
  st.conn_generation = gen;
  st.out.clear();
  st.reader = std::make_unique<protocol::frame_reader>(st.opts.max_frame_bytes);
  st.tls.reset();
  st.host = target.substr(0, target.rfind(':'));
  st.host_checked = false;
  if (st.opts.tls) {
    st.tls = std::make_unique<security::tls_stream>(st.opts.tls);
    st.tls->take_output(st.out); // the ClientHello; the Connect waits for the handshake
  }
  st.ph = phase::handshaking;
  st.last_recv = steady_clock::now();
  protocol::connect_request req;
  req.last_zxid_seen = st.last_zxid;
  req.timeout_ms = st.timeout_ms != 0 ? st.timeout_ms : st.opts.session_timeout_ms;
  req.session = st.id;
  req.password = st.password;
  write(self, protocol::client_message{req});
}

void on_handshake(self_ptr self, protocol::connect_response& resp) {
  auto& st = self->state;
  if (resp.err == error_code::session_expired) {
    expire(self, resp.detail);
    return;
  }
  if (resp.err != error_code::ok) {
    drop_connection(self, resp.detail);
    return;
  }
  bool resumed = st.ever_connected && !st.new_session;
  st.new_session = false;
  st.id = resp.session;
  st.password = resp.password;
  st.timeout_ms = resp.timeout_ms;
  st.ph = phase::connected;
  st.failures = 0;
  st.ever_connected = true;
  // Replay what the server forgot with the old connection, before anything queued.
  for (auto& a : st.auths)
    send_now(self, pending{request{0, a}, {}, {}, true, {}});
  if (auto sw = rearm_request(st))
    send_now(self, pending{request{0, std::move(*sw)}, {}, {}, true, {}});
  while (!st.queued.empty()) {
    send_now(self, std::move(st.queued.front()));
    st.queued.pop_front();
  }
  publish(self, resumed ? connection_state::reconnected : connection_state::connected);
  auto gen = st.generation;
  self->delayed_send(self, milliseconds(std::max(1, st.timeout_ms / 3)), atoms::tick::value, gen, false);
}

void on_response(self_ptr self, response& resp) {
  auto& st = self->state;
  if (resp.zxid > st.last_zxid)
    st.last_zxid = resp.zxid;
  auto& q = st.in_flight;
  auto it = !q.empty() && q.front().req.xid == resp.xid
                ? q.begin()
                : std::find_if(q.begin(), q.end(), [&](const pending& x) { return x.req.xid == resp.xid; });
  if (it == q.end())
    return;
  auto p = std::move(*it);
  q.erase(it);
  if (resp.err == error_code::session_expired) {
    if (!p.internal)
      p.rp.deliver(resp);
    expire(self, resp.detail.empty() ? "the server says the session expired" : resp.detail);
    return;
  }
  arm_watch(self, p, resp);
  if (auto* rw = std::get_if<remove_watches_request>(&p.req.body); rw && resp.err == error_code::ok)
    drop_local_watches(self, *rw);
  if (std::holds_alternative<auth_request>(p.req.body) && resp.err == error_code::ok && !p.internal)
    st.auths.push_back(std::get<auth_request>(p.req.body));
  if (std::holds_alternative<close_request>(p.req.body)) {
    st.ph = phase::closed;
    fail_all(self, error_code::session_expired, "session closed", true);
    publish(self, connection_state::closed);
    close_connection(self);
    p.rp.deliver(resp);
    self->quit();
    return;
  }
  if (!p.internal)
    p.rp.deliver(std::move(resp));
}

void handle_message(self_ptr self, protocol::server_message& msg) {
  if (auto* c = std::get_if<protocol::connect_response>(&msg)) {
    on_handshake(self, *c);
  } else if (auto* r = std::get_if<response>(&msg)) {
    on_response(self, *r);
  } else {
    auto& e = std::get<watch_event>(msg);
    if (e.state == keeper_state::expired)
      expire(self, "the server expired the session");
    else
      route_event(self, e);
  }
}

// Frames are handled in arrival order; while a watch actor has not confirmed an event, later frames
// wait, so no response overtakes the event before it.
void dispatch(self_ptr self, protocol::server_message msg) {
  auto& st = self->state;
  if (st.outstanding_deliveries > 0 || !st.held.empty()) {
    st.held.push_back(std::move(msg));
    return;
  }
  handle_message(self, msg);
}

void process_held(self_ptr self) {
  auto& st = self->state;
  while (st.outstanding_deliveries == 0 && !st.held.empty()) {
    auto msg = std::move(st.held.front());
    st.held.pop_front();
    handle_message(self, msg);
  }
}

void on_data(self_ptr self, uint64_t gen, const std::vector<char>& bytes) {
  auto& st = self->state;
  if (!st.conn || gen != st.conn_generation)
    return;
  st.last_recv = steady_clock::now();
  if (st.tls) {
    std::string plain;
    bool ok = st.tls->receive(bytes.data(), bytes.size(), plain, st.out);
    queue_flush(self);
    if (!ok) {
      log::warn("client", "TLS with ", st.host, " failed: ", st.tls->reason());
      drop_connection(self, "TLS failed: " + st.tls->reason());
      return;
    }
    if (st.tls->handshake_done() && !st.host_checked) {
      st.host_checked = true;
      if (!st.tls->peer_certificate_names(st.host)) {
        log::warn("client", "the server's TLS certificate does not name ", st.host, "; not using it");
        drop_connection(self, "the server's certificate does not name " + st.host);
        return;
      }
    }
    st.reader->feed(plain.data(), plain.size());
  } else {
    st.reader->feed(bytes.data(), bytes.size());
  }
  for (;;) {
    kj::ArrayPtr<const capnp::word> frame;
    auto status = st.reader->next(frame);
    if (status == protocol::frame_reader::status::need_more)
      return;
    if (status != protocol::frame_reader::status::frame) {
      drop_connection(self, "bad frame from server: " + st.reader->reason());
      return;
    }
    auto msg = protocol::decode_server(frame);
    if (!msg) {
      drop_connection(self, "bad frame from server: " + msg.error().detail);
      return;
    }
    dispatch(self, std::move(*msg));
    if (!st.conn || st.ph == phase::expired || st.ph == phase::closed)
      return;
  }
}

void submit(self_ptr self, request_body body, watch_target target) {
  auto& st = self->state;
  pending p{request{0, std::move(body)}, self->make_response_promise(), std::move(target), false, steady_clock::now()};
  switch (st.ph) {
    case phase::connected: send_now(self, std::move(p)); return;
    case phase::expired: p.rp.deliver(error_response(0, error_code::session_expired, "session expired")); return;
    case phase::closed:
    case phase::closing: p.rp.deliver(error_response(0, error_code::session_expired, "session closed")); return;
    default:
      if (st.ever_connected) {
        // As ZooKeeper's clients do: while disconnected, fail at once; the caller decides to retry.
        p.rp.deliver(error_response(0, error_code::connection_loss, "not connected (reconnecting)"));
        return;
      }
      if (st.queued.size() >= st.opts.max_queued) {
        p.rp.deliver(error_response(0, error_code::connection_loss, "not connected and too many requests queued"));
        return;
      }
      st.queued.push_back(std::move(p));
  }
}

void on_timer(self_ptr self, uint64_t gen, bool connect_timer) {
  auto& st = self->state;
  if (gen != st.generation)
    return;
  auto now = steady_clock::now();
  // Requests queued while disconnected give up after a session timeout.
  auto limit = milliseconds(st.timeout_ms != 0 ? st.timeout_ms : st.opts.session_timeout_ms);
  while (!st.queued.empty() && now - st.queued.front().queued_at > limit) {
    st.queued.front().rp.deliver(error_response(0, error_code::connection_loss, "not connected"));
    st.queued.pop_front();
  }
  if (connect_timer) {
    if (st.ph == phase::connecting || st.ph == phase::handshaking)
      drop_connection(self, "connect timed out");
    return;
  }
  if (st.ph != phase::connected)
    return;
  if (now - st.last_recv > limit * 2 / 3) {
    drop_connection(self, "no answer from the server for 2/3 of the session timeout");
    return;
  }
  send_now(self, pending{request{0, ping_request{}}, {}, {}, true, now});
  self->delayed_send(self, milliseconds(std::max(1, st.timeout_ms / 3)), atoms::tick::value, gen, false);
}

caf::behavior session_impl(self_ptr self, session_options opts) {
  self->state.opts = std::move(opts);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& subs = self->state.subscribers;
    subs.erase(std::remove_if(subs.begin(), subs.end(), [&](const caf::actor& a) { return a.address() == dm.source; }),
               subs.end());
  });
  schedule_connect(self, milliseconds(0));
  return {
      [=](atoms::retry, uint64_t gen) {
        if (gen == self->state.generation && self->state.ph == phase::connecting)
          start_connect(self);
      },
      [=](atoms::connected, uint64_t gen, int64_t fd, std::string& target) {
        on_connected_socket(self, gen, fd, target);
      },
      [=](atoms::tick, uint64_t gen, bool connect_timer) { on_timer(self, gen, connect_timer); },
      [=](received, uint64_t gen, const std::vector<char>& bytes) { on_data(self, gen, bytes); },
      [=](hangup, uint64_t gen, const std::string& why) {
        if (self->state.conn && gen == self->state.conn_generation)
          drop_connection(self, why);
      },
      [=](atoms::write) { flush(self); },
      [=](request_body& body) -> caf::result<response> {
        submit(self, std::move(body), watch_target{caf::actor_cast<caf::actor>(self->current_sender()), {}});
        return caf::delegated<response>{};
      },
      [=](atoms::watch, request_body& body, caf::actor& target) -> caf::result<response> {
        submit(self, std::move(body), watch_target{std::move(target), {}});
        return caf::delegated<response>{};
      },
      [=](atoms::watch, request_body& body, watch_callback& fn) -> caf::result<response> {
        submit(self, std::move(body), watch_target{{}, std::move(fn)});
        return caf::delegated<response>{};
      },
      [=](caf::get_atom) -> caf::result<int64_t, int64_t> {
        return {self->state.id, self->state.last_zxid};
      },
      // The session timeout the server granted (or the one asked for, before the first connect).
      [=](atoms::timeout) -> int32_t {
        return self->state.timeout_ms != 0 ? self->state.timeout_ms : self->state.opts.session_timeout_ms;
      },
      [=](atoms::subscribe, caf::actor& sub) {
        self->monitor(sub);
        self->state.subscribers.push_back(sub);
        if (self->state.ph == phase::connected)
          self->send(sub, connection_state::connected);
      },
      [=](atoms::close) -> caf::result<response> {
        auto& st = self->state;
        if (st.ph == phase::connected) {
          auto rp = self->make_response_promise();
          pending p{request{0, close_request{}}, rp, {}, false, steady_clock::now()};
          send_now(self, std::move(p));
          st.ph = phase::closing;
          return caf::delegated<response>{};
        }
        st.ph = phase::closed;
        fail_all(self, error_code::session_expired, "session closed", true);
        publish(self, connection_state::closed);
        close_connection(self);
        self->quit();
        return error_response(0, error_code::ok, "");
      },
  };
}

caf::behavior sink_impl(caf::event_based_actor* self, sink_callbacks cb) {
  return {
      [=](watch_event& e) {
        if (cb.on_event)
          cb.on_event(e);
      },
      [=](connection_state s) {
        if (cb.on_state)
          cb.on_state(s);
      },
  };
}

} // namespace

caf::actor spawn_session(caf::actor_system& sys, session_options opts) {
  return sys.spawn(session_impl, std::move(opts));
}

caf::actor spawn_sink(caf::actor_system& sys, sink_callbacks callbacks) {
  return sys.spawn(sink_impl, std::move(callbacks));
}

} // namespace corral::client
