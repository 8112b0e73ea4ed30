#include "actors/logging.hpp"

#include "core/fatal.hpp"
#include "core/format.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace corral::log {

namespace {
std::atomic<int> current{static_cast<int>(level::info)};
std::mutex mtx;
FILE* out = nullptr;

const char* name_of(level l) {
  switch (l) {
    case level::debug: return "DEBUG";
    case level::info: return "INFO ";
    case level::warn: return "WARN ";
    case level::error: return "ERROR";
    default: return "?    ";
  }
}

// CORRAL_FATAL / CORRAL_CHECK lines go where the log goes (a file, for a server), whatever the level.
void fatal_to_log(const char* component, const std::string& line);
const bool fatal_writer_installed = (set_fatal_writer(&fatal_to_log), true);
} // namespace

bool set_level(const std::string& name) {
  static const char* names[] = {"debug", "info", "warn", "error", "off"};
  for (int i = 0; i < 5; ++i)
    if (name == names[i]) {
      current = i;
      return true;
    }
  return false;
}

void set_level(level l) { current = static_cast<int>(l); }

bool set_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "a");
  if (f == nullptr) {
    std::fprintf(stderr, "cannot open log file %s; logging to stderr\n", path.c_str());
    return false;
  }
  std::lock_guard<std::mutex> guard(mtx);
  out = f;
  return true;
}

bool enabled(level l) { return static_cast<int>(l) >= current.load(std::memory_order_relaxed); }

void write(level l, const std::string& component, const std::string& message) {
  using namespace std::chrono;
  auto ms = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  auto stamp = format_utc(ms, "%Y-%m-%dT%H:%M:%S", true);
  std::lock_guard<std::mutex> guard(mtx);
  FILE* f = out != nullptr ? out : stderr;
  std::fprintf(f, "%s %s %s: %s\n", stamp.c_str(), name_of(l), component.c_str(), message.c_str());
  std::fflush(f);
}

std::string hex(long long value) { return to_hex(static_cast<uint64_t>(value)); }

namespace {
void fatal_to_log(const char* component, const std::string& line) {
  // write() also flushes: the process ends right after this.
  write(level::error, component, "FATAL " + line);
}
} // namespace

} // namespace corral::log
