// The transport between the servers of an ensemble: one TCP connection per server pair, Cap'n Proto
// frames (schema/peer.capnp). The server with the higher id connects (on a thread of its own, since
// connect() blocks) and reconnects with backoff; the lower id accepts. A new connection carries
// nothing but the handshake (security/peer_handshake.hpp) until both sides have admitted each other:
// only a server named in the configuration, connecting from its configured address, and proving it
// knows the shared secret (if one is set) is ever `connected`; anything else is refused and logged.
// A connection is FIFO; when it breaks, both owners hear `gone`, and whatever was on it is lost,
// which is what the ZAB core expects.
//
// Its interface is transport_actor, and what it tells its owner peer_events (interfaces.hpp):
// to the owner, (atoms::connected, server_id), (atoms::gone, server_id), zab::message, and
// (atoms::peer_frame, server_id from, protocol::peer_frame) for the other frames (forwarded
// requests, session traffic, sync); from the owner, zab::message (sent on the connection to m.to;
// dropped if there is none), (atoms::peer_frame, server_id to, protocol::peer_frame), and
// (atoms::close, server_id) (drop that connection; the initiator reconnects).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/server/interfaces.hpp"
#include "security/tls.hpp"

namespace corral::server {

struct transport_options {
  zab::server_id self = 0;
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;                        // 0: any free port
  size_t max_frame_bytes = 1ull << 30;             // a SYNC can carry a whole snapshot
  size_t max_unsent_bytes = 64u << 20;             // corral.peer-max-unsent-bytes: a peer this far behind ...
  std::chrono::milliseconds slow_peer_grace{2000}; // ... for this long is dropped
  // Shared by every server of the ensemble (corral.peer-secret-file); empty: peers are admitted by
  // the configuration alone (see security/peer_handshake.hpp).
  std::string secret;
  std::chrono::milliseconds handshake_timeout{10000};
  // Mutual TLS between servers (corral.quorum-tls): the accepting side's context (it requires the
  // peer's certificate) and the connecting side's. Both null: plain TCP. A peer's certificate must
  // chain to the CA and name the address corral.ensemble gives for its server id.
  std::shared_ptr<security::tls_context> tls_server, tls_client;
};

// Spawns the transport and binds its port; the answer to (atoms::open) is the bound port. Then send
// it (atoms::connect, std::vector<peer_address>) with the ensemble to start connecting.
transport_actor spawn_peer_transport(caf::actor_system& sys, transport_options opts, peer_events owner);

} // namespace corral::server
