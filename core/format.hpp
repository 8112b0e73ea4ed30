// Small formatting helpers shared by logs, tools and error messages.
#pragma once

#include <cstdint>
#include <cstdio>
#include <ctime>
#include <string>
#include <utility>
#include <vector>

namespace corral {

// Wall-clock milliseconds in UTC with a strftime format; with `millis`, ".mmmZ" is appended
// ("2026-11-25T12:00:00.123Z" for log lines and dumps, zkCli's "Wed Nov 25 12:00:00 UTC 2026" for stats).
inline std::string format_utc(int64_t ms, const char* format, bool millis = false) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm;
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, format, &tm);
  std::string out = buf;
  if (millis) {
    char frac[8];
    std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms % 1000));
    out += frac;
  }
  return out;
}

// "0x1000004112e0000", as ZooKeeper prints zxids and session ids.
inline std::string to_hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// Bytes as lowercase hex, two digits each ("\x01\xff" -> "01ff"): for dumps and test messages.
inline std::string hex_bytes(const char* data, size_t size) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    auto b = static_cast<unsigned char>(data[i]);
    out += digits[b >> 4];
    out += digits[b & 15];
  }
  return out;
}

// Parses "<prefix><16 hex digits>" (log.0000000000000001, snapshot....); false if it is not that.
inline bool parse_hex_name(const std::string& name, const std::string& prefix, int64_t& out) {
  if (name.size() != prefix.size() + 16 || name.compare(0, prefix.size(), prefix) != 0)
    return false;
  unsigned long long v = 0;
  for (size_t i = prefix.size(); i < name.size(); ++i) {
    char c = name[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    if (d < 0)
      return false;
    v = v * 16 + static_cast<unsigned>(d);
  }
  out = static_cast<int64_t>(v);
  return true;
}

} // namespace corral
