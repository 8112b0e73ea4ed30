// Snapshot files: snapshot.<start zxid in hex>, a 16-byte header (magic, format version) and frames
//   u32 length | u32 crc32c(payload) | payload (a SnapshotFrame: header, node chunks, trailer)
// Snapshots are fuzzy, as ZooKeeper's are: the tree keeps changing while it is written, so recovery
// replays the log from start_zxid + 1; txns are idempotent, and after replaying through end_zxid the
// tree must match the digest the trailer recorded. Written to a temporary name, fsynced, renamed.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "persistence/record_codec.hpp"

namespace corral::persistence {

std::string snapshot_name(zxid_t start_zxid);
bool parse_snapshot_name(const std::string& name, zxid_t& start_zxid);

// When the server writes snapshots and removes old ones (the corral.snap-* options).
struct snapshot_policy {
  uint64_t every_txns = 100000;        // txns between snapshots (ZooKeeper's snapCount), at least
  size_t retain = 3;                   // snapshots kept, with the log they need (autopurge.snapRetainCount)
  int64_t purge_interval_ms = 3600000; // how often old ones are removed besides after each snapshot

  // Txns to apply before the next snapshot, for a tree of `node_count` znodes now and a random
  // `roll`: a number in [t/2 + 1, t] with t = max(every_txns, node_count / 2).
  // The range is ZooKeeper's: each server of an ensemble draws its own, so that they do not all
  // snapshot at once. The node-count term is Corral's: a snapshot costs in proportion to the tree,
  // so with a fixed count a big tree was snapshotted without pause (1,000,000 znodes: a snapshot
  // every 100,000 creates cost 4.8 us of server CPU per create, a quarter of the create, and the
  // disk's bandwidth besides). With the term, snapshots cost at most ~1 us per txn at any tree
  // size, and the log a restart replays stays under half the tree's size in txns: replaying a txn
  // costs ~1.8x loading a znode from a snapshot (2.6 against 1.5 us), so replay adds at most about
  // the snapshot's own load time.
  uint64_t txns_before_snapshot(uint64_t node_count, uint64_t roll) const;
};

// Nodes per snapshot chunk: one turn of the state machine's walk, one frame (~0.5 MiB at 100 bytes
// of data per znode).
constexpr size_t chunk_nodes = 2000;

struct snapshot_file {
  std::string path;
  zxid_t start_zxid = 0;
};
// Complete snapshots in `dir`, newest first (temporary files are not listed).
std::vector<snapshot_file> list_snapshots(const std::string& dir);

// Writes one snapshot; owned by one thread.
class snapshot_writer {
public:
  snapshot_writer(std::string dir, zxid_t start_zxid, bool sync);
  ~snapshot_writer();
  error_info add(const snapshot_frame& frame);
  // A chunk's payload as chunk_encoder made it.
  error_info add_chunk(kj::ArrayPtr<const capnp::word> payload);
  // Writes the trailer, syncs and renames into place.
  error_info finish(const snapshot_trailer& trailer);
  const std::string& final_path() const { return final_; }

private:
  error_info flush();
  std::string tmp_, final_, dir_;
  bool sync_;
  int fd_ = -1;
  uint64_t offset_ = 0;
  std::vector<char> buf_;
  error_info failed_;
};

struct snapshot_contents {
  snapshot_header header;
  snapshot_trailer trailer;
  uint64_t nodes = 0;
};
// Reads and checks a snapshot, handing each chunk of nodes to `on_nodes` (in pre-order).
// `db_id` 0 accepts any database (for inspection tools).
result<snapshot_contents> read_snapshot(const std::string& path, uint64_t db_id,
                                        const std::function<void(const snapshot_header&)>& on_header,
                                        const std::function<void(std::vector<node_image>&&)>& on_nodes);

// A whole snapshot of `db` at its last applied zxid, in the file format, in memory: what a leader
// sends a learner that is too far behind (SNAP). Not fuzzy: the caller holds the database still.
std::string snapshot_bytes(const database& db, uint64_t db_id);

// Installs snapshot bytes received from a leader as this server's newest snapshot file (written to a
// temporary name, checked, synced, renamed); returns its path.
result<std::string> install_snapshot_bytes(const std::string& dir, uint64_t db_id, const std::string& bytes);

// Keeps the newest `keep` snapshots; returns the removed files.
std::vector<std::string> purge_snapshots(const std::string& dir, size_t keep);

} // namespace corral::persistence
