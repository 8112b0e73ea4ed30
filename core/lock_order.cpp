#include "core/lock_order.hpp"

#include <algorithm>
#include <cctype>

namespace corral::lock_order {

namespace {

// What follows the last of `lock_names` in `name` (Curator's fixForSorting); nullopt if none is in it.
std::optional<std::string> sort_key(const std::string& name, const std::vector<std::string>& lock_names) {
  std::optional<std::string> key;
  for (auto& lock : lock_names) {
    auto at = name.rfind(lock);
    if (at != std::string::npos)
      key = name.substr(at + lock.size());
  }
  return key;
}

size_t index_of(const std::vector<std::string>& nodes, const std::string& ours) {
  return static_cast<size_t>(std::find(nodes.begin(), nodes.end(), ours) - nodes.begin());
}

} // namespace

int64_t sequence_of(const std::string& name) {
  constexpr size_t digits = 10;
  if (name.size() < digits)
    return -1;
  int64_t v = 0;
  for (size_t i = name.size() - digits; i < name.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(name[i])))
      return -1;
    v = v * 10 + (name[i] - '0');
  }
  return v;
}

std::vector<std::string> sorted(const std::vector<std::string>& children, const std::vector<std::string>& lock_names) {
  // As Curator, every child takes part. One without our lock name sorts by its sequence if it has
  // one (kazoo's "<uuid>__lock__<seq>", say: Curator would sort it by its whole name, i.e. by its
  // random uuid, and misplace it), else by its whole name.
  std::vector<std::pair<std::string, std::string>> keyed;
  for (auto& c : children) {
    auto key = sort_key(c, lock_names);
    if (!key && sequence_of(c) >= 0)
      key = c.substr(c.size() - 10);
    keyed.emplace_back(key.value_or(c), c);
  }
  std::stable_sort(keyed.begin(), keyed.end(), [](auto& a, auto& b) { return a.first < b.first; });
  std::vector<std::string> out;
  for (auto& [k, c] : keyed)
    out.push_back(c);
  return out;
}

decision exclusive(const std::vector<std::string>& sorted_nodes, const std::string& ours, size_t max_leases) {
  decision d;
  auto i = index_of(sorted_nodes, ours);
  if (i == sorted_nodes.size()) {
    d.gone = true;
    return d;
  }
  max_leases = std::max<size_t>(max_leases, 1);
  d.holds = i < max_leases;
  if (!d.holds)
    d.watch = sorted_nodes[i - max_leases];
  return d;
}

bool is_write_node(const std::string& name) {
  if (name.find(write_name) != std::string::npos)
    return true;
  auto at = name.rfind(kazoo_write_name); // kazoo's write lock (and Lock): "<uuid>__lock__<seq>"
  return at != std::string::npos && at + std::string(kazoo_write_name).size() + 10 == name.size();
}

decision read_lock(const std::vector<std::string>& sorted_nodes, const std::string& ours) {
  decision d;
  auto i = index_of(sorted_nodes, ours);
  if (i == sorted_nodes.size()) {
    d.gone = true;
    return d;
  }
  for (size_t j = 0; j < i; ++j)
    if (is_write_node(sorted_nodes[j])) {
      d.watch = sorted_nodes[j];
      return d;
    }
  d.holds = true;
  return d;
}

std::string protected_prefix(const std::string& uuid) { return "_c_" + uuid + "-"; }

std::optional<std::string> find_protected(const std::vector<std::string>& children, const std::string& uuid) {
  auto prefix = protected_prefix(uuid);
  for (auto& c : children)
    if (c.compare(0, prefix.size(), prefix) == 0)
      return c;
  return std::nullopt;
}

} // namespace corral::lock_order
