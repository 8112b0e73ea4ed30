// A growable, zero-filled, word-aligned buffer that Cap'n Proto reads in place: frames as they
// arrive (protocol/frame.hpp) and whole files (persistence/files.hpp). Not std::vector<capnp::word>:
// capnp::word can be neither copied nor moved, which GCC's vector tolerates and clang's use of the
// same library does not (the fuzz build is clang).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include <capnp/common.h>

namespace corral {

class word_buffer {
public:
  capnp::word* data() { return reinterpret_cast<capnp::word*>(words_.data()); }
  const capnp::word* data() const { return reinterpret_cast<const capnp::word*>(words_.data()); }
  size_t size() const { return words_.size(); } // in words
  void resize(size_t words) { words_.resize(words, 0); }
  // `words` zeroed words.
  void assign_zeros(size_t words) { words_.assign(words, 0); }

private:
  static_assert(sizeof(capnp::word) == sizeof(uint64_t), "a Cap'n Proto word is 8 bytes");
  std::vector<uint64_t> words_;
};

} // namespace corral
