#include "core/flow_control.hpp"

#include "core/fatal.hpp"

#include <algorithm>

namespace corral {

void flow_control::opened(conn_id c) {
  CORRAL_CHECK(conns_.count(c) == 0, "flow", "connection ", c, " opened twice");
  conns_.emplace(c, state{});
}

std::vector<flow_control::conn_id> flow_control::closed(conn_id c) {
  auto it = conns_.find(c);
  if (it == conns_.end())
    return {};
  outstanding_ -= std::min(outstanding_, it->second.in_flight);
  conns_.erase(it);
  return resumable(0);
}

size_t flow_control::allowed_in_flight(const state& s) const {
  auto by_size = limits_.pause_unsent / static_cast<uint64_t>(std::max<int64_t>(s.answer_bytes, 1));
  return static_cast<size_t>(std::clamp<uint64_t>(by_size, 8, std::max<size_t>(limits_.max_in_flight, 8)));
}

bool flow_control::may_read(conn_id c) const {
  auto it = conns_.find(c);
  if (it == conns_.end())
    return false;
  auto& s = it->second;
  return !throttled_ && s.in_flight < allowed_in_flight(s) && s.in_flight_bytes < limits_.max_in_flight_bytes &&
         s.unsent < limits_.pause_unsent;
}

bool flow_control::well_under(const state& s) const {
  return !throttled_ && s.in_flight < (allowed_in_flight(s) + 1) / 2 &&
         s.in_flight_bytes < limits_.max_in_flight_bytes / 2 && s.unsent < limits_.pause_unsent / 2;
}

void flow_control::paused(conn_id c) {
  if (auto it = conns_.find(c); it != conns_.end())
    it->second.paused = true;
}

bool flow_control::is_paused(conn_id c) const {
  auto it = conns_.find(c);
  return it != conns_.end() && it->second.paused;
}

void flow_control::took(conn_id c, uint64_t bytes) {
  auto it = conns_.find(c);
  if (it == conns_.end())
    return;
  auto& s = it->second;
  ++s.in_flight;
  s.in_flight_bytes += bytes;
  s.sizes.push_back(bytes);
  if (++outstanding_ >= limits_.global_outstanding && !throttled_) {
    throttled_ = true;
    ++throttle_waits_;
  }
}

std::vector<flow_control::conn_id> flow_control::answered(conn_id c, int answers, uint64_t bytes) {
  auto it = conns_.find(c);
  if (it == conns_.end())
    return {};
  auto& s = it->second;
  s.unsent += bytes;
  for (int i = 0; i < answers && !s.sizes.empty(); ++i) {
    s.in_flight_bytes -= std::min(s.in_flight_bytes, s.sizes.front());
    s.sizes.pop_front();
    --s.in_flight;
    --outstanding_;
  }
  if (answers > 0) // a moving average of the answers' size (1/8 weight for the newest)
    s.answer_bytes += (static_cast<int64_t>(bytes / static_cast<uint64_t>(answers)) - s.answer_bytes) / 8;
  return resumable(c);
}

std::vector<flow_control::conn_id> flow_control::waiting(conn_id c, uint64_t unsent) {
  auto it = conns_.find(c);
  if (it == conns_.end())
    return {};
  it->second.unsent = unsent;
  return resumable(c);
}

bool flow_control::over_output_limit(conn_id c) const {
  auto it = conns_.find(c);
  return it != conns_.end() && it->second.unsent > limits_.max_unsent;
}

size_t flow_control::outstanding(conn_id c) const {
  auto it = conns_.find(c);
  return it == conns_.end() ? 0 : it->second.in_flight;
}

std::vector<flow_control::conn_id> flow_control::resumable(conn_id c) {
  std::vector<conn_id> out;
  if (throttled_ && outstanding_ < limits_.global_outstanding * 3 / 4) {
    throttled_ = false;
    for (auto& [id, s] : conns_)
      if (s.paused && well_under(s)) {
        s.paused = false;
        out.push_back(id);
      }
    std::sort(out.begin(), out.end());
    std::rotate(out.begin(), std::upper_bound(out.begin(), out.end(), last_first_), out.end());
    if (!out.empty())
      last_first_ = out.front();
    return out;
  }
  if (auto it = conns_.find(c); it != conns_.end() && it->second.paused && well_under(it->second)) {
    it->second.paused = false;
    out.push_back(c);
  }
  return out;
}

} // namespace corral
