// ZooKeeper's quotas: what a quota node says and where it lives. A quota on a subtree `P` is the node
// /zookeeper/quota<P>/zookeeper_limits, whose data is ZooKeeper's StatsTrack text (soft limits
// "count" and "bytes", and since 3.7 the hard limits "countHardLimit" and "byteHardLimit"; -1: no
// limit); the server keeps P's znode count (P included) and data bytes in
// /zookeeper/quota<P>/zookeeper_stats ("count=N,bytes=B"). The data tree keeps the usage
// (data_tree's quota functions); the database refuses a create or setData that would pass a hard
// limit with QuotaExceeded. Plain functions, no state: anyone may call them.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace corral::quota {

constexpr std::string_view root = "/zookeeper/quota";
constexpr std::string_view limit_node = "zookeeper_limits";
constexpr std::string_view stat_node = "zookeeper_stats";

// A StatsTrack: every field -1 when absent.
struct limits {
  int64_t count = -1, bytes = -1;           // soft: exceeding them is only logged
  int64_t count_hard = -1, bytes_hard = -1; // hard: a write that would exceed them fails
  bool any() const { return count > -1 || bytes > -1 || count_hard > -1 || bytes_hard > -1; }
};

struct usage {
  int64_t count = 0, bytes = 0;
};

// StatsTrack's keys and values as it keeps them (what zkCli.sh's quota commands print back).
using track = std::map<std::string, int64_t>;
track parse_track(std::string_view text);
// StatsTrack.toString: "count=C,bytes=B", then, if it holds other keys, a stray '=' (for old
// parsers to skip) and ";key=value" for each, sorted. An absent count or bytes prints -1.
std::string to_string(const track& t);
int64_t get(const track& t, const std::string& key); // -1 if absent

// Parses StatsTrack text as ZooKeeper does: pairs "key=value" separated by ',' or ';' (a value may
// be followed by a stray '=', which StatsTrack writes for old parsers to skip). Unknown keys and
// values that are not numbers are ignored.
limits parse(std::string_view text);
// "count=N,bytes=B", as ZooKeeper writes a stats node.
std::string format_usage(const usage& u);

// /zookeeper/quota<path>/zookeeper_limits and .../zookeeper_stats.
std::string limit_path(std::string_view path);
std::string stat_path(std::string_view path);
// For a path /zookeeper/quota<P>/zookeeper_limits (or _stats): P; nullopt for any other path.
std::optional<std::string> subtree_of_limit_node(std::string_view path);
std::optional<std::string> subtree_of_stat_node(std::string_view path);

// Whether a write that adds `count` znodes and `bytes` data bytes to a subtree using `now` goes past
// a limit: nullopt if not; otherwise a description, and `hard` says whether it must be refused.
struct excess {
  std::string what; // "count 11 > hard limit 10"
  bool hard = false;
};
std::optional<excess> check(const limits& l, const usage& now, int64_t count, int64_t bytes);

} // namespace corral::quota
