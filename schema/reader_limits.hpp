// How far a Cap'n Proto decoder may walk a message it did not write: a few times the message's own
// size. A list of zero-sized elements costs nothing to send but is walked element by element, so a
// fixed limit (Cap'n Proto's default is 64 MiB) lets a frame of a few bytes make the decoder loop
// over hundreds of millions of elements (the fuzzers found one of 177 bytes that declared 2^29
// sessions). Used by every decoder: client frames, peer frames, log records and snapshot frames.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include <capnp/message.h>

namespace corral::schema {

inline capnp::ReaderOptions bounded_reading(size_t message_words) {
  capnp::ReaderOptions o;
  o.traversalLimitInWords = std::max<uint64_t>(4 * static_cast<uint64_t>(message_words), 1024);
  o.nestingLimit = 16;
  return o;
}

} // namespace corral::schema
