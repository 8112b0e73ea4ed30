// zkCli.sh's quota commands, done as zkCli.sh 3.8 does them: on the client, by creating, setting and
// deleting the nodes under /zookeeper/quota (core/quota.hpp), with its checks and its messages. The
// server keeps each quota's usage and refuses writes past a hard limit.
#include <algorithm>
#include <charconv>

#include "core/path.hpp"
#include "core/quota.hpp"
#include "core/response_body.hpp"
#include "tools/cli_commands.hpp"

namespace corral::cli {

namespace {

// setquota's and delquota's options: one of them, naming one StatsTrack key.
struct quota_option {
  char flag;
  const char* key;
  bool is_count;
};
constexpr quota_option quota_options[] = {
    {'n', "count", true}, {'b', "bytes", false}, {'N', "countHardLimit", true}, {'B', "byteHardLimit", false}};

std::optional<int64_t> whole_number(const std::string& s) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || end != s.data() + s.size())
    return std::nullopt;
  return v;
}

} // namespace

std::optional<quota::track> shell::read_track(const std::string& path) {
  auto r = take<data_result>(session_.call(get_data_request{path, false}));
  if (!r)
    return std::nullopt;
  return quota::parse_track(r->data);
}

// zkCli refuses a quota inside or above another one.
bool shell::quota_nesting_ok(const std::string& path) {
  std::string quota_path = std::string(quota::root) + path;
  std::vector<std::string> below{quota_path};
  for (size_t i = 0; i < below.size(); ++i) {
    auto r = take<children_result>(session_.call(get_children_request{below[i], false}));
    if (!r)
      continue;
    for (auto& c : r->children) {
      if (c == quota::limit_node && below[i] != quota_path) {
        err_ << path << " has a child " << below[i].substr(quota::root.size()) << " which has a quota\n";
        return false;
      }
      below.push_back(below[i] + "/" + c);
    }
  }
  for (auto p = std::string(parent_of(path)); p != "/"; p = std::string(parent_of(p))) {
    auto r = take<children_result>(session_.call(get_children_request{std::string(quota::root) + p, false}));
    if (r && std::find(r->children.begin(), r->children.end(), quota::limit_node) != r->children.end()) {
      err_ << path << " has a parent " << p << " which has a quota\n";
      return false;
    }
  }
  return true;
}

bool shell::set_quota(const arguments& a) {
  auto& path = a.args[0];
  if (path.rfind(quota::root, 0) == 0) {
    err_ << "cannot set a quota under the path: " << quota::root << "\n";
    return false;
  }
  quota::track wanted{{"count", -1}, {"bytes", -1}, {"countHardLimit", -1}, {"byteHardLimit", -1}};
  int given = 0;
  for (auto& o : quota_options) {
    if (!a.has(o.flag))
      continue;
    ++given;
    auto v = whole_number(a.opts.at(o.flag));
    if (!v) {
      err_ << "NumberFormatException happens when parsing the option value\n";
      return false;
    }
    if (o.is_count ? *v <= 0 : *v < 0) {
      err_ << (o.is_count ? "the num quota must be greater than zero\n"
                          : "the bytes quota must be greater than or equal to zero\n");
      return false;
    }
    wanted[o.key] = *v;
  }
  if (given != 1)
    return usage("give one of -n, -b, -N, -B");
  if (session_.call(exists_request{path, false}).err == error_code::no_node) {
    err_ << path << " does not exist.\n";
    return false;
  }
  if (!quota_nesting_ok(path))
    return false;
  // The quota path's nodes, then the limits and the stats.
  std::string at(quota::root);
  for (size_t i = 1; i <= path.size(); ++i)
    if (i == path.size() || path[i] == '/')
      session_.call(create_request{at + path.substr(0, i), "", open_acl_unsafe(), create_mode::persistent, -1, true});
  auto limits_path = quota::limit_path(path), stats_path = quota::stat_path(path);
  auto existing = read_track(limits_path);
  quota::track limits = wanted;
  if (existing) {
    limits = *existing;
    for (auto& [key, value] : wanted)
      if (value > -1)
        limits[key] = value;
  } else {
    auto made = session_.call(create_request{limits_path, quota::to_string(wanted), open_acl_unsafe()});
    if (made.err != error_code::ok)
      return fail(made);
    session_.call(create_request{stats_path, "count=0,bytes=0", open_acl_unsafe()});
  }
  warn_if_over(limits, read_track(stats_path).value_or(quota::track{}));
  if (existing)
    return call_for_status(set_data_request{limits_path, quota::to_string(limits), -1});
  return true;
}

// zkCli's warning when a quota is set below what the subtree already holds.
void shell::warn_if_over(const quota::track& limits, const quota::track& stats) {
  auto below = [&](const char* soft, const char* hard, const char* used) {
    auto u = quota::get(stats, used);
    auto s = quota::get(limits, soft), h = quota::get(limits, hard);
    return (s > -1 && s < u) || (h > -1 && h < u);
  };
  if (below("count", "countHardLimit", "count"))
    out_ << "[Warning]: the count quota you create is less than the existing count:" << quota::get(stats, "count")
         << "\n";
  if (below("bytes", "byteHardLimit", "bytes"))
    out_ << "[Warning]: the bytes quota you create is less than the existing bytes:" << quota::get(stats, "bytes")
         << "\n";
}

bool shell::list_quota(const arguments& a) {
  auto& path = a.args[0];
  err_ << "absolute path is " << quota::limit_path(path) << "\n";
  auto limits = read_track(quota::limit_path(path));
  auto stats = limits ? read_track(quota::stat_path(path)) : std::nullopt;
  if (!limits || !stats) {
    err_ << "quota for " << path << " does not exist.\n";
    return true;
  }
  out_ << "Output quota for " << path << " " << quota::to_string(*limits) << "\n";
  out_ << "Output stat for " << path << " " << quota::to_string(*stats) << "\n";
  return true;
}

bool shell::del_quota(const arguments& a) {
  auto& path = a.args[0];
  auto limits_path = quota::limit_path(path);
  auto limits = read_track(limits_path);
  if (!limits) {
    out_ << "Quota does not exist for " << path << "\n";
    return true;
  }
  bool any = false;
  for (auto& o : quota_options)
    if (a.has(o.flag)) {
      (*limits)[o.key] = -1;
      any = true;
    }
  if (any)
    return call_for_status(set_data_request{limits_path, quota::to_string(*limits), -1});
  // No option: the limits and the stats go, and then every quota path node left without children.
  auto quota_path = std::string(quota::root) + path;
  if (auto kids = take<children_result>(session_.call(get_children_request{quota_path, false})))
    for (auto& c : kids->children)
      session_.call(delete_request{quota_path + "/" + c, -1});
  for (auto p = quota_path; p != quota::root; p = std::string(parent_of(p))) {
    auto kids = take<children_result>(session_.call(get_children_request{p, false}));
    if (!kids || !kids->children.empty())
      break;
    session_.call(delete_request{p, -1});
  }
  return true;
}

} // namespace corral::cli
