#include "core/watch_table.hpp"

#include <algorithm>

#include "core/path.hpp"

namespace corral {

void watch_table::add(table& t, const std::string& path, session_id s, uint8_t bit) { t[path][s] |= bit; }

bool watch_table::clear(table& t, const std::string& path, session_id s, uint8_t bits) {
  auto it = t.find(path);
  if (it == t.end())
    return false;
  auto w = it->second.find(s);
  if (w == it->second.end() || (w->second & bits) == 0)
    return false;
  w->second &= static_cast<uint8_t>(~bits);
  if (w->second == 0)
    it->second.erase(w);
  if (it->second.empty())
    t.erase(it);
  return true;
}

void watch_table::add_data(const std::string& path, session_id s) {
  add(data_, path, s, standard);
  by_session_[s].insert(path);
}

void watch_table::add_child(const std::string& path, session_id s) {
  add(child_, path, s, standard);
  by_session_[s].insert(path);
}

void watch_table::add_persistent(const std::string& path, session_id s, bool is_recursive) {
  auto& w = persistent_[path][s];
  uint8_t bit = is_recursive ? recursive : persistent;
  if (is_recursive && (w & recursive) == 0)
    ++recursive_count_;
  w |= bit;
  by_session_[s].insert(path);
}

void watch_table::trigger(const std::string& path, event_type type, zxid_t zxid, std::vector<delivery>& out) {
  std::vector<session_id> notified;
  auto notify = [&](session_id s) {
    if (std::find(notified.begin(), notified.end(), s) != notified.end())
      return;
    notified.push_back(s);
    out.push_back({s, watch_event{type, keeper_state::sync_connected, path, zxid}});
  };
  auto fire_one_shot = [&](table& t) {
    auto it = t.find(path);
    if (it == t.end())
      return;
    for (auto& [s, bits] : it->second)
      if (bits & standard)
        notify(s);
    t.erase(it);
  };
  bool data_event =
      type == event_type::node_created || type == event_type::node_data_changed || type == event_type::node_deleted;
  bool child_event = type == event_type::node_children_changed || type == event_type::node_deleted;
  if (data_event)
    fire_one_shot(data_);
  if (child_event)
    fire_one_shot(child_);
  if (auto it = persistent_.find(path); it != persistent_.end()) {
    for (auto& [s, bits] : it->second)
      if ((bits & persistent) || ((bits & recursive) && type != event_type::node_children_changed))
        notify(s);
  }
  // Recursive watches on ancestors see every change below them except child-list changes.
  if (recursive_count_ == 0 || type == event_type::node_children_changed)
    return;
  for (auto p = parent_of(path); !p.empty(); p = parent_of(p)) {
    auto it = persistent_.find(std::string(p));
    if (it == persistent_.end())
      continue;
    for (auto& [s, bits] : it->second)
      if (bits & recursive)
        notify(s);
  }
}

bool watch_table::remove(const std::string& path, watcher_type type, session_id s) {
  bool any = false;
  switch (type) {
    case watcher_type::children: any = clear(child_, path, s, standard); break;
    case watcher_type::data: any = clear(data_, path, s, standard); break;
    case watcher_type::any: {
      bool a = clear(child_, path, s, standard);
      bool b = clear(data_, path, s, standard);
      bool had_recursive = has(path, watcher_type::persistent_recursive, s);
      bool c = clear(persistent_, path, s, persistent | recursive);
      if (had_recursive)
        --recursive_count_;
      any = a || b || c;
      break;
    }
    case watcher_type::persistent: any = clear(persistent_, path, s, persistent); break;
    case watcher_type::persistent_recursive:
      any = clear(persistent_, path, s, recursive);
      if (any)
        --recursive_count_;
      break;
  }
  return any;
}

bool watch_table::has(const std::string& path, watcher_type type, session_id s) const {
  auto check = [&](const table& t, uint8_t bits) {
    auto it = t.find(path);
    if (it == t.end())
      return false;
    auto w = it->second.find(s);
    return w != it->second.end() && (w->second & bits) != 0;
  };
  switch (type) {
    case watcher_type::children: return check(child_, standard);
    case watcher_type::data: return check(data_, standard);
    case watcher_type::persistent: return check(persistent_, persistent);
    case watcher_type::persistent_recursive: return check(persistent_, recursive);
    case watcher_type::any:
      return check(child_, standard) || check(data_, standard) || check(persistent_, persistent | recursive);
  }
  return false;
}

void watch_table::remove_session(session_id s) {
  auto it = by_session_.find(s);
  if (it == by_session_.end())
    return;
  for (auto& path : it->second) {
    clear(data_, path, s, standard);
    clear(child_, path, s, standard);
    if (has(path, watcher_type::persistent_recursive, s))
      --recursive_count_;
    clear(persistent_, path, s, persistent | recursive);
  }
  by_session_.erase(it);
}

watch_table::summary_counts watch_table::summary() const {
  summary_counts c;
  std::unordered_set<std::string> paths;
  std::unordered_set<session_id> sessions;
  for (auto* t : {&data_, &child_, &persistent_})
    for (auto& [path, w] : *t) {
      paths.insert(path);
      for (auto& [s, bits] : w)
        sessions.insert(s);
      c.watches += w.size();
    }
  c.paths = paths.size();
  c.sessions = sessions.size();
  return c;
}

size_t watch_table::count() const {
  size_t n = 0;
  for (auto* t : {&data_, &child_, &persistent_})
    for (auto& [path, w] : *t)
      n += w.size();
  return n;
}

} // namespace corral
