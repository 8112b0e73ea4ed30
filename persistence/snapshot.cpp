#include "persistence/snapshot.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <boost/filesystem.hpp>

#include "core/format.hpp"
#include "core/hash.hpp"
#include "persistence/files.hpp"

namespace corral::persistence {

namespace fs = boost::filesystem;

namespace {
constexpr char magic[8] = {'C', 'O', 'R', 'R', 'S', 'N', 'A', 'P'};
constexpr uint32_t format_version = 1;
constexpr size_t file_header_bytes = 16;
constexpr size_t flush_bytes = 1 << 20;

// One frame: u32 length | u32 crc32c(payload) | payload.
template <class Out>
void put_payload(Out& out, kj::ArrayPtr<const capnp::word> words) {
  auto payload = words.asBytes();
  uint32_t len = static_cast<uint32_t>(payload.size());
  uint32_t crc = crc32c(payload.begin(), payload.size());
  auto* l = reinterpret_cast<const char*>(&len);
  auto* c = reinterpret_cast<const char*>(&crc);
  out.insert(out.end(), l, l + 4);
  out.insert(out.end(), c, c + 4);
  out.insert(out.end(), reinterpret_cast<const char*>(payload.begin()), reinterpret_cast<const char*>(payload.end()));
}

template <class Out>
void put_frame(Out& out, const snapshot_frame& f) {
  put_payload(out, encode_snapshot_frame(f));
}
} // namespace

uint64_t snapshot_policy::txns_before_snapshot(uint64_t node_count, uint64_t roll) const {
  uint64_t t = std::max<uint64_t>({every_txns, node_count / 2, 1});
  uint64_t low = t / 2 + 1; // t == 1: low == 1 == t
  return low + roll % (t - low + 1);
}

std::string snapshot_name(zxid_t start_zxid) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "snapshot.%016llx", static_cast<unsigned long long>(start_zxid));
  return buf;
}

bool parse_snapshot_name(const std::string& name, zxid_t& start_zxid) {
  return parse_hex_name(name, "snapshot.", start_zxid);
}

std::vector<snapshot_file> list_snapshots(const std::string& dir) {
  std::vector<snapshot_file> out;
  auto found = list_hex_named(dir, "snapshot.");
  for (auto it = found.rbegin(); it != found.rend(); ++it) // newest first
    out.push_back({it->first, it->second});
  return out;
}

snapshot_writer::snapshot_writer(std::string dir, zxid_t start_zxid, bool sync) : dir_(std::move(dir)), sync_(sync) {
  final_ = (fs::path(dir_) / snapshot_name(start_zxid)).string();
  tmp_ = final_ + ".tmp";
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd_ < 0) {
    failed_ = io_error("cannot create snapshot", tmp_, errno);
    return;
  }
  char header[file_header_bytes] = {};
  std::memcpy(header, magic, 8);
  std::memcpy(header + 8, &format_version, 4);
  buf_.insert(buf_.end(), header, header + file_header_bytes);
}

snapshot_writer::~snapshot_writer() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str()); // not finished: never leave a partial snapshot behind
  }
}

error_info snapshot_writer::flush() {
  if (failed_.code != error_code::ok)
    return failed_;
  if (buf_.empty())
    return {};
  failed_ = write_all(fd_, buf_.data(), buf_.size(), offset_, tmp_);
  offset_ += buf_.size();
  buf_.clear();
  return failed_;
}

error_info snapshot_writer::add(const snapshot_frame& frame) {
  if (failed_.code != error_code::ok)
    return failed_;
  put_frame(buf_, frame);
  return buf_.size() >= flush_bytes ? flush() : error_info{};
}

error_info snapshot_writer::add_chunk(kj::ArrayPtr<const capnp::word> payload) {
  if (failed_.code != error_code::ok)
    return failed_;
  put_payload(buf_, payload);
  return buf_.size() >= flush_bytes ? flush() : error_info{};
}

error_info snapshot_writer::finish(const snapshot_trailer& trailer) {
  if (auto e = add(trailer); e.code != error_code::ok)
    return e;
  if (auto e = flush(); e.code != error_code::ok)
    return e;
  if (sync_ && ::fsync(fd_) != 0)
    return io_error("cannot fsync snapshot", tmp_, errno);
  ::close(fd_);
  fd_ = -1;
  if (::rename(tmp_.c_str(), final_.c_str()) != 0)
    return io_error("cannot rename snapshot to", final_, errno);
  return sync_ ? fsync_dir(dir_) : error_info{};
}

