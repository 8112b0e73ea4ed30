#include "core/session_table.hpp"

namespace corral {

void session_table::move_to_bucket(session_info& s, int64_t when) {
  if (s.expires_at == when)
    return;
  if (auto it = buckets_.find(s.expires_at); it != buckets_.end()) {
    it->second.erase(s.id);
    if (it->second.empty())
      buckets_.erase(it);
  }
  s.expires_at = when;
  buckets_[when].insert(s.id);
}

session_info& session_table::add(session_id id, int32_t timeout_ms, std::string password, int64_t now) {
  auto& s = sessions_[id];
  s.id = id;
  s.timeout_ms = timeout_ms;
  s.password = std::move(password);
  s.closing = false;
  move_to_bucket(s, bucket_for(now + timeout_ms));
  return s;
}

void session_table::remove(session_id id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end())
    return;
  if (auto b = buckets_.find(it->second.expires_at); b != buckets_.end()) {
    b->second.erase(id);
    if (b->second.empty())
      buckets_.erase(b);
  }
  sessions_.erase(it);
}

session_info* session_table::find(session_id id) {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : &it->second;
}

const session_info* session_table::find(session_id id) const {
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : &it->second;
}

bool session_table::touch(session_id id, int64_t now) {
  auto* s = find(id);
  if (s == nullptr || s->closing)
    return false;
  move_to_bucket(*s, bucket_for(now + s->timeout_ms));
  return true;
}

void session_table::refresh_all(int64_t now) {
  for (auto& [id, s] : sessions_)
    if (!s.closing)
      move_to_bucket(s, bucket_for(now + s.timeout_ms));
}

std::vector<session_id> session_table::take_expired(int64_t now) {
  std::vector<session_id> out;
  while (!buckets_.empty() && buckets_.begin()->first <= now) {
    for (auto id : buckets_.begin()->second) {
      auto& s = sessions_.at(id);
      if (!s.closing) {
        s.closing = true;
        out.push_back(id);
      }
    }
    buckets_.erase(buckets_.begin());
  }
  return out;
}

} // namespace corral
