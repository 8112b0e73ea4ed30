#include "core/answer_order.hpp"

#include <algorithm>

#include "core/fatal.hpp"

namespace corral {

void answer_order::answered_here(uint64_t events_sent, answer_batch& out, size_t from) {
  CORRAL_CHECK(from <= out.bytes.size(), "answers", "the answer starts at byte ", from, " of ", out.bytes.size());
  CORRAL_CHECK(at_state_machine_ == 0, "answers", "a read was answered here while ", at_state_machine_,
               " of the session's requests were at the state machine");
  if (events_sent <= events_seen_ && held_.answers == 0) {
    ++out.answers;
    return;
  }
  auto start = out.bytes.begin() + static_cast<std::ptrdiff_t>(from);
  held_.bytes.insert(held_.bytes.end(), start, out.bytes.end());
  out.bytes.erase(start, out.bytes.end());
  ++held_.answers;
  held_until_ = std::max(held_until_, events_sent);
}

void answer_order::event_arrived(answer_batch& out) {
  ++events_seen_; // counted even if the connection did not take it: the state machine counted it
  if (events_seen_ >= held_until_)
    release(out);
}

void answer_order::answer_arrived(answer_batch& out) {
  if (at_state_machine_ > 0)
    --at_state_machine_;
  release(out);
}

void answer_order::connection_replaced() {
  held_.bytes.clear();
  held_.answers = 0;
}

void answer_order::release(answer_batch& out) {
  if (held_.answers == 0)
    return;
  out.bytes.insert(out.bytes.end(), held_.bytes.begin(), held_.bytes.end());
  out.answers += held_.answers;
  held_.bytes.clear();
  held_.answers = 0;
}

} // namespace corral
