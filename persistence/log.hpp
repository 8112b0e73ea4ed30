// The transaction log: segment files named log.<first zxid in hex>, each a 32-byte header (magic,
// format version, header CRC, database id, first zxid) followed by records:
//   u32 length | u32 crc32c(zxid + payload) | i64 zxid | payload (a TxnRecord, `length` bytes, whole words)
// Segments are preallocated, so the unwritten rest of a segment reads as zeros; a zero length ends it.
//
// scan_log() reads the log for recovery and corral-logdump; log_appender writes it (one thread: the
// log_writer actor). Only one batch is ever in flight (written, not yet synced), so damage within one
// batch's size of the end of the newest segment is a torn tail (cut it); damage anywhere else is
// corruption (stop, unless the operator asks for repair).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "persistence/record_codec.hpp"

namespace corral::persistence {

constexpr uint32_t log_format_version = 1;
constexpr size_t segment_header_bytes = 32;
constexpr size_t record_header_bytes = 16;
constexpr uint32_t max_record_bytes = 64u << 20;

std::string segment_name(zxid_t first_zxid);
bool parse_segment_name(const std::string& name, zxid_t& first_zxid);

struct segment_info {
  std::string path;
  zxid_t first_zxid = 0;
};
// The log segments in `dir`, oldest first.
std::vector<segment_info> list_segments(const std::string& dir);

struct log_damage {
  enum class kind { none, torn_tail, corrupt, missing };
  kind what = kind::none;
  std::string file;
  uint64_t offset = 0;
  uint64_t garbage_end = 0; // torn tail: where the non-zero bytes after `offset` end
  std::string reason;
  std::string to_string() const;
};

struct log_scan {
  zxid_t last_zxid = 0; // the last txn in the valid prefix
  size_t entries = 0;   // entries visited
  log_damage damage;
  std::string tail_segment; // the newest segment and where its valid data ends
  uint64_t tail_offset = 0;
  uint64_t tail_garbage_end = 0;
};

// Reads every segment in order and calls `visit` for each entry whose zxid is above `after`
// (digest checks too), checking CRCs, the database id and that no txn is missing. Stops at the
// first damage (reported in the result) or when `visit` returns an error (returned as the error).
// `torn_window`: the writer's largest batch; damage within it of the newest segment's end is a torn tail.
result<log_scan> scan_log(const std::string& dir, uint64_t db_id, zxid_t after,
                          const std::function<error_info(log_entry&&, const std::string& file, uint64_t offset)>& visit,
                          uint64_t torn_window);

// The same over an explicit list of segments (oldest first), e.g. one file for corral-logdump.
// Without `check_sequence` a txn need not follow the one before it (the log appender's own scan for
// a truncation, where the log may start anywhere).
result<log_scan>
scan_segments(const std::vector<segment_info>& segs, uint64_t db_id, zxid_t after,
              const std::function<error_info(log_entry&&, const std::string& file, uint64_t offset)>& visit,
              uint64_t torn_window, bool check_sequence = true);

// The database id in a segment's header (0 if it has none).
uint64_t segment_db_id(const std::string& path);

struct log_options {
  uint64_t segment_bytes = 64ull << 20;  // start a new segment beyond this size
  uint64_t prealloc_bytes = 16ull << 20; // grow the file in chunks this large
  uint64_t max_batch_bytes = 8ull << 20; // one write + fsync covers at most this much
  bool sync = true;                      // false is unsafe: acknowledged writes can be lost
};

// Appends batches of entries to the log; owned by one thread.
class log_appender {
public:
  log_appender(std::string dir, uint64_t db_id, log_options opts);
  ~log_appender();
  log_appender(const log_appender&) = delete;
  log_appender& operator=(const log_appender&) = delete;

  // Continues where recovery found the end of the valid log, zeroing any torn tail after it.
  error_info open(const log_scan& scan);

  void add(const log_entry& e);
  void add(const txn& t);
  void add(const digest_check& d);
  size_t batch_bytes() const { return batch_.size(); }
  size_t batch_entries() const { return batch_count_; }
  bool batch_full() const { return batch_.size() >= opts_.max_batch_bytes; }

  // Writes the batch and makes it durable (one fdatasync). On a write error (disk full, ...), the
  // batch is dropped and the file left as it was; on an fsync error `fatal` is set: the kernel may
  // have dropped the pages, so nothing written since the last good sync can be trusted.
  // A batch of digest checks only is written without a sync of its own: nothing waits on it, and
  // the next txn batch's sync covers it.
  error_info commit(bool& fatal);

  zxid_t last_zxid() const { return last_zxid_; }
  const std::string& current_segment() const { return path_; }

  // Drops every txn after `zxid` (a learner told to TRUNC): later segments go, the rest of the
  // segment that holds the cut is zeroed and synced, and appends continue from there.
  error_info truncate_after(zxid_t zxid);

  // Removes segments whose every txn is at or below `zxid` (never the current one).
  std::vector<std::string> purge_through(zxid_t zxid);

private:
  void add_record(zxid_t z, const kj::Array<capnp::word>& words);
  // `sync_failed`: a sync (of the new file or of the directory) failed, which stops the server.
  error_info start_segment(zxid_t first, bool& sync_failed);
  error_info ensure_space(uint64_t end);
  void close_segment();

  std::string dir_;
  uint64_t db_id_;
  log_options opts_;
  int fd_ = -1;
  std::string path_;
  uint64_t offset_ = 0;    // where the next record goes
  uint64_t allocated_ = 0; // preallocated size of the current segment
  uint64_t dirty_end_ = 0; // after a failed write: bytes up to here may hold garbage
  // Records without txns (digest checks) are written without a sync of their own: the next txn
  // batch's sync covers them. A segment must not be left behind with such bytes unsynced, or a power
  // cut could tear a record in the middle of the log (found by the power-loss tests).
  bool unsynced_ = false;
  std::vector<char> batch_;
  size_t batch_count_ = 0;
  zxid_t batch_first_ = 0;
  zxid_t last_zxid_ = 0;
  zxid_t batch_last_ = 0;
  bool batch_has_txns_ = false;
};

} // namespace corral::persistence
