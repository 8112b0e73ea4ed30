#include "persistence/log.hpp"

#include "core/fatal.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <fcntl.h>
#include <unistd.h>

#include <boost/filesystem.hpp>

#include "core/format.hpp"
#include "core/hash.hpp"
#include "persistence/files.hpp"

namespace corral::persistence {

namespace fs = boost::filesystem;

namespace {

constexpr char magic[8] = {'C', 'O', 'R', 'R', 'A', 'L', 'O', 'G'};

// Header: magic[8] | u32 version | u32 crc (of the other 28 bytes) | u64 db id | i64 first zxid
void make_header(char* h, uint64_t db_id, zxid_t first) {
  std::memset(h, 0, segment_header_bytes);
  std::memcpy(h, magic, 8);
  std::memcpy(h + 8, &log_format_version, 4);
  std::memcpy(h + 16, &db_id, 8);
  std::memcpy(h + 24, &first, 8);
  uint32_t crc = crc32c(h, 12);
  crc = crc32c(h + 16, 16, crc);
  std::memcpy(h + 12, &crc, 4);
}

// Empty string if the header is good.
std::string check_header(const char* h, size_t size, uint64_t db_id, zxid_t first) {
  if (size < segment_header_bytes)
    return "file is shorter than a segment header";
  if (std::memcmp(h, magic, 8) != 0)
    return "not a Corral log segment (bad magic)";
  uint32_t version, crc;
  std::memcpy(&version, h + 8, 4);
  std::memcpy(&crc, h + 12, 4);
  uint32_t want = crc32c(h, 12);
  want = crc32c(h + 16, 16, want);
  if (crc != want)
    return "segment header checksum mismatch";
  if (version != log_format_version)
    return "log format version " + std::to_string(version) + " is not supported";
  uint64_t id;
  zxid_t z;
  std::memcpy(&id, h + 16, 8);
  std::memcpy(&z, h + 24, 8);
  if (id != db_id)
    return "segment belongs to database " + to_hex(id) + ", not " + to_hex(db_id);
  if (z != first)
    return "segment header says first zxid " + to_hex(z) + " but the name says " + to_hex(first);
  return "";
}

// One past the last non-zero byte in [from, size), or `from` if all are zero. Word-wise: the
// preallocated rest of a segment is megabytes of zeros.
uint64_t nonzero_end(const char* data, uint64_t from, uint64_t size) {
  uint64_t end = size;
  while (end > from && end % 8 != 0 && data[end - 1] == 0)
    --end;
  while (end >= from + 8 && end % 8 == 0) {
    uint64_t w;
    std::memcpy(&w, data + end - 8, 8);
    if (w != 0)
      break;
    end -= 8;
  }
  while (end > from && data[end - 1] == 0)
    --end;
  return end;
}

zxid_t entry_zxid(const log_entry& e) {
  if (auto* t = std::get_if<txn>(&e))
    return t->zxid;
  return std::get<digest_check>(e).zxid;
}

} // namespace

std::string segment_name(zxid_t first_zxid) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "log.%016llx", static_cast<unsigned long long>(first_zxid));
  return buf;
}

bool parse_segment_name(const std::string& name, zxid_t& first_zxid) {
  return parse_hex_name(name, "log.", first_zxid);
}

std::vector<segment_info> list_segments(const std::string& dir) {
  std::vector<segment_info> out;
  for (auto& [path, first] : list_hex_named(dir, "log."))
    out.push_back({path, first});
  return out;
}

std::string log_damage::to_string() const {
  const char* names[] = {"none", "torn tail", "corruption", "missing txns"};
  return std::string(names[static_cast<int>(what)]) + " in " + file + " at offset " + std::to_string(offset) + ": " +
         reason;
}

result<log_scan> scan_log(const std::string& dir, uint64_t db_id, zxid_t after,
                          const std::function<error_info(log_entry&&, const std::string&, uint64_t)>& visit,
                          uint64_t torn_window) {
  return scan_segments(list_segments(dir), db_id, after, visit, torn_window);
}

uint64_t segment_db_id(const std::string& path) {
  auto head = read_prefix(path, segment_header_bytes);
  if (!head || head->size() < segment_header_bytes)
    return 0;
  uint64_t id;
  std::memcpy(&id, head->data() + 16, 8);
  return id;
}

