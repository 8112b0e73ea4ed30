#include "tests/fuzz/targets.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>

#include <boost/filesystem.hpp>

#include "persistence/log.hpp"
#include "persistence/record_codec.hpp"
#include "persistence/snapshot.hpp"
#include "protocol/client_codec.hpp"
#include "protocol/frame.hpp"
#include "protocol/jute_codec.hpp"
#include "protocol/peer_codec.hpp"

namespace corral::fuzz {

namespace {

// A broken property: report it the way a sanitizer would (the fuzzer saves the input).
[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "fuzz target property broken: %s\n", what);
  std::abort();
}

word_buffer aligned(const uint8_t* data, size_t size) {
  word_buffer words;
  words.resize(size / sizeof(capnp::word));
  if (words.size() > 0)
    std::memcpy(words.data(), data, words.size() * sizeof(capnp::word));
  return words;
}

// A scratch directory of this process's own, for the targets that read files (never destroyed: the
// exit handler that removes it runs after static destructors).
const std::string& scratch() {
  static const std::string* dir = [] {
    auto* d = new std::string(
        (boost::filesystem::temp_directory_path() / ("corral-fuzz-" + std::to_string(::getpid()))).string());
    boost::filesystem::create_directories(*d);
    std::atexit([] {
      boost::system::error_code ec;
      boost::filesystem::remove_all(scratch(), ec);
    });
    return d;
  }();
  return *dir;
}

std::string write_scratch(const std::string& name, const uint8_t* data, size_t size) {
  auto path = scratch() + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  return path;
}

} // namespace

void jute_stream(const uint8_t* data, size_t size) {
  protocol::jute::packet_reader reader(1 << 20);
  reader.feed(reinterpret_cast<const char*>(data), size);
  std::string body;
  bool first = true;
  for (int i = 0; i < 1000 && reader.next(body) == protocol::jute::packet_reader::status::packet; ++i) {
    if (first) {
      first = false;
      (void)protocol::jute::decode_connect(body);
      (void)protocol::jute::decode_connect_response(body);
      continue;
    }
    (void)protocol::jute::decode_reply_header(body);
    auto r = protocol::jute::decode_request(body);
    if (!r.ok())
      continue;
    // What was understood once is understood again after encoding.
    std::vector<char> out;
    protocol::jute::encode_request(r->req, r->shape, out);
    if (out.size() < 4)
      broken("encode_request wrote no length");
    auto again = protocol::jute::decode_request(std::string(out.begin() + 4, out.end()));
    if (!again.ok())
      broken("a decoded jute request does not decode after encoding");
  }
}

void capnp_stream(const uint8_t* data, size_t size) {
  protocol::frame_reader reader(1 << 20);
  reader.feed(reinterpret_cast<const char*>(data), size);
  kj::ArrayPtr<const capnp::word> frame;
  for (int i = 0; i < 1000 && reader.next(frame) == protocol::frame_reader::status::frame; ++i) {
    auto c = protocol::decode_client(frame);
    (void)protocol::decode_server(frame);
    (void)protocol::decode_peer(frame);
    if (c.ok()) {
      std::vector<char> out;
      protocol::encode(*c, out);
      protocol::frame_reader again(1 << 22);
      again.feed(out.data(), out.size());
      kj::ArrayPtr<const capnp::word> f2;
      if (again.next(f2) != protocol::frame_reader::status::frame || !protocol::decode_client(f2).ok())
        broken("a decoded client message does not decode after encoding");
    }
  }
}

void log_entry(const uint8_t* data, size_t size) {
  auto words = aligned(data, size);
  kj::ArrayPtr<const capnp::word> view(words.data(), words.size());
  (void)persistence::decode_entry(view);
  (void)persistence::decode_snapshot_frame(view);
}

void segment_file(const uint8_t* data, size_t size) {
  auto path = write_scratch("log.0000000000000001", data, size);
  (void)persistence::scan_segments(
      {{path, 1}}, persistence::segment_db_id(path), 0,
      [](persistence::log_entry&&, const std::string&, uint64_t) { return error_info{}; }, 1 << 20);
}

void snapshot_file(const uint8_t* data, size_t size) {
  auto path = write_scratch("snapshot.0000000000000001", data, size);
  (void)persistence::read_snapshot(
      path, 0, [](const persistence::snapshot_header&) {}, [](std::vector<node_image>&&) {});
}

const std::vector<target>& all_targets() {
  static const std::vector<target> all{{"jute_stream", jute_stream},
                                       {"capnp_stream", capnp_stream},
                                       {"log_entry", log_entry},
                                       {"segment_file", segment_file},
                                       {"snapshot_file", snapshot_file}};
  return all;
}

} // namespace corral::fuzz
