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
#include "protocol/client_codec_types.hpp"

namespace corral::protocol {

// Appends one frame to `out`.
void encode(const client_message& msg, std::vector<char>& out);
void encode(const server_message& msg, std::vector<char>& out);
// The same frame as encode(client_message{r}), without copying the request into the variant.
void encode(const request& r, std::vector<char>& out);

// Decodes one frame (as handed out by frame_reader). MarshallingError with a reason on bad input.
result<client_message> decode_client(kj::ArrayPtr<const capnp::word> frame);
result<server_message> decode_server(kj::ArrayPtr<const capnp::word> frame);

} // namespace corral::protocol
