// Corral's log: one line per event an operator cares about, with a level, to stderr or a file.
// Debian's CAF is built with its own logging compiled out, so we bring this. Thread-safe; callable
// from any actor or thread. Lines look like:
//   2026-11-25T12:00:00.123Z INFO  server: listening on 127.0.0.1:2281 (native protocol)
#pragma once

#include <sstream>
#include <string>

namespace corral::log {

enum class level { debug = 0, info = 1, warn = 2, error = 3, off = 4 };

// "debug" | "info" | "warn" | "error" | "off"; false on an unknown name.
bool set_level(const std::string& name);
void set_level(level l);
// Appends to `path` instead of stderr; false (and a message on stderr) if it cannot be opened.
bool set_file(const std::string& path);
bool enabled(level l);
void write(level l, const std::string& component, const std::string& message);

namespace detail {
inline void append(std::ostringstream&) {}
template <class T, class... Ts>
void append(std::ostringstream& os, const T& x, const Ts&... xs) {
  os << x;
  append(os, xs...);
}
} // namespace detail

template <class... Ts>
void emit(level l, const char* component, const Ts&... xs) {
  if (!enabled(l))
    return;
  std::ostringstream os;
  detail::append(os, xs...);
  write(l, component, os.str());
}

template <class... Ts>
void debug(const char* c, const Ts&... xs) {
  emit(level::debug, c, xs...);
}
template <class... Ts>
void info(const char* c, const Ts&... xs) {
  emit(level::info, c, xs...);
}
template <class... Ts>
void warn(const char* c, const Ts&... xs) {
  emit(level::warn, c, xs...);
}
template <class... Ts>
void error(const char* c, const Ts&... xs) {
  emit(level::error, c, xs...);
}

// "0x1000004112e0000", as ZooKeeper prints session ids and zxids.
std::string hex(long long value);

} // namespace corral::log
