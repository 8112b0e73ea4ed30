// Conversion between the core's plain request/response types and the native Cap'n Proto client
// protocol (schema/client.capnp). Decoding never trusts its input: a frame that does not parse, or
// that carries a request this server does not know, is an error with a reason, never a crash.
// Used by the server's client listener, the client library and the codec tests.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include <capnp/common.h>
#include <kj/array.h>

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
};

using client_message = std::variant<connect_request, request>;
using server_message = std::variant<connect_response, response, watch_event>;

// Appends one frame to `out`.
void encode(const client_message& msg, std::vector<char>& out);
void encode(const server_message& msg, std::vector<char>& out);

// Decodes one frame (as handed out by frame_reader). MarshallingError with a reason on bad input.
result<client_message> decode_client(kj::ArrayPtr<const capnp::word> frame);
result<server_message> decode_server(kj::ArrayPtr<const capnp::word> frame);

} // namespace corral::protocol
