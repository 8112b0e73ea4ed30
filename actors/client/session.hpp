// The client library for actor code: a `session` actor that holds one Corral session across
// connections. It knows the server list, connects to one (asynchronously), reconnects with backoff
// to the next when the connection drops, resumes the session with its id and password, re-sends
// auth and re-arms watches (with the last zxid it saw, so the server fires what was missed), pings at
// a third of the timeout, and publishes its connection state to subscribers. Requests made before
// the first connection wait for it; requests made while reconnecting fail with ConnectionLoss at once
// (as ZooKeeper's clients do), and so do requests in flight when a connection drops. It is a plain
// scheduled actor: it writes its socket from its own turn and a thread of the connection reads it
// (actors/client/connection.hpp), so a request costs no hop through CAF's I/O thread.
//
// Messages it understands (send or request them):
//   request_body                          -> response   (a watch flag delivers events to the sender)
//   (atoms::watch, request_body, actor t) -> response   (events of this watch go to t)
//   (atoms::watch, request_body, watch_callback f) -> response (f is called with each event)
//   (atoms::subscribe, actor)                           (t receives connection_state values)
//   (atoms::close)                        -> response   (ends the session; ephemerals go)
//   (atoms::timeout)                      -> int32_t    (the granted session timeout, ms)
//   (caf::get_atom)                       -> (int64_t id, int64_t last zxid)   (id 0: not connected yet)
// Watch events arrive as `watch_event`, one watch actor per armed watch delivering them. Order: an
// event reaches its actor (or its callback has run) before the session hands out any response that
// arrived after it, so an app sees the event before the data that reflects the change.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "actors/messages.hpp"
#include "security/tls.hpp"

namespace corral::client {

enum class connection_state { connected, suspended, reconnected, expired, closed };
const char* to_string(connection_state s);

using watch_callback = std::function<void(const watch_event&)>;

struct session_options {
  std::vector<std::string> servers{"127.0.0.1:2281"}; // host:port
  int32_t session_timeout_ms = 10000;
  int32_t connect_timeout_ms = 2000; // per attempt
  size_t max_frame_bytes = 64 << 20; // responses can be large (getChildren of a big node)
  size_t max_queued = 10000;         // requests held while (re)connecting
  // After the session expires, open a new one (as Curator's client does): subscribers see
  // `expired` and later `connected`; requests in between fail with ConnectionLoss. Ephemerals and
  // watches of the old session are gone; recipes that hold nodes (locks, latches) stop at
  // `expired` as without this, while persistent nodes, group members and caches carry on.
  bool renew_after_expiry = false;
  // TLS to the servers' corral.secure-port (null: plain TCP). The server's certificate must chain
  // to the context's CA and name the host it was reached at (as ZooKeeper's hostname verification).
  std::shared_ptr<security::tls_context> tls;
};

caf::actor spawn_session(caf::actor_system& sys, session_options opts);

// An actor that calls `fn` for every watch_event and connection_state it receives.
struct sink_callbacks {
  std::function<void(const watch_event&)> on_event;
  std::function<void(connection_state)> on_state;
};
caf::actor spawn_sink(caf::actor_system& sys, sink_callbacks callbacks);

} // namespace corral::client

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::client::connection_state)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(corral::client::watch_callback)
