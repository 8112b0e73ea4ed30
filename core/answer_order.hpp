// The order in which one session's answers leave its server when some of its reads are answered
// beside the state machine (actors/server/shared_reads.hpp, docs/architecture.md "Reads in
// parallel"). Plain C++: the session actor encodes the bytes and calls this to place them.
//
// The rules it keeps (ZooKeeper's, as the state machine alone kept them before):
//  - Per-session FIFO: a read is answered beside the state machine only while none of the session's
//    requests is at the state machine (may_answer_here); after the first one goes there, the rest
//    follow it.
//  - A watch event comes before any answer that reflects its change: an answer made when the state
//    machine had sent the session N events waits until the session has received N; and once one
//    waits, later answers made here wait behind it.
//  - The state machine's own answers are newer than any answer waiting here (their events came in
//    an earlier turn), so they let the waiting ones out first.
// Used by the session actor only, one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace corral {

// Bytes for a client connection and how many answers (not events) they hold.
struct answer_batch {
  std::vector<char> bytes;
  int32_t answers = 0;
};

class answer_order {
public:
  // Whether a read may be answered here now (nothing of the session's is at the state machine).
  bool may_answer_here() const { return at_state_machine_ == 0; }
  // A request went to the state machine (it answers each one once).
  void sent_to_state_machine() { ++at_state_machine_; }

  // An answer made here was just appended to out.bytes, from `from` on, when the state machine had
  // sent the session `events_sent` events. It stays in `out` or, if it must wait, moves to the
  // waiting answers.
  void answered_here(uint64_t events_sent, answer_batch& out, size_t from);

  // The state machine's output, item by item, in its order. An event: call after appending its
  // bytes (if the connection takes them); answers that waited for it join `out`. An answer: call
  // before appending its bytes; the waiting answers join `out` first.
  void event_arrived(answer_batch& out);
  void answer_arrived(answer_batch& out);

  // The session moved to another connection: answers waiting for the old one go nowhere.
  void connection_replaced();

  size_t waiting_answers() const { return static_cast<size_t>(held_.answers); }
  size_t at_state_machine() const { return at_state_machine_; }

private:
  void release(answer_batch& out);

  size_t at_state_machine_ = 0;
  uint64_t events_seen_ = 0;
  uint64_t held_until_ = 0; // the waiting answers go once events_seen_ reaches this
  answer_batch held_;
};

} // namespace corral