namespace {

using entry_visitor = std::function<error_info(log_entry&&, const std::string&, uint64_t)>;

// One scan of a log, segment by segment and record by record. It stops at the first damage, which
// it describes in the result (a torn tail only in the newest segment, within torn_window of its
// end), or at the first error from `visit`, which it returns.
class log_scanner {
public:
  log_scanner(uint64_t db_id, zxid_t after, const entry_visitor& visit, uint64_t torn_window, bool check_sequence)
      : db_id_(db_id), after_(after), visit_(visit), torn_window_(torn_window), check_sequence_(check_sequence) {}

  result<log_scan> run(const std::vector<segment_info>& segs) {
    for (size_t i = 0; i < segs.size(); ++i) {
      seg_ = &segs[i];
      newest_ = i + 1 == segs.size();
      auto mapped = mapped_file::open(seg_->path);
      if (!mapped)
        return mapped.error();
      file_ = std::move(*mapped);
      bytes_ = file_.bytes();
      size_ = file_.size();
      out_.tail_segment = seg_->path;
      out_.tail_offset = 0;
      if (auto problem = check_header(bytes_, size_, db_id_, seg_->first_zxid); !problem.empty()) {
        damage(0, problem);
        return std::move(out_);
      }
      if (auto e = scan_records(); e.code != error_code::ok)
        return e;
      if (out_.damage.what != log_damage::kind::none) {
        if (!newest_ && out_.damage.what == log_damage::kind::torn_tail)
          out_.damage.what = log_damage::kind::corrupt;
        return std::move(out_);
      }
    }
    return std::move(out_);
  }

private:
  void damage(uint64_t offset, std::string reason, log_damage::kind k = log_damage::kind::corrupt) {
    auto& d = out_.damage;
    d.what = k;
    d.file = seg_->path;
    d.offset = offset;
    d.reason = std::move(reason);
    d.garbage_end = nonzero_end(bytes_, offset, size_);
    if (k == log_damage::kind::corrupt && newest_ && d.garbage_end - offset <= torn_window_)
      d.what = log_damage::kind::torn_tail;
    out_.tail_offset = offset;
    out_.tail_garbage_end = d.garbage_end;
  }

  // The segment's records from its header to its end marker (or the first damage).
  error_info scan_records() {
    uint64_t pos = segment_header_bytes;
    uint32_t len = 0;
    while (auto rec = read_record(pos, len)) {
      if (rec->is_txn) {
        if (check_sequence_ && !in_sequence(rec->zxid, pos))
          return {};
        prev_ = rec->zxid;
        out_.last_zxid = rec->zxid;
      }
      if (rec->entry) {
        ++out_.entries;
        if (auto e = visit_(std::move(*rec->entry), seg_->path, pos); e.code != error_code::ok)
          return e;
      }
      pos += record_header_bytes + len;
    }
    if (out_.damage.what == log_damage::kind::none) {
      out_.tail_offset = pos;
      out_.tail_garbage_end = pos;
    }
    return {};
  }

  // A record the scan has checked: its kind and zxid, and the entry itself if it is after `after_`
  // (the ones before are not decoded; nobody visits them).
  struct record {
    bool is_txn = false;
    zxid_t zxid = 0;
    std::optional<log_entry> entry;
  };

  // The record at `pos`, or nothing at the segment's end (damage() says if the end was not clean).
  std::optional<record> read_record(uint64_t pos, uint32_t& len) {
    if (pos + record_header_bytes > size_) {
      if (nonzero_end(bytes_, pos, size_) > pos)
        damage(pos, "a record header is cut short by the end of the file");
      return std::nullopt;
    }
    uint32_t crc;
    zxid_t z;
    std::memcpy(&len, bytes_ + pos, 4);
    std::memcpy(&crc, bytes_ + pos + 4, 4);
    std::memcpy(&z, bytes_ + pos + 8, 8);
    if (len == 0) {
      if (nonzero_end(bytes_, pos, size_) > pos)
        damage(pos, "data follows the end-of-segment marker");
      return std::nullopt;
    }
    if (len % 8 != 0 || len > max_record_bytes || pos + record_header_bytes + len > size_) {
      damage(pos, "record length " + std::to_string(len) + " is not valid here");
      return std::nullopt;
    }
    if (crc != crc32c(bytes_ + pos + 8, 8 + len)) {
      damage(pos, "record checksum mismatch (zxid field " + to_hex(static_cast<uint64_t>(z)) + ")");
      return std::nullopt;
    }
    auto body = kj::arrayPtr(file_.words() + (pos + record_header_bytes) / 8, len / 8);
    record out;
    if (z > after_) {
      auto entry = decode_entry(body);
      if (!entry) {
        damage(pos, entry.error().detail);
        return std::nullopt;
      }
      out = {std::holds_alternative<txn>(*entry), entry_zxid(*entry), std::move(*entry)};
    } else {
      auto peek = peek_entry(body);
      if (!peek) {
        damage(pos, peek.error().detail);
        return std::nullopt;
      }
      out = {peek->is_txn, peek->zxid, std::nullopt};
    }
    if (out.zxid != z) {
      damage(pos, "record zxid does not match its header");
      return std::nullopt;
    }
    return out;
  }

