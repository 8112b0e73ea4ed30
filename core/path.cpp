#include "core/path.hpp"

#include <cstdio>

namespace corral {

namespace {

// Decodes one UTF-8 code point at `i`; returns -1 on malformed input.
long next_code_point(std::string_view s, size_t& i) {
  auto c = static_cast<unsigned char>(s[i++]);
  if (c < 0x80)
    return c;
  int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : -1;
  if (extra < 0 || c >= 0xF8)
    return -1;
  long cp = c & (0x3F >> extra);
  for (int k = 0; k < extra; ++k) {
    if (i >= s.size())
      return -1;
    auto d = static_cast<unsigned char>(s[i++]);
    if ((d & 0xC0) != 0x80)
      return -1;
    cp = (cp << 6) | (d & 0x3F);
  }
  return cp;
}

// ZooKeeper's PathUtils rejects these code points.
bool is_forbidden(long cp) {
  return (cp > 0 && cp <= 0x1F) || (cp >= 0x7F && cp <= 0x9F) || (cp >= 0xD800 && cp <= 0xF8FF) ||
         (cp >= 0xFFF0 && cp <= 0xFFFF);
}

error_info bad(std::string_view path, const char* why) {
  std::string detail = "path '";
  detail.append(path);
  detail += "': ";
  detail += why;
  return {error_code::bad_arguments, std::move(detail)};
}

} // namespace

error_info validate_path(std::string_view path, bool sequential) {
  if (path.empty())
    return bad(path, "path length must be > 0");
  if (path[0] != '/')
    return bad(path, "path must start with / character");
  if (path.size() == 1)
    return {};
  if (path.back() == '/' && !sequential)
    return bad(path, "path must not end with / character");
  size_t i = 1;
  size_t component_start = 1;
  while (i <= path.size()) {
    if (i == path.size() || path[i] == '/') {
      auto comp = path.substr(component_start, i - component_start);
      bool last = i == path.size();
      if (comp.empty() && !(last && sequential))
        return bad(path, "empty node name specified");
      if (comp == "." || comp == "..")
        return bad(path, "relative paths not allowed");
      component_start = ++i;
      continue;
    }
    if (path[i] == '\0')
      return bad(path, "null character not allowed");
    auto cp = next_code_point(path, i);
    if (cp < 0)
      return bad(path, "invalid UTF-8");
    if (is_forbidden(cp))
      return bad(path, "invalid character");
  }
  return {};
}

std::string_view parent_of(std::string_view path) {
  if (path.size() <= 1)
    return {};
  auto pos = path.rfind('/');
  return pos == 0 ? path.substr(0, 1) : path.substr(0, pos);
}

std::string_view basename_of(std::string_view path) {
  auto pos = path.rfind('/');
  return pos == std::string_view::npos ? path : path.substr(pos + 1);
}

std::string join_path(std::string_view parent, std::string_view child) {
  std::string out(parent);
  if (out.empty() || out.back() != '/')
    out += '/';
  out.append(child);
  return out;
}

bool is_under(std::string_view path, std::string_view prefix) {
  if (prefix == "/")
    return !path.empty() && path[0] == '/';
  if (path.size() < prefix.size() || path.compare(0, prefix.size(), prefix) != 0)
    return false;
  return path.size() == prefix.size() || path[prefix.size()] == '/';
}

std::string sequence_suffix(int32_t counter) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%010d", counter);
  return buf;
}

} // namespace corral
