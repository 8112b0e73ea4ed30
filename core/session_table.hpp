// Live sessions: id, negotiated timeout, password, proven identities, and expiry tracked in buckets
// of one tick as ZooKeeper's ExpiryQueue does (a touch moves a session to the bucket of
// round_up(now + timeout)), so that expiry costs one bucket per tick rather than a scan.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/acl.hpp"
#include "core/types.hpp"

namespace corral {

struct session_info {
  session_id id = 0;
  int32_t timeout_ms = 0;
  std::string password;
  auth_list auth;         // identities proven with addauth, plus ip
  int64_t expires_at = 0; // bucket time, milliseconds on the tracker's clock
  bool closing = false;   // a close or expiry txn is under way
};

class session_table {
public:
  explicit session_table(int64_t tick_ms) : tick_ms_(tick_ms) {}

  session_info& add(session_id id, int32_t timeout_ms, std::string password, int64_t now);
  void remove(session_id id);
  session_info* find(session_id id);
  const session_info* find(session_id id) const;

  // Pushes the session's expiry out to now + timeout; false if the session is unknown or closing.
  bool touch(session_id id, int64_t now);

  // Gives every live session a full timeout from `now` (after recovery: clients get time to return).
  void refresh_all(int64_t now);

  // Sessions whose bucket time has passed; they are marked closing, not removed.
  std::vector<session_id> take_expired(int64_t now);

  size_t size() const { return sessions_.size(); }
  const std::unordered_map<session_id, session_info>& all() const { return sessions_; }

private:
  int64_t bucket_for(int64_t t) const { return (t / tick_ms_ + 1) * tick_ms_; }
  void move_to_bucket(session_info& s, int64_t when);

  int64_t tick_ms_;
  std::unordered_map<session_id, session_info> sessions_;
  std::map<int64_t, std::set<session_id>> buckets_;
};

} // namespace corral