  // Txns after `after_` follow one another with no gap; a gap or a step back is damage, never a torn
  // tail (a torn write cannot produce a well-formed record with the wrong zxid).
  bool in_sequence(zxid_t z, uint64_t pos) {
    zxid_t base = std::max(prev_, after_);
    if (z <= after_)
      return true;
    if (base == 0) {
      if (z == 1 || counter_of(z) == 1)
        return true;
      damage(pos, "the log starts at " + to_hex(z) + "; earlier txns are missing", log_damage::kind::missing);
      return false;
    }
    if (zxid_follows(base, z))
      return true;
    if (z <= base)
      damage(pos, "zxid " + to_hex(z) + " does not increase (previous " + to_hex(base) + ")");
    else
      damage(pos, "txns after " + to_hex(base) + " up to " + to_hex(z - 1) + " are missing (a lost segment?)",
             log_damage::kind::missing);
    if (out_.damage.what == log_damage::kind::torn_tail)
      out_.damage.what = log_damage::kind::corrupt;
    return false;
  }

  uint64_t db_id_;
  zxid_t after_;
  const entry_visitor& visit_;
  uint64_t torn_window_;
  bool check_sequence_;
  log_scan out_;
  zxid_t prev_ = 0; // the last txn seen
  const segment_info* seg_ = nullptr;
  bool newest_ = false;
  mapped_file file_;
  uint64_t size_ = 0;
  const char* bytes_ = nullptr;
};

} // namespace

result<log_scan> scan_segments(const std::vector<segment_info>& segs, uint64_t db_id, zxid_t after,
                               const entry_visitor& visit, uint64_t torn_window, bool check_sequence) {
  return log_scanner(db_id, after, visit, torn_window, check_sequence).run(segs);
}

// ---- log_appender ------------------------------------------------------------------------------

log_appender::log_appender(std::string dir, uint64_t db_id, log_options opts)
    : dir_(std::move(dir)), db_id_(db_id), opts_(opts) {}

log_appender::~log_appender() { close_segment(); }

void log_appender::close_segment() {
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
}

error_info log_appender::open(const log_scan& scan) {
  last_zxid_ = scan.last_zxid;
  if (scan.tail_segment.empty())
    return {};
  if (scan.tail_offset < segment_header_bytes) {
    // Crashed while creating this segment: it holds nothing that was acknowledged.
    boost::system::error_code ec;
    fs::remove(scan.tail_segment, ec);
    if (ec)
      return error_info{error_code::system_error, "cannot remove the unfinished log segment " + scan.tail_segment +
                                                      " (" + ec.message() + "); remove it by hand and start again"};
    return fsync_dir(dir_);
  }
  fd_ = ::open(scan.tail_segment.c_str(), O_RDWR);
  if (fd_ < 0)
    return io_error("cannot open log segment", scan.tail_segment, errno);
  path_ = scan.tail_segment;
  offset_ = scan.tail_offset;
  allocated_ = static_cast<uint64_t>(::lseek(fd_, 0, SEEK_END));
  if (scan.tail_garbage_end > offset_) {
    std::vector<char> zeros(scan.tail_garbage_end - offset_, 0);
    if (auto e = write_all(fd_, zeros.data(), zeros.size(), offset_, path_); e.code != error_code::ok)
      return e;
    if (::fdatasync(fd_) != 0)
      return io_error("cannot sync", path_, errno);
  }
  return {};
}

void log_appender::add(const log_entry& e) {
  std::visit([&](const auto& x) { add(x); }, e);
}

// A txn is encoded where it is: wrapping it in a log_entry would copy its path, data and ACL.
void log_appender::add(const txn& t) {
  zxid_t z = t.zxid;
  CORRAL_CHECK(z > std::max(last_zxid_, batch_last_), "log", "txn ", to_hex(z), " appended after ",
               to_hex(std::max(last_zxid_, batch_last_)), ": the log must grow in zxid order");
  add_record(z, encode_entry(t));
  if (batch_first_ == 0)
    batch_first_ = z;
  batch_last_ = z;
  batch_has_txns_ = true;
}

