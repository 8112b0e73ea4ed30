#include "protocol/frame.hpp"

#include <cstring>

#include <capnp/serialize.h>

namespace corral::protocol {

namespace {
constexpr size_t word_bytes = sizeof(capnp::word);
} // namespace

void frame_reader::compact() {
  if (begin_ == 0)
    return;
  // Keep frames word-aligned: move whole words only (frames are whole words long).
  size_t used = end_ - begin_;
  std::memmove(reinterpret_cast<char*>(buf_.data()), reinterpret_cast<char*>(buf_.data()) + begin_, used);
  begin_ = 0;
  end_ = used;
}

void frame_reader::feed(const char* data, size_t size) {
  if (size == 0)
    return; // (memcpy from or to a null pointer is undefined even for no bytes: found by the fuzzers)
  if (begin_ > 0 && begin_ == end_)
    begin_ = end_ = 0;
  if (end_ + size > buf_.size() * word_bytes) {
    compact();
    size_t words = (end_ + size + word_bytes - 1) / word_bytes;
    if (words > buf_.size())
      buf_.resize(std::max(words, buf_.size() * 2));
  }
  std::memcpy(reinterpret_cast<char*>(buf_.data()) + end_, data, size);
  end_ += size;
}

frame_reader::status frame_reader::next(kj::ArrayPtr<const capnp::word>& out) {
  size_t avail = end_ - begin_;
  if (avail < word_bytes)
    return status::need_more;
  if (begin_ % word_bytes != 0) {
    reason_ = "frame is not a whole number of words";
    return status::malformed;
  }
  auto* start = buf_.data() + begin_ / word_bytes;
  // The segment table: a count (minus one) and one 32-bit size per segment.
  uint32_t raw_count;
  std::memcpy(&raw_count, start, 4);
  uint64_t segments = uint64_t{raw_count} + 1;
  if (segments > 512) {
    reason_ = "segment table claims " + std::to_string(segments) + " segments (limit 512)";
    return status::malformed;
  }
  uint64_t table_words = (segments + 2) / 2; // 4 bytes count + 4 per segment, rounded up to words
  if (table_words * word_bytes > max_frame_bytes_) {
    reason_ = "segment table too large";
    return status::too_large;
  }
  if (avail < table_words * word_bytes)
    return status::need_more;
  uint64_t total_words = table_words;
  auto* sizes = reinterpret_cast<const unsigned char*>(start) + 4;
  for (uint64_t i = 0; i < segments; ++i) {
    uint32_t seg;
    std::memcpy(&seg, sizes + 4 * i, 4);
    total_words += seg;
  }
  if (total_words * word_bytes > max_frame_bytes_) {
    reason_ = "frame of " + std::to_string(total_words * word_bytes) + " bytes exceeds the limit of " +
              std::to_string(max_frame_bytes_);
    return status::too_large;
  }
  if (avail < total_words * word_bytes)
    return status::need_more;
  out = kj::ArrayPtr<const capnp::word>(start, total_words);
  begin_ += total_words * word_bytes;
  return status::frame;
}

void append_frame(std::vector<char>& out, const kj::ArrayPtr<const kj::ArrayPtr<const capnp::word>> segments) {
  uint32_t count = static_cast<uint32_t>(segments.size());
  size_t table_words = (count + 2) / 2;
  size_t body_words = 0;
  for (auto& s : segments)
    body_words += s.size();
  size_t start = out.size();
  out.resize(start + (table_words + body_words) * word_bytes, 0);
  char* p = out.data() + start;
  uint32_t header = count - 1;
  std::memcpy(p, &header, 4);
  for (uint32_t i = 0; i < count; ++i) {
    uint32_t sz = static_cast<uint32_t>(segments[i].size());
    std::memcpy(p + 4 + 4 * i, &sz, 4);
  }
  p += table_words * word_bytes;
  for (auto& s : segments) {
    std::memcpy(p, s.begin(), s.size() * word_bytes);
    p += s.size() * word_bytes;
  }
}

} // namespace corral::protocol
