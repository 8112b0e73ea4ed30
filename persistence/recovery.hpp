// Starting from disk: the data directory's identity file, and recovery (the newest valid snapshot,
// then the log after it, with the tree digest checked against the digests the log and the snapshot
// recorded). Called once by the server before it serves anything; tests call it directly.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/database.hpp"
#include "persistence/log.hpp"

namespace corral::persistence {

// Creates `dir` and its identity file (corral.meta: a random database id) on first use; returns the id.
result<uint64_t> open_data_dir(const std::string& dir);

struct recovery_result {
  std::unique_ptr<database> db;
  log_scan scan;        // where the log's valid prefix ends: the appender continues there
  std::string snapshot; // the snapshot loaded, "" if none
  zxid_t snapshot_zxid = 0;
  size_t replayed = 0;            // txns applied from the log
  std::vector<std::string> notes; // things the operator should read (cut torn tails, skipped snapshots)
  // With only_committed: the logged txns after the last one known to be committed, not applied.
  std::vector<txn> uncommitted_tail;
  // With keep_replayed: the txns applied from the log, in order.
  std::vector<txn> replayed_txns;
};

struct recovery_options {
  bool repair = false; // cut the log at corruption instead of refusing to start
  int64_t now_ms = 0;  // the wall clock, for new session ids
  uint64_t torn_window = 8ull << 20;
  // In an ensemble a logged txn may never have been committed. Apply only the txns that a digest
  // check (written after a txn is applied, so after it was committed) covers; hand back the rest.
  bool only_committed = false;
  // Keep the txns replayed from the log (the ZAB core needs the history after the snapshot).
  bool keep_replayed = false;
};

// Rebuilds the database. Errors name the file, the offset and what to do.
result<recovery_result> recover(const std::string& dir, uint64_t db_id, const database_options& opts,
                                const recovery_options& ropts);

} // namespace corral::persistence
