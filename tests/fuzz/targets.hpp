// What the fuzzers feed arbitrary bytes to: every decoder that reads bytes from outside the process
// (ZooKeeper's jute packets, Cap'n Proto frames from clients and peers) or from disk (log records,
// log segments, snapshots). Each target must return normally on any input; a crash, a sanitizer
// report or a failed round trip (a decoded message that does not decode again after encoding) is a
// bug. Built into libFuzzer binaries (tests/fuzz/fuzz_main.cpp, clang, CORRAL_FUZZ=ON) and into the
// unit tests, which replay the saved corpus (tests/fuzz/corpus/<target>/) and a few thousand random
// inputs on every run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace corral::fuzz {

void jute_stream(const uint8_t* data, size_t size);   // a ZooKeeper client's byte stream
void capnp_stream(const uint8_t* data, size_t size);  // a native client's or a peer's byte stream
void log_entry(const uint8_t* data, size_t size);     // one log record's or snapshot frame's payload
void segment_file(const uint8_t* data, size_t size);  // a whole log segment file
void snapshot_file(const uint8_t* data, size_t size); // a whole snapshot file

struct target {
  const char* name;
  void (*run)(const uint8_t*, size_t);
};
const std::vector<target>& all_targets();

} // namespace corral::fuzz
