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

result<recovery_result> recover(const std::string& dir, uint64_t db_id, const database_options& opts,
                                const recovery_options& ropts) {
  recovery_result out;
  out.db = std::make_unique<database>(opts, ropts.now_ms);
  snapshot_trailer trailer;
  bool have_snapshot = false;
  for (auto& snap : list_snapshots(dir)) {
    auto db = std::make_unique<database>(opts, ropts.now_ms);
    auto loaded = load_snapshot(snap, db_id, *db);
    if (!loaded) {
      out.notes.push_back("skipped snapshot: " + loaded.error().detail + "; trying an older one");
      continue;
    }
    out.db = std::move(db);
    out.snapshot = snap.path;
    out.snapshot_zxid = loaded->header.start_zxid;
    trailer = loaded->trailer;
    have_snapshot = true;
    break;
  }
  auto& db = *out.db;
  db.restored(out.snapshot_zxid);
  auto snapshot_mismatch = [&](zxid_t at) {
    return error_info{error_code::data_inconsistency,
                      "tree digest after replaying to " + to_hex(at) + " does not match snapshot " + out.snapshot +
                          " (recorded " + to_hex(trailer.digest_at_end) + ", have " + to_hex(db.tree().digest()) +
                          "); move that snapshot aside to recover from an older one and the log"};
  };
  if (have_snapshot && trailer.end_zxid == out.snapshot_zxid && db.tree().digest() != trailer.digest_at_end)
    return snapshot_mismatch(trailer.end_zxid);
  // Digests after recent txns, to check the digest records that the log carries a little later.
  std::deque<std::pair<zxid_t, uint64_t>> recent;
  zxid_t fuzzy_until = have_snapshot ? trailer.end_zxid : 0;
  std::deque<txn> unapplied; // only_committed: waiting for a digest check that covers them
  auto apply_one = [&](const txn& t) -> error_info {
    db.apply(t);
    if (ropts.keep_replayed)
      out.replayed_txns.push_back(t);
    ++out.replayed;
    recent.emplace_back(t.zxid, db.tree().digest());
    if (recent.size() > 200000)
      recent.pop_front();
    if (have_snapshot && t.zxid == trailer.end_zxid && db.tree().digest() != trailer.digest_at_end)
      return snapshot_mismatch(t.zxid);
    return {};
  };
  auto visit = [&](log_entry&& e, const std::string& file, uint64_t offset) -> error_info {
    if (ropts.only_committed) {
      if (auto* t = std::get_if<txn>(&e)) {
        unapplied.push_back(std::move(*t));
        return {};
      }
      auto upto = std::get<digest_check>(e).zxid;
      while (!unapplied.empty() && unapplied.front().zxid <= upto) {
        if (auto err = apply_one(unapplied.front()); err.code != error_code::ok)
          return err;
        unapplied.pop_front();
      }
    } else if (auto* t = std::get_if<txn>(&e)) {
      return apply_one(*t);
    }
    auto& d = std::get<digest_check>(e);
    if (d.zxid <= fuzzy_until)
      return {};
    for (auto it = recent.rbegin(); it != recent.rend(); ++it) {
      if (it->first != d.zxid)
        continue;
      if (it->second != d.digest)
        return error_info{error_code::data_inconsistency,
                          "tree digest after " + to_hex(d.zxid) + " is " + to_hex(it->second) + " but the log (" + file +
                              " at offset " + std::to_string(offset) + ") recorded " + to_hex(d.digest) +
                              "; this server's data is inconsistent: restore the data directory from a backup or "
                              "a healthy replica"};
      break;
    }
    return {};
  };
  auto scan = scan_log(dir, db_id, out.snapshot_zxid, visit, ropts.torn_window);
  if (!scan)
    return scan.error();
  out.uncommitted_tail.assign(std::make_move_iterator(unapplied.begin()), std::make_move_iterator(unapplied.end()));
  out.scan = std::move(*scan);
  auto& dmg = out.scan.damage;
  using kind = log_damage::kind;
  if (dmg.what == kind::torn_tail) {
    out.notes.push_back("cut a torn tail of " + std::to_string(dmg.garbage_end - dmg.offset) + " bytes at offset " +
                        std::to_string(dmg.offset) + " of " + dmg.file + " (" + dmg.reason +
                        "); nothing there was acknowledged");
  } else if (dmg.what != kind::none) {
    if (!ropts.repair)
      return error_info{error_code::data_inconsistency,
                        dmg.to_string() + ". Committed data may be lost here, so the server will not start. "
                                          "Restore the data directory from a backup or a healthy replica, or start "
                                          "with --corral.repair-log=true to cut the log at this point (losing "
                                          "what follows)."};
    // Repair: everything from the damage on goes, in this segment and the ones after it.
    for (auto& seg : list_segments(dir))
      if (seg.path > dmg.file) {
        boost::system::error_code ec;
        fs::remove(seg.path, ec);
        out.notes.push_back("repair: removed log segment " + seg.path);
      }
    out.scan.tail_segment = dmg.file;
    out.scan.tail_offset = dmg.offset;
    out.scan.tail_garbage_end = fs::file_size(dmg.file);
    out.notes.push_back("repair: cut the log at offset " + std::to_string(dmg.offset) + " of " + dmg.file + " (" +
                        dmg.to_string() + ")");
  }
  if (have_snapshot && !ropts.only_committed && out.scan.last_zxid < trailer.end_zxid &&
      out.db->last_applied() < trailer.end_zxid)
    return error_info{error_code::data_inconsistency,
                      "snapshot " + out.snapshot + " covers txns up to " + to_hex(trailer.end_zxid) +
                          " but the log ends at " + to_hex(out.db->last_applied()) + "; log segments are missing"};
  return out;
}

} // namespace corral::persistence