void log_appender::add(const digest_check& d) { add_record(d.zxid, encode_entry(d)); }

void log_appender::add_record(zxid_t z, const kj::Array<capnp::word>& words) {
  auto payload = words.asBytes();
  uint32_t len = static_cast<uint32_t>(payload.size());
  char header[record_header_bytes];
  std::memcpy(header, &len, 4);
  std::memcpy(header + 8, &z, 8);
  uint32_t crc = crc32c(header + 8, 8);
  crc = crc32c(payload.begin(), payload.size(), crc);
  std::memcpy(header + 4, &crc, 4);
  batch_.insert(batch_.end(), header, header + record_header_bytes);
  batch_.insert(batch_.end(), payload.begin(), payload.end());
  ++batch_count_;
}

error_info log_appender::start_segment(zxid_t first, bool& sync_failed) {
  sync_failed = false;
  close_segment();
  auto path = (fs::path(dir_) / segment_name(first)).string();
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL, 0644);
  if (fd < 0)
    return io_error("cannot create log segment", path, errno);
  char header[segment_header_bytes];
  make_header(header, db_id_, first);
  auto e = write_all(fd, header, sizeof header, 0, path);
  if (e.code == error_code::ok && opts_.sync && ::fdatasync(fd) != 0) {
    e = io_error("cannot sync", path, errno);
    sync_failed = true;
  }
  if (e.code != error_code::ok) {
    ::close(fd);
    ::unlink(path.c_str());
    return e;
  }
  if (auto d = fsync_dir(dir_); d.code != error_code::ok) {
    ::close(fd);
    sync_failed = true;
    return d;
  }
  fd_ = fd;
  path_ = path;
  offset_ = segment_header_bytes;
  allocated_ = segment_header_bytes;
  dirty_end_ = 0;
  return {};
}

error_info log_appender::ensure_space(uint64_t end) {
  if (end <= allocated_)
    return {};
  uint64_t grow = std::max<uint64_t>(opts_.prealloc_bytes, end - allocated_);
  int rc = ::posix_fallocate(fd_, static_cast<off_t>(allocated_), static_cast<off_t>(grow));
  if (rc != 0)
    return io_error("cannot preallocate " + std::to_string(grow) + " bytes in", path_, rc);
  allocated_ += grow;
  return {};
}

error_info log_appender::commit(bool& fatal) {
  fatal = false;
  if (batch_.empty())
    return {};
  auto drop_batch = [&] {
    batch_.clear();
    batch_count_ = 0;
    batch_first_ = batch_last_ = 0;
    batch_has_txns_ = false;
  };
  zxid_t first = batch_first_ != 0 ? batch_first_ : last_zxid_ + 1;
  if (fd_ < 0 || (offset_ > segment_header_bytes && offset_ + batch_.size() > opts_.segment_bytes)) {
    if (fd_ >= 0 && unsynced_ && opts_.sync && ::fdatasync(fd_) != 0) {
      fatal = true; // as for any failed sync: what is on disk is unknown
      auto e = io_error("fdatasync failed on", path_, errno);
      drop_batch();
      return e;
    }
    unsynced_ = false;
    bool sync_failed = false;
    if (auto e = start_segment(first, sync_failed); e.code != error_code::ok) {
      fatal = sync_failed; // a failed sync stops the server, wherever it happens (found by the EIO tests)
      drop_batch();
      return e;
    }
  }
  // Garbage left by an earlier failed write must not survive past the new end.
  uint64_t end = offset_ + batch_.size();
  if (dirty_end_ > end)
    batch_.resize(batch_.size() + (dirty_end_ - end), 0);
  if (auto e = ensure_space(offset_ + batch_.size()); e.code != error_code::ok) {
    drop_batch();
    return e;
  }
  if (auto e = write_all(fd_, batch_.data(), batch_.size(), offset_, path_); e.code != error_code::ok) {
    // Leave zeros where the failed write may have left part of the batch.
    std::vector<char> zeros(batch_.size(), 0);
    dirty_end_ = std::max(dirty_end_, offset_ + batch_.size());
    if (write_all(fd_, zeros.data(), zeros.size(), offset_, path_).code == error_code::ok)
      dirty_end_ = 0;
    drop_batch();
    return e;
  }
  if (opts_.sync && batch_has_txns_ && ::fdatasync(fd_) != 0) {
    fatal = true;
    auto e = io_error("fdatasync failed on", path_, errno);
    drop_batch();
    return e;
  }
  unsynced_ = !batch_has_txns_;
  offset_ = end;
  dirty_end_ = 0;
  if (batch_last_ != 0)
    last_zxid_ = batch_last_;
  drop_batch();
  return {};
}

