// Txns, digest checks and snapshot frames <-> Cap'n Proto (schema/storage.capnp), as flat word
// arrays. Decoding never trusts the bytes: it returns DataInconsistency with a reason instead of
// throwing. Used by the log, the snapshots, recovery and corral-logdump.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include <capnp/common.h>
#include <kj/array.h>

#include "core/database.hpp"
#include "core/txn.hpp"
#include "schema/word_buffer.hpp"

namespace corral::persistence {

// "The tree's digest after applying txn `zxid` was `digest`."
struct digest_check {
  zxid_t zxid = 0;
  uint64_t digest = 0;
};

using log_entry = std::variant<txn, digest_check>;

kj::Array<capnp::word> encode_entry(const log_entry& e);
kj::Array<capnp::word> encode_entry(const txn& t);
kj::Array<capnp::word> encode_entry(const digest_check& d);
result<log_entry> decode_entry(kj::ArrayPtr<const capnp::word> words);

// What a record is without decoding its body: recovery passes over the records a snapshot already
// holds, and decoding each (a txn's paths, data and ACLs into heap memory) only to drop it was a
// third of a restart.
struct entry_peek {
  bool is_txn = false;
  zxid_t zxid = 0;
};
result<entry_peek> peek_entry(kj::ArrayPtr<const capnp::word> words);

struct snapshot_header {
  uint64_t db_id = 0;
  zxid_t start_zxid = 0;
  std::vector<session_image> sessions;
};
struct snapshot_trailer {
  zxid_t end_zxid = 0;
  uint64_t node_count = 0;
  uint64_t digest_at_end = 0;
};
using snapshot_frame = std::variant<snapshot_header, std::vector<node_image>, snapshot_trailer>;

kj::Array<capnp::word> encode_snapshot_frame(const snapshot_frame& f);
// Encodes a snapshot's chunks from the tree's nodes in place: what encode_snapshot_frame makes of
// visit_after's images, without the images (three heap copies per node: path, data, ACL), into
// memory reused from chunk to chunk. Fresh memory per chunk is what a snapshot of a big tree cost
// most (docs/benchmarks.md: the page faults of a new 0.5 MiB segment and flat array per chunk).
// Owned by the tree's one writer (the state machine); used between changes of the tree.
class chunk_encoder {
public:
  // The next chunk of the pre-order walk after `cursor` (up to `max` nodes) as a frame's payload in
  // `out` (overwritten; its capacity is kept). Returns the node count; 0 once the walk is done.
  uint64_t encode(const data_tree& tree, std::string& cursor, size_t max, word_buffer& out);
  // Gives the reused memory back (after a snapshot, so that it does not stay resident).
  void release();

  // The builder's first segment grows to fit a chunk up to this size; a bigger chunk (large znodes)
  // takes further segments from the heap for that chunk only.
  static constexpr size_t max_first_segment_words = 1u << 20; // 8 MiB

private:
  kj::Array<capnp::word> first_; // all zero between chunks (the builder zeroes what it used)
  std::vector<const data_tree::node*> picked_;
  std::vector<std::pair<size_t, size_t>> path_at_; // offset, length in paths_
  std::string paths_;
  std::vector<uint32_t> acl_ids_; // the tree's ACL ids the chunk uses, in order of first use
};

result<snapshot_frame> decode_snapshot_frame(kj::ArrayPtr<const capnp::word> words);

// One line per entry for corral-logdump: "zxid time session op path".
std::string describe(const log_entry& e);

} // namespace corral::persistence
