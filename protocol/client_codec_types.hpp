// The messages of a client connection's life, shared by both front ends (the native Cap'n Proto
// protocol and ZooKeeper's jute): the connect handshake and the variants the codecs produce. Plain
// data, no Cap'n Proto, so light translation units may include it.
#pragma once

#include <string>
#include <variant>

#include "core/types.hpp"

namespace corral::protocol {

constexpr int32_t protocol_version = 1;

struct connect_request {
  int32_t protocol_version = corral::protocol::protocol_version;
  zxid_t last_zxid_seen = 0;
  int32_t timeout_ms = 0;
  session_id session = 0;
  std::string password;
  bool read_only = false;
};

struct connect_response {
  error_code err = error_code::ok;
  std::string detail;
  int32_t timeout_ms = 0;
  session_id session = 0;
  std::string password;
  zxid_t last_zxid = 0;
  bool read_only = false; // a read-only session (the server is cut off from its quorum)
};

using client_message = std::variant<connect_request, request>;
using server_message = std::variant<connect_response, response, watch_event>;

} // namespace corral::protocol
