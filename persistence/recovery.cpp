#include "persistence/recovery.hpp"

#include <deque>
#include <random>
#include <sstream>

#include <boost/filesystem.hpp>

#include "core/format.hpp"
#include "persistence/files.hpp"
#include "persistence/snapshot.hpp"

namespace corral::persistence {

namespace fs = boost::filesystem;

namespace {

const char* meta_name = "corral.meta";

// Loads one snapshot into a fresh database; an error leaves nothing behind.
result<snapshot_contents> load_snapshot(const snapshot_file& snap, uint64_t db_id, database& db) {
  return read_snapshot(
      snap.path, db_id,
      [&](const snapshot_header& h) {
        for (auto& s : h.sessions)
          db.restore_session(s);
      },
      [&](std::vector<node_image>&& nodes) {
        for (auto& n : nodes)
          db.restore_node(n);
      });
}

} // namespace

namespace {

// Files written as `name.tmp` and renamed when complete (snapshots, a received snapshot, the epochs
// and identity files): one found at startup is what a crash left half-written. Nothing reads them;
// removing them keeps a server that crashes often from filling its disk. A failure to remove one is
// harmless, so it is only reported. Returns notes for the operator.
std::vector<std::string> remove_unfinished_files(const std::string& dir) {
  std::vector<std::string> notes;
  boost::system::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() != ".tmp")
      continue;
    boost::system::error_code rec;
    fs::remove(it->path(), rec);
    notes.push_back(rec ? "could not remove " + it->path().string() + ", a file a crash left unfinished (" +
                              rec.message() + "); it only takes space"
                        : "removed " + it->path().string() + ", a file a crash left unfinished");
  }
  return notes;
}

} // namespace

result<uint64_t> open_data_dir(const std::string& dir) {
  boost::system::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return error_info{error_code::system_error, "cannot create data directory " + dir + ": " + ec.message()};
  auto meta = (fs::path(dir) / meta_name).string();
  if (fs::exists(meta)) {
    auto content = read_file(meta);
    if (!content)
      return content.error();
    std::istringstream in(*content);
    std::string line;
    while (std::getline(in, line))
      if (line.rfind("db-id=", 0) == 0)
        return static_cast<uint64_t>(std::stoull(line.substr(6), nullptr, 16));
    return error_info{error_code::data_inconsistency, meta + " has no db-id line; it is damaged"};
  }
  if (!list_segments(dir).empty() || !list_snapshots(dir).empty())
    return error_info{error_code::data_inconsistency,
                      dir + " holds log or snapshot files but no " + meta_name + "; refusing to guess its identity"};
  std::random_device rd;
  uint64_t id = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  std::ostringstream out;
  out << "# Corral data directory. Do not edit.\nformat=1\ndb-id=" << std::hex << id << "\n";
  if (auto e = write_file_atomically(meta, out.str()); e.code != error_code::ok)
    return e;
  return id;
}

namespace {

// One recovery, in its steps: load the newest snapshot that reads, replay the log after it checking
// every digest the log and the snapshot recorded, then deal with the log's damage (a torn tail is
// cut; anything else refuses to start unless the operator asked for a repair).
class replay {
public:
  replay(const std::string& dir, uint64_t db_id, const database_options& opts, const recovery_options& ropts)
      : dir_(dir), db_id_(db_id), opts_(opts), ropts_(ropts) {}

  result<recovery_result> run() {
    out_.notes = remove_unfinished_files(dir_);
    load_newest_snapshot();
    out_.db->restored(out_.snapshot_zxid);
    if (have_snapshot_ && trailer_.end_zxid == out_.snapshot_zxid && digest() != trailer_.digest_at_end)
      return snapshot_mismatch(trailer_.end_zxid);
    fuzzy_until_ = have_snapshot_ ? trailer_.end_zxid : 0;
    auto scan = scan_log(
        dir_, db_id_, out_.snapshot_zxid,
        [this](log_entry&& e, const std::string& file, uint64_t offset) {
          return on_entry(std::move(e), file, offset);
        },
        ropts_.torn_window);
    if (!scan)
      return scan.error();
    out_.uncommitted_tail.assign(std::make_move_iterator(unapplied_.begin()),
                                 std::make_move_iterator(unapplied_.end()));
    out_.scan = std::move(*scan);
    if (auto e = handle_damage(); e.code != error_code::ok)
      return e;
    if (have_snapshot_ && !ropts_.only_committed && out_.scan.last_zxid < trailer_.end_zxid &&
        out_.db->last_applied() < trailer_.end_zxid)
      return error_info{error_code::data_inconsistency,
                        "snapshot " + out_.snapshot + " covers txns up to " + to_hex(trailer_.end_zxid) +
                            " but the log ends at " + to_hex(out_.db->last_applied()) + "; log segments are missing"};
    return std::move(out_);
  }

private:
  // How many recent (zxid, digest) pairs to keep for the digest records, which the log carries a
  // little after the txns they cover.
  static constexpr size_t recent_digests = 200000;

  uint64_t digest() const { return out_.db->tree().digest(); }

  // The newest snapshot that reads in full; an unreadable one is noted and an older one tried.
  void load_newest_snapshot() {
    out_.db = std::make_unique<database>(opts_, ropts_.now_ms);
    for (auto& snap : list_snapshots(dir_)) {
      auto db = std::make_unique<database>(opts_, ropts_.now_ms);
      auto loaded = load_snapshot(snap, db_id_, *db);
      if (!loaded) {
        out_.notes.push_back("skipped snapshot: " + loaded.error().detail + "; trying an older one");
        continue;
      }
      out_.db = std::move(db);
      out_.snapshot = snap.path;
      out_.snapshot_zxid = loaded->header.start_zxid;
      trailer_ = loaded->trailer;
      have_snapshot_ = true;
      return;
    }
  }

