// corral-logdump: prints Corral's log segments and snapshots as readable records, verifies every
// checksum, and prints the tree digest.
//   corral-logdump FILE...            a log segment (log.*) or a snapshot (snapshot.*)
//   corral-logdump DATA_DIR           the whole log, then the digest of the recovered tree
//   --verify                          only check; print damage and exit 1 if there is any
//   --nodes                           with a snapshot: print every znode
#include <cstring>
#include <iostream>

#include <boost/filesystem.hpp>

#include "core/format.hpp"
#include "persistence/files.hpp"
#include "persistence/log.hpp"
#include "persistence/recovery.hpp"
#include "persistence/snapshot.hpp"

using namespace corral;
using namespace corral::persistence;
namespace fs = boost::filesystem;

namespace {

bool verify_only = false;
bool print_nodes = false;

error_info print_entry(log_entry&& e, const std::string&, uint64_t) {
  if (!verify_only)
    std::cout << describe(e) << "\n";
  return {};
}

int report(const log_scan& scan, const std::string& what) {
  std::cout << what << ": " << scan.entries << " records, last txn " << to_hex(scan.last_zxid) << "\n";
  if (scan.damage.what == log_damage::kind::none) {
    std::cout << "checksums: all good\n";
    return 0;
  }
  std::cout << "DAMAGE: " << scan.damage.to_string() << "\n";
  return 1;
}

int dump_segment(const std::string& path) {
  zxid_t first;
  if (!parse_segment_name(fs::path(path).filename().string(), first)) {
    std::cerr << path << ": not a log segment name (log.<16 hex digits>)\n";
    return 2;
  }
  auto scan = scan_segments({{path, first}}, segment_db_id(path), first - 1, print_entry, UINT64_MAX);
  if (!scan) {
    std::cerr << scan.error().detail << "\n";
    return 2;
  }
  return report(*scan, path);
}

int dump_snapshot(const std::string& path) {
  uint64_t nodes = 0;
  auto r = read_snapshot(
      path, 0, [](const snapshot_header&) {},
      [&](std::vector<node_image>&& chunk) {
        for (auto& n : chunk) {
          ++nodes;
          if (print_nodes && !verify_only)
            std::cout << n.path << " " << n.data.size() << " bytes czxid " << to_hex(n.czxid) << " mzxid "
                      << to_hex(n.mzxid) << " version " << n.version << " owner " << to_hex(n.ephemeral_owner) << "\n";
        }
      });
  if (!r) {
    std::cout << "DAMAGE: " << r.error().detail << "\n";
    return 1;
  }
  std::cout << path << ": snapshot from zxid " << to_hex(r->header.start_zxid) << " to " << to_hex(r->trailer.end_zxid)
            << ", " << r->nodes << " znodes, " << r->header.sessions.size() << " sessions\n";
  for (auto& s : r->header.sessions)
    std::cout << "  session " << to_hex(s.id) << " timeout " << s.timeout_ms << " ms\n";
  std::cout << "tree digest at " << to_hex(r->trailer.end_zxid) << ": " << to_hex(r->trailer.digest_at_end) << "\n";
  std::cout << "checksums: all good\n";
  return 0;
}

int dump_dir(const std::string& dir) {
  if (!fs::exists(fs::path(dir) / "corral.meta")) {
    std::cerr << dir << ": not a Corral data directory (no corral.meta)\n";
    return 2;
  }
  auto id = open_data_dir(dir);
  if (!id) {
    std::cerr << id.error().detail << "\n";
    return 2;
  }
  // The log is kept from the oldest snapshot on (older segments are purged with older snapshots).
  auto snaps = list_snapshots(dir);
  zxid_t from = snaps.empty() ? 0 : snaps.back().start_zxid;
  auto scan = scan_log(dir, *id, from, print_entry, UINT64_MAX);
  if (!scan) {
    std::cerr << scan.error().detail << "\n";
    return 2;
  }
  int rc = report(*scan, dir);
  for (auto& snap : snaps)
    rc |= dump_snapshot(snap.path);
  recovery_options ropts;
  auto rec = recover(dir, *id, database_options{}, ropts);
  if (!rec) {
    std::cout << "recovery would fail: " << rec.error().detail << "\n";
    return 1;
  }
  std::cout << "recovered tree: " << rec->db->tree().node_count() << " znodes at zxid "
            << to_hex(rec->db->last_applied()) << ", digest " << to_hex(rec->db->tree().digest()) << "\n";
  return rc;
}

} // namespace

int main(int argc, char** argv) {
  std::vector<std::string> targets;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--verify") == 0)
      verify_only = true;
    else if (std::strcmp(argv[i], "--nodes") == 0)
      print_nodes = true;
    else if (std::strcmp(argv[i], "--help") == 0 || std::strcmp(argv[i], "-h") == 0) {
      std::cout << "usage: corral-logdump [--verify] [--nodes] FILE|DATA_DIR...\n";
      return 0;
    } else
      targets.push_back(argv[i]);
  }
  if (targets.empty()) {
    std::cerr << "usage: corral-logdump [--verify] [--nodes] FILE|DATA_DIR...\n";
    return 2;
  }
  int rc = 0;
  for (auto& t : targets) {
    auto name = fs::path(t).filename().string();
    zxid_t z;
    if (fs::is_directory(t))
      rc |= dump_dir(t);
    else if (parse_segment_name(name, z))
      rc |= dump_segment(t);
    else if (parse_snapshot_name(name, z))
      rc |= dump_snapshot(t);
    else {
      std::cerr << t << ": neither a log segment (log.*), a snapshot (snapshot.*) nor a data directory\n";
      rc |= 2;
    }
  }
  return rc;
}