error_info log_appender::truncate_after(zxid_t zxid) {
  // Find the first txn record above `zxid`: the log is cut there. The scan does not check that txns
  // follow each other: the log may start anywhere after purges (and after a SNAP its txns follow the
  // snapshot, not the segment's name); that is recovery's business. (It used to scan as recovery
  // does, from zxid 0, and stopped at once on a purged log, "earlier txns are missing", cutting
  // nothing: found by corral-torture, a follower kept a deposed leader's uncommitted txns under the
  // new epoch's, and its restart replayed them and refused the digest.)
  std::string cut_file;
  uint64_t cut_offset = 0;
  zxid_t last_kept = 0;
  auto scan = scan_segments(
      list_segments(dir_), db_id_, 0,
      [&](log_entry&& e, const std::string& file, uint64_t offset) -> error_info {
        auto* t = std::get_if<txn>(&e);
        if (t == nullptr || !cut_file.empty())
          return {};
        if (t->zxid > zxid) {
          cut_file = file;
          cut_offset = offset;
        } else {
          last_kept = t->zxid;
        }
        return {};
      },
      UINT64_MAX, false);
  if (!scan)
    return scan.error();
  // Every txn this appender wrote must have been seen: a scan that stopped short (damage in the
  // middle of the log) could miss the very txns the cut is for.
  if (scan->last_zxid != last_zxid_)
    return error_info{
        error_code::system_error,
        "cannot truncate the log in " + dir_ + ": reading it back ended at txn " + to_hex(scan->last_zxid) + " but " +
            to_hex(last_zxid_) + " was written" +
            (scan->damage.what == log_damage::kind::none ? std::string() : " (" + scan->damage.to_string() + ")")};
  batch_.clear();
  batch_count_ = 0;
  batch_first_ = batch_last_ = 0;
  batch_has_txns_ = false;
  if (cut_file.empty())
    return {}; // nothing above `zxid`
  close_segment();
  // A later segment left behind would bring the cut txns back at the next start: fail instead (the
  // server stops; the operator sees the path).
  for (auto& seg : list_segments(dir_))
    if (seg.path > cut_file) {
      boost::system::error_code ec;
      fs::remove(seg.path, ec);
      if (ec)
        return error_info{error_code::system_error,
                          "cannot remove log segment " + seg.path + " while truncating: " + ec.message()};
    }
  if (auto e = fsync_dir(dir_); e.code != error_code::ok)
    return e;
  fd_ = ::open(cut_file.c_str(), O_RDWR);
  if (fd_ < 0)
    return io_error("cannot open log segment", cut_file, errno);
  path_ = cut_file;
  allocated_ = static_cast<uint64_t>(::lseek(fd_, 0, SEEK_END));
  std::vector<char> zeros(allocated_ - cut_offset, 0);
  if (auto e = write_all(fd_, zeros.data(), zeros.size(), cut_offset, path_); e.code != error_code::ok)
    return e;
  if (::fdatasync(fd_) != 0)
    return io_error("cannot sync", path_, errno);
  offset_ = cut_offset;
  dirty_end_ = 0;
  last_zxid_ = last_kept;
  return {};
}

std::vector<std::string> log_appender::purge_through(zxid_t zxid) {
  std::vector<std::string> removed;
  auto segs = list_segments(dir_);
  for (size_t i = 0; i + 1 < segs.size(); ++i) {
    if (segs[i].path == path_)
      break;
    if (segs[i + 1].first_zxid - 1 > zxid)
      break;
    // Purging only frees space: a segment that stays (remove failed) or comes back (the directory's
    // fsync failed and the machine crashed) holds txns at or below the snapshot's, which recovery
    // skips. So failures here are not errors; the next purge tries again.
    boost::system::error_code ec;
    if (fs::remove(segs[i].path, ec))
      removed.push_back(segs[i].path);
  }
  if (!removed.empty())
    (void)fsync_dir(dir_);
  return removed;
}

} // namespace corral::persistence
