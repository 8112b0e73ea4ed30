// ZooKeeper's client wire protocol (jute), so that ZooKeeper's own clients (zkCli.sh, the C client,
// Curator, kazoo) talk to Corral unchanged. Plain C++ over byte buffers: no sockets, no CAF.
//
// The wire: every packet is a 4-byte big-endian length and a body. The first packet of a connection
// is a ConnectRequest (no header); after it, requests carry RequestHeader {xid, type} and replies
// ReplyHeader {xid, zxid, err}. Numbers are big-endian; strings and buffers are an int length (-1:
// null) and bytes; vectors an int count (-1: null) and elements. Replies are not self-describing:
// their body depends on the request's op code, so the encoder takes it (see `reply_shape`).
//
// Decoders never trust input: every length is checked against what is left, counts are bounded,
// and any violation is a MarshallingError with a reason. Used by the server's client listener and
// session actors, and by the tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/types.hpp"
#include "protocol/client_codec_types.hpp"

namespace corral::protocol::jute {

// ZooKeeper's jute.maxbuffer default: the largest packet a server accepts (0xfffff bytes).
constexpr size_t default_max_packet = 0xfffff;

// Special xids ZooKeeper's clients use.
constexpr int32_t notification_xid = -1;
constexpr int32_t ping_xid = -2;
constexpr int32_t auth_xid = -4;
constexpr int32_t set_watches_xid = -8;

// Splits a byte stream into packets. Bounded: a length above the limit (or negative) is an error,
// and the connection must close.
class packet_reader {
public:
  explicit packet_reader(size_t max_packet) : max_(max_packet) {}
  enum class status { need_more, packet, bad };
  void feed(const char* data, size_t n);
  // On `packet`, `out` holds the body (without the length) until the next call.
  status next(std::string& out);
  const std::string& reason() const { return reason_; }
  // The first four bytes of the stream, if they have arrived (for four-letter words).
  bool peek_first_word(int32_t& word) const;
  size_t buffered() const { return buf_.size() - pos_; }

private:
  std::string buf_;
  size_t pos_ = 0;
  size_t max_;
  std::string reason_;
};

struct connect_packet {
  connect_request req;
  bool has_read_only = false; // old clients omit the flag; the reply must then omit it too
};

// What a reply's body looks like: the request's op code and, for multi and multiRead, each op's.
struct reply_shape {
  op_code op = op_code::error;
  std::vector<op_code> sub_ops;
};

struct decoded_request {
  request req;
  reply_shape shape;
};

result<connect_packet> decode_connect(const std::string& body);
result<decoded_request> decode_request(const std::string& body);

// Each appends one whole packet (length included) to `out`.
void encode_connect_response(const connect_response& r, bool with_read_only, std::vector<char>& out);
void encode_reply(const response& r, const reply_shape& shape, std::vector<char>& out);
void encode_event(const watch_event& e, std::vector<char>& out);

// The other direction, for tests and tools that act as a ZooKeeper client.
void encode_connect_request(const connect_request& r, bool with_read_only, std::vector<char>& out);
void encode_request(const request& r, const reply_shape& shape, std::vector<char>& out);
// A reply's (or notification's) ReplyHeader; MarshallingError if the body is shorter than one.
struct reply_header {
  int32_t xid = 0;
  zxid_t zxid = 0;
  error_code err = error_code::ok;
};
result<reply_header> decode_reply_header(const std::string& body);

// A ConnectResponse; a timeout of 0 (ZooKeeper's "expired") comes back as SessionExpired.
result<connect_response> decode_connect_response(const std::string& body);

// Four-letter words: the first four bytes of a connection read as a big-endian int.
// Returns the command ("ruok", "srvr", ...) if `word` is one ZooKeeper knows, else "".
std::string four_letter_word(int32_t word);

} // namespace corral::protocol::jute
