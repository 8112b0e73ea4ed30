// Framing of Cap'n Proto stream messages on a byte stream. frame_reader accumulates bytes as they
// arrive (in any chunking), and hands out whole frames as word-aligned views; it rejects frames over
// a size limit and segment tables that make no sense, without allocating for them. Used by every
// connection (brokers on both sides) and by the decoder tests.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <capnp/common.h>
#include <kj/array.h>

#include "schema/word_buffer.hpp"

namespace corral::protocol {

class frame_reader {
public:
  explicit frame_reader(size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

  // Appends received bytes.
  void feed(const char* data, size_t size);

  enum class status { frame, need_more, too_large, malformed };
  // If a whole frame is buffered, points `out` at it (valid until the next call) and returns frame.
  status next(kj::ArrayPtr<const capnp::word>& out);

  // Why next() last failed, for the log.
  const std::string& reason() const { return reason_; }
  size_t buffered_bytes() const { return end_ - begin_; }
  // Changes the limit for the frames still to come (a peer is allowed big frames once admitted).
  void set_max_frame_bytes(size_t n) { max_frame_bytes_ = n; }

private:
  void compact();

  size_t max_frame_bytes_;
  word_buffer buf_;
  size_t begin_ = 0; // bytes
  size_t end_ = 0;   // bytes
  std::string reason_;
};

// Serialises a message into `out` (appending) in the stream format.
void append_frame(std::vector<char>& out, const kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments);

} // namespace corral::protocol
