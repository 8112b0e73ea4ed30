#include "core/quota.hpp"

#include <charconv>

namespace corral::quota {

namespace {

std::optional<int64_t> number(std::string_view s) {
  if (s.empty())
    return -1; // "key=" reads as unset, as in StatsTrack
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size())
    return std::nullopt;
  return v;
}

void take_pair(std::string_view pair, track& out) {
  auto eq = pair.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return;
  auto key = pair.substr(0, eq);
  auto value = pair.substr(eq + 1);
  value = value.substr(0, value.find('=')); // "bytes=-1=" carries a stray '='
  if (auto v = number(value))
    out[std::string(key)] = *v;
}

std::optional<std::string> subtree_of(std::string_view path, std::string_view leaf) {
  if (path.size() <= root.size() + leaf.size() + 1 || path.substr(0, root.size()) != root)
    return std::nullopt;
  auto slash = path.rfind('/');
  if (path.substr(slash + 1) != leaf)
    return std::nullopt;
  auto subtree = path.substr(root.size(), slash - root.size());
  if (subtree.empty() || subtree[0] != '/')
    return std::nullopt;
  return std::string(subtree);
}

} // namespace

track parse_track(std::string_view text) {
  track out;
  size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find_first_of(",;", start);
    if (end == std::string_view::npos)
      end = text.size();
    take_pair(text.substr(start, end - start), out);
    start = end + 1;
  }
  return out;
}

int64_t get(const track& t, const std::string& key) {
  auto it = t.find(key);
  return it == t.end() ? -1 : it->second;
}

std::string to_string(const track& t) {
  auto out = "count=" + std::to_string(get(t, "count")) + ",bytes=" + std::to_string(get(t, "bytes"));
  bool first = true;
  for (auto& [key, value] : t) {
    if (key == "count" || key == "bytes")
      continue;
    if (first)
      out += "=";
    first = false;
    out += ";" + key + "=" + std::to_string(value);
  }
  return out;
}

limits parse(std::string_view text) {
  auto t = parse_track(text);
  return limits{get(t, "count"), get(t, "bytes"), get(t, "countHardLimit"), get(t, "byteHardLimit")};
}

std::string format_usage(const usage& u) {
  return "count=" + std::to_string(u.count) + ",bytes=" + std::to_string(u.bytes);
}

std::string limit_path(std::string_view path) {
  return std::string(root) + std::string(path) + "/" + std::string(limit_node);
}
std::string stat_path(std::string_view path) {
  return std::string(root) + std::string(path) + "/" + std::string(stat_node);
}
std::optional<std::string> subtree_of_limit_node(std::string_view path) { return subtree_of(path, limit_node); }
std::optional<std::string> subtree_of_stat_node(std::string_view path) { return subtree_of(path, stat_node); }

std::optional<excess> check(const limits& l, const usage& now, int64_t count, int64_t bytes) {
  // As ZooKeeper's checkQuota: a hard limit, if set, is the one that counts; a soft one only warns.
  auto over = [](const char* what, int64_t soft, int64_t hard, int64_t after) -> std::optional<excess> {
    bool is_hard = hard > -1;
    int64_t limit = is_hard ? hard : soft;
    if (limit < 0 || after <= limit)
      return std::nullopt;
    return excess{std::string(what) + " " + std::to_string(after) + " > " + (is_hard ? "hard" : "soft") + " limit " +
                      std::to_string(limit),
                  is_hard};
  };
  std::optional<excess> found;
  if (count != 0)
    found = over("count", l.count, l.count_hard, now.count + count);
  if (bytes != 0 && (!found || !found->hard))
    if (auto b = over("bytes", l.bytes, l.bytes_hard, now.bytes + bytes); b && (!found || b->hard))
      found = b;
  return found;
}

} // namespace corral::quota