result<snapshot_contents> read_snapshot(const std::string& path, uint64_t db_id,
                                        const std::function<void(const snapshot_header&)>& on_header,
                                        const std::function<void(std::vector<node_image>&&)>& on_nodes) {
  // Map the file and parse every frame in place (frames start 8 bytes after a whole number of
  // words, so their payloads are aligned).
  auto mapped = mapped_file::open(path);
  if (!mapped)
    return mapped.error();
  const mapped_file& file = *mapped;
  std::string_view bytes(file.bytes(), file.size());
  auto bad = [&](uint64_t offset, const std::string& why) {
    return error_info{error_code::data_inconsistency,
                      "snapshot " + path + " is damaged at offset " + std::to_string(offset) + ": " + why};
  };
  if (bytes.size() < file_header_bytes || std::memcmp(bytes.data(), magic, 8) != 0)
    return bad(0, "not a Corral snapshot");
  uint32_t version;
  std::memcpy(&version, bytes.data() + 8, 4);
  if (version != format_version)
    return bad(8, "format version " + std::to_string(version) + " is not supported");
  snapshot_contents out;
  bool have_header = false, have_trailer = false;
  uint64_t pos = file_header_bytes;
  while (pos < bytes.size()) {
    if (have_trailer)
      return bad(pos, "data after the trailer");
    if (pos + 8 > bytes.size())
      return bad(pos, "frame header cut short");
    uint32_t len, crc;
    std::memcpy(&len, bytes.data() + pos, 4);
    std::memcpy(&crc, bytes.data() + pos + 4, 4);
    if (len % 8 != 0 || pos + 8 + len > bytes.size())
      return bad(pos, "frame length " + std::to_string(len) + " is not valid here");
    if (crc32c(bytes.data() + pos + 8, len) != crc)
      return bad(pos, "frame checksum mismatch");
    auto frame = decode_snapshot_frame(kj::arrayPtr(file.words() + (pos + 8) / 8, len / 8));
    if (!frame)
      return bad(pos, frame.error().detail);
    if (auto* h = std::get_if<snapshot_header>(&*frame)) {
      if (have_header)
        return bad(pos, "a second header");
      if (db_id != 0 && h->db_id != db_id)
        return bad(pos, "it belongs to another database");
      out.header = *h;
      have_header = true;
      on_header(*h);
    } else if (auto* n = std::get_if<std::vector<node_image>>(&*frame)) {
      if (!have_header)
        return bad(pos, "nodes before the header");
      out.nodes += n->size();
      on_nodes(std::move(*n));
    } else {
      out.trailer = std::get<snapshot_trailer>(*frame);
      have_trailer = true;
    }
    pos += 8 + len;
  }
  if (!have_header || !have_trailer)
    return bad(pos, "it ends before its trailer");
  if (out.trailer.node_count != out.nodes)
    return bad(pos, "trailer counts " + std::to_string(out.trailer.node_count) + " nodes, the file holds " +
                        std::to_string(out.nodes));
  return out;
}

std::string snapshot_bytes(const database& db, uint64_t db_id) {
  std::string out;
  char header[file_header_bytes] = {};
  std::memcpy(header, magic, 8);
  std::memcpy(header + 8, &format_version, 4);
  out.append(header, file_header_bytes);
  auto frame = [&](const snapshot_frame& f) { put_frame(out, f); };
  frame(snapshot_header{db_id, db.last_applied(), db.session_images()});
  std::string cursor;
  uint64_t count = 0;
  chunk_encoder encoder;
  word_buffer chunk;
  while (auto n = encoder.encode(db.tree(), cursor, chunk_nodes, chunk)) {
    count += n;
    put_payload(out, kj::ArrayPtr<const capnp::word>(chunk.data(), chunk.size()));
  }
  frame(snapshot_trailer{db.last_applied(), count, db.tree().digest()});
  return out;
}

result<std::string> install_snapshot_bytes(const std::string& dir, uint64_t db_id, const std::string& bytes) {
  // The leader's snapshot names the leader's data directory; each server of an ensemble has its own,
  // so the content is checked (every frame's CRC, the trailer) and written again under our id.
  auto tmp = (fs::path(dir) / "snapshot.received.tmp").string();
  if (auto e = write_file_atomically(tmp, bytes); e.code != error_code::ok)
    return e;
  std::unique_ptr<snapshot_writer> out;
  error_info failed;
  auto check = read_snapshot(
      tmp, 0,
      [&](const snapshot_header& h) {
        out = std::make_unique<snapshot_writer>(dir, h.start_zxid, true);
        auto mine = h;
        mine.db_id = db_id;
        failed = out->add(mine);
      },
      [&](std::vector<node_image>&& nodes) {
        if (failed.code == error_code::ok)
          failed = out->add(std::move(nodes));
      });
  // A copy left behind (remove failed) only takes space; open_data_dir removes it at the next start.
  boost::system::error_code ec;
  fs::remove(tmp, ec);
  if (!check)
    return check.error();
  if (failed.code != error_code::ok)
    return failed;
  if (auto e = out->finish(check->trailer); e.code != error_code::ok)
    return e;
  return out->final_path();
}

std::vector<std::string> purge_snapshots(const std::string& dir, size_t keep) {
  std::vector<std::string> removed;
  auto snaps = list_snapshots(dir);
  for (size_t i = keep; i < snaps.size(); ++i) {
    // As with log segments: an old snapshot that stays or comes back after a crash only takes space
    // (recovery loads the newest one that reads); the next purge tries again.
    boost::system::error_code ec;
    if (fs::remove(snaps[i].path, ec))
      removed.push_back(snaps[i].path);
  }
  if (!removed.empty())
    (void)fsync_dir(dir);
  return removed;
}

} // namespace corral::persistence
