// ZAB messages <-> the peer protocol (schema/peer.capnp). A SYNC's snapshot travels as bytes: the
// actors put a std::string (a snapshot file's contents) behind zab::catch_up::snapshot, and decoding
// hands one back the same way. Decoding never trusts its input. Used by the peer transport and tests.
#pragma once

#include <variant>
#include <vector>

#include <capnp/common.h>
#include <kj/array.h>

#include "core/zab.hpp"

namespace corral::protocol {

// 2: the handshake (hello, challenge, proof) that admits only configured, authenticated servers.
constexpr uint32_t peer_protocol_version = 3; // 3: NEWLEADER has its own ack

// The handshake (see security/peer_handshake.hpp): the connecting server says who it is, the
// accepting one answers with who it is, and each proves it knows the shared secret.
struct peer_hello {
  zab::server_id server = 0;
  uint32_t version = peer_protocol_version;
  std::string nonce;
};
struct peer_challenge {
  zab::server_id server = 0;
  std::string nonce;
  std::string proof;
};
struct peer_proof {
  std::string proof;
};

struct forwarded_request {
  session_id session = 0;
  request req;
  auth_list auth; // includes ("ip", client address), which the learner recorded at connect
};
struct open_session_request {
  session_id id = 0;
  int32_t timeout_ms = 0;
  std::string password;
};
struct session_touches {
  std::vector<session_id> sessions;
};
struct sync_request_frame {
  uint64_t token = 0;
};
struct sync_reply_frame {
  uint64_t token = 0;
  zxid_t zxid = 0;
};

using peer_frame = std::variant<peer_hello, zab::message, forwarded_request, open_session_request, session_touches,
                                sync_request_frame, sync_reply_frame, peer_challenge, peer_proof>;

void encode(const peer_frame& f, std::vector<char>& out);
result<peer_frame> decode_peer(kj::ArrayPtr<const capnp::word> frame);

} // namespace corral::protocol
