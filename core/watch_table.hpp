// Which sessions watch which paths, and ZooKeeper's trigger table: one-shot data/exists watches,
// one-shot child watches, persistent and persistent-recursive watches. The state machine calls
// trigger() for every change a txn makes and delivers the events it returns.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/types.hpp"

namespace corral {

class watch_table {
public:
  struct delivery {
    session_id session;
    watch_event event;
  };

  void add_data(const std::string& path, session_id s);  // getData and exists
  void add_child(const std::string& path, session_id s); // getChildren
  void add_persistent(const std::string& path, session_id s, bool recursive);

  // Appends one delivery per watching session (a session hears of one change once) and disarms
  // the one-shot watches that fired.
  void trigger(const std::string& path, event_type type, zxid_t zxid, std::vector<delivery>& out);

  // Removes the session's watches of `type` on `path`; false if it had none.
  bool remove(const std::string& path, watcher_type type, session_id s);
  bool has(const std::string& path, watcher_type type, session_id s) const;

  // Forgets every watch of the session (its connection closed; it re-arms on reconnect).
  void remove_session(session_id s);

  // Watches per kind, for the four-letter words and tests.
  size_t count() const;
  // For `wchs`: sessions with a watch, distinct watched paths, watches.
  struct summary_counts {
    size_t sessions = 0, paths = 0, watches = 0;
  };
  summary_counts summary() const;

private:
  enum kind_bit : uint8_t { standard = 1, persistent = 2, recursive = 4 };
  using watchers = std::unordered_map<session_id, uint8_t>;
  using table = std::unordered_map<std::string, watchers>;

  static void add(table& t, const std::string& path, session_id s, uint8_t bit);
  static bool clear(table& t, const std::string& path, session_id s, uint8_t bits);

  table data_;
  table child_;
  table persistent_; // persistent and recursive watches, which see every event type
  size_t recursive_count_ = 0;
  std::unordered_map<session_id, std::unordered_set<std::string>> by_session_;
};

} // namespace corral
