// corral-footprint: how much memory the tree spends per znode. Builds N znodes with D bytes of data
// each (in 1000-node directories, like a service registry) through the real request processor, and
// reports the process's resident-memory growth per znode. A measurement, not a test.
//   corral-footprint [--nodes N] [--data-bytes D]
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include <malloc.h>

#include "core/database.hpp"

namespace {
long rss_kib() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stol(line.substr(6));
  return 0;
}
} // namespace

int main(int argc, char** argv) {
  long nodes = 1000000, data_bytes = 100;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--nodes") == 0)
      nodes = std::stol(argv[i + 1]);
    else if (std::strcmp(argv[i], "--data-bytes") == 0)
      data_bytes = std::stol(argv[i + 1]);
  }
  using namespace corral;
  database db(database_options{}, 1);
  auto open = db.prepare_open_session(10000, "pw", 1);
  db.apply(open);
  auto s = open.session;
  std::string data(static_cast<size_t>(data_bytes), 'x');
  auto t0 = std::chrono::steady_clock::now();
  malloc_trim(0);
  long before = rss_kib();
  long dirs = (nodes + 999) / 1000;
  for (long d = 0; d < dirs; ++d) {
    std::string dir = "/service-" + std::to_string(d);
    db.handle(s, request{0, create_request{dir, "", open_acl_unsafe(), create_mode::persistent, -1}}, 2);
    for (long i = 0; i < 1000 && d * 1000 + i < nodes; ++i)
      db.handle(s,
                request{0, create_request{dir + "/member-" + std::to_string(i), data, open_acl_unsafe(),
                                          create_mode::persistent, -1}},
                2);
  }
  long after = rss_kib();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("znodes: %zu (data %ld bytes each)\n", db.tree().node_count(), data_bytes);
  auto growth_kib = static_cast<double>(after - before);
  auto created = static_cast<double>(nodes + dirs);
  std::printf("resident growth: %.1f MiB, %.0f bytes per znode\n", growth_kib / 1024.0, growth_kib * 1024.0 / created);
  std::printf("build time: %.2f s (%.0f creates/s through prepare+apply)\n", secs, created / secs);
  return 0;
}
