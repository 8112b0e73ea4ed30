// How two servers of an ensemble admit each other on a new quorum connection. Plain C++ (OpenSSL's
// HMAC and random numbers only): no sockets, no CAF, no clock. The peer transport makes one per
// connection, feeds it the handshake frames that arrive, sends what it returns, and treats the
// connection as a peer's only once it says `admitted`.
//
// The exchange (frames of schema/peer.capnp):
//   initiator (the higher id) -> hello {its id, protocol version, nonce_i}
//   acceptor admits only a server the configuration names, connecting from an address configured
//   for it, with an id above its own; it answers  challenge {its id, nonce_a, proof_a}
//   initiator checks it reached the server it dialled and proof_a  ->  proof {proof_i}; admitted
//   acceptor checks proof_i; admitted
// With a shared secret (corral.peer-secret-file) the proofs are HMAC-SHA256(secret, label, both ids,
// both nonces): the secret never crosses the wire, fresh nonces on each side defeat replay, and the
// role label keeps a proof from being reflected back at its sender. Without one, the proofs are
// empty and only the configuration check applies; a server with a secret refuses one without.
// Anything out of order is a refusal, with a reason for the log.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/peer_codec.hpp"

namespace corral::security {

using server_id = int64_t;

constexpr size_t nonce_bytes = 32;

// A configured server and the numeric addresses it may connect from.
struct roster_entry {
  server_id id = 0;
  std::vector<std::string> addresses;
};

// The proofs, exposed for tests. Empty when `secret` is.
std::string acceptor_proof(const std::string& secret, server_id initiator, server_id acceptor,
                           const std::string& nonce_i, const std::string& nonce_a);
std::string initiator_proof(const std::string& secret, server_id initiator, server_id acceptor,
                            const std::string& nonce_i, const std::string& nonce_a);

class peer_handshake {
public:
  enum class state { waiting, admitted, refused };

  // The connecting side, which dialled server `dialled`; send hello() first.
  static peer_handshake initiator(server_id self, server_id dialled, std::string secret);
  // The accepting side, for a connection from `remote_address`.
  static peer_handshake acceptor(server_id self, std::string remote_address, std::vector<roster_entry> roster,
                                 std::string secret);

  protocol::peer_frame hello() const;
  // Takes one frame that arrived while `waiting`; returns the frames to send in answer.
  std::vector<protocol::peer_frame> on_frame(const protocol::peer_frame& f);

  state current() const { return state_; }
  server_id peer() const { return peer_; }              // once admitted (the acceptor learns it from hello)
  const std::string& reason() const { return reason_; } // once refused

private:
  peer_handshake() = default;
  std::vector<protocol::peer_frame> on_hello(const protocol::peer_hello& h);
  std::vector<protocol::peer_frame> on_challenge(const protocol::peer_challenge& c);
  std::vector<protocol::peer_frame> on_proof(const protocol::peer_proof& p);
  std::vector<protocol::peer_frame> refuse(std::string why);

  bool initiating_ = false;
  server_id self_ = 0;
  server_id peer_ = 0; // initiator: the server dialled
  std::string secret_;
  std::string remote_;
  std::vector<roster_entry> roster_;
  std::string my_nonce_, their_nonce_;
  bool hello_seen_ = false;
  state state_ = state::waiting;
  std::string reason_;
};

} // namespace corral::security