  error_info snapshot_mismatch(zxid_t at) const {
    return error_info{error_code::data_inconsistency,
                      "tree digest after replaying to " + to_hex(at) + " does not match snapshot " + out_.snapshot +
                          " (recorded " + to_hex(trailer_.digest_at_end) + ", have " + to_hex(digest()) +
                          "); move that snapshot aside to recover from an older one and the log"};
  }

  error_info apply(const txn& t) {
    out_.db->apply(t);
    if (ropts_.keep_replayed)
      out_.replayed_txns.push_back(t);
    ++out_.replayed;
    recent_.emplace_back(t.zxid, digest());
    if (recent_.size() > recent_digests)
      recent_.pop_front();
    if (have_snapshot_ && t.zxid == trailer_.end_zxid && digest() != trailer_.digest_at_end)
      return snapshot_mismatch(t.zxid);
    return {};
  }

  // A txn is applied at once, or (only_committed) held until a digest record covers it: that record
  // was written after the txn was applied, so after it was committed.
  error_info on_entry(log_entry&& e, const std::string& file, uint64_t offset) {
    if (auto* t = std::get_if<txn>(&e)) {
      if (!ropts_.only_committed)
        return apply(*t);
      unapplied_.push_back(std::move(*t));
      return {};
    }
    auto& d = std::get<digest_check>(e);
    while (ropts_.only_committed && !unapplied_.empty() && unapplied_.front().zxid <= d.zxid) {
      if (auto err = apply(unapplied_.front()); err.code != error_code::ok)
        return err;
      unapplied_.pop_front();
    }
    return check_digest(d, file, offset);
  }

  // Digest records up to the snapshot's end are fuzzy (the snapshot was taken while txns applied).
  error_info check_digest(const digest_check& d, const std::string& file, uint64_t offset) const {
    if (d.zxid <= fuzzy_until_)
      return {};
    for (auto it = recent_.rbegin(); it != recent_.rend(); ++it) {
      if (it->first != d.zxid)
        continue;
      if (it->second == d.digest)
        return {};
      return error_info{error_code::data_inconsistency,
                        "tree digest after " + to_hex(d.zxid) + " is " + to_hex(it->second) + " but the log (" + file +
                            " at offset " + std::to_string(offset) + ") recorded " + to_hex(d.digest) +
                            "; this server's data is inconsistent: restore the data directory from a backup or "
                            "a healthy replica"};
    }
    return {};
  }

  error_info handle_damage() {
    auto& dmg = out_.scan.damage;
    using kind = log_damage::kind;
    if (dmg.what == kind::none)
      return {};
    if (dmg.what == kind::torn_tail) {
      out_.notes.push_back("cut a torn tail of " + std::to_string(dmg.garbage_end - dmg.offset) + " bytes at offset " +
                           std::to_string(dmg.offset) + " of " + dmg.file + " (" + dmg.reason +
                           "); nothing there was acknowledged");
      return {};
    }
    if (!ropts_.repair)
      return error_info{error_code::data_inconsistency,
                        dmg.to_string() + ". Committed data may be lost here, so the server will not start. "
                                          "Restore the data directory from a backup or a healthy replica, or start "
                                          "with --corral.repair-log=true to cut the log at this point (losing "
                                          "what follows)."};
    return repair(dmg);
  }

  // Everything from the damage on goes, in this segment and the ones after it. A segment that cannot
  // be removed would be read again at the next start: refuse rather than half-repair.
  error_info repair(const log_damage& dmg) {
    for (auto& seg : list_segments(dir_)) {
      if (seg.path <= dmg.file)
        continue;
      boost::system::error_code ec;
      fs::remove(seg.path, ec);
      if (ec)
        return error_info{error_code::system_error, "repair: cannot remove log segment " + seg.path + " (" +
                                                        ec.message() + "); remove it by hand and start again"};
      out_.notes.push_back("repair: removed log segment " + seg.path);
    }
    boost::system::error_code ec;
    auto size = fs::file_size(dmg.file, ec);
    if (ec)
      return error_info{error_code::system_error, "repair: cannot read the size of " + dmg.file + ": " + ec.message()};
    out_.scan.tail_segment = dmg.file;
    out_.scan.tail_offset = dmg.offset;
    out_.scan.tail_garbage_end = size;
    out_.notes.push_back("repair: cut the log at offset " + std::to_string(dmg.offset) + " of " + dmg.file + " (" +
                         dmg.to_string() + ")");
    return {};
  }

  const std::string& dir_;
  uint64_t db_id_;
  const database_options& opts_;
  const recovery_options& ropts_;
  recovery_result out_;
  snapshot_trailer trailer_;
  bool have_snapshot_ = false;
  zxid_t fuzzy_until_ = 0;
  std::deque<std::pair<zxid_t, uint64_t>> recent_; // digests after recent txns
  std::deque<txn> unapplied_;                      // only_committed: waiting for a digest record
};

} // namespace

result<recovery_result> recover(const std::string& dir, uint64_t db_id, const database_options& opts,
                                const recovery_options& ropts) {
  return replay(dir, db_id, opts, ropts).run();
}

} // namespace corral::persistence
