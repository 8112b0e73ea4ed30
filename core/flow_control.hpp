// Backpressure for client connections: how much one client, and all of them together, may hold of
// the server. Plain bookkeeping (no sockets, no clock); the client listener asks it whether a
// connection may take another request, tells it what was taken, answered and sent, and pauses or
// resumes reading as it says. Unit-tested in tests/unit/flow_control_test.cpp.
//
// A connection stops being read while any of these holds, and reads again when all are well under
// (half), so it does not flap:
//  - its unanswered requests reach what its answers would take of `pause_unsent` at their average
//    size so far (at least 8, at most max_in_flight): a client asking for big nodes without
//    reading cannot make the server hold much more than pause_unsent for it. The average starts at
//    64 KiB, so a new connection's first burst is small; it falls as small answers go out;
//  - the bytes of its unanswered requests reach max_in_flight_bytes (a flood of big writes);
//  - its answers waiting to be sent reach pause_unsent (a client that does not read);
//  - the unanswered requests of all clients reach global_outstanding (ZooKeeper's
//    globalOutstandingLimit); every connection pauses until they fall under three quarters of it.
// Beyond max_unsent waiting to be sent (only events can push it there once paused) the client is
// dropped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

namespace corral {

struct flow_limits {
  size_t max_connections = 10000;             // corral.max-connections: all clients together
  size_t max_per_address = 60;                // corral.max-client-cnxns; 0: none
  size_t global_outstanding = 1000;           // corral.global-outstanding-limit
  size_t max_in_flight = 1000;                // per connection: unanswered requests
  uint64_t max_in_flight_bytes = 16ull << 20; // per connection: bytes of unanswered requests
  uint64_t pause_unsent = 4ull << 20;         // per connection: answers waiting to be sent
  uint64_t max_unsent = 64ull << 20;          // per connection: beyond this the client is dropped
  uint64_t max_unread = 1ull << 20;           // per connection: received while paused; beyond, stop reading it
};

class flow_control {
public:
  using conn_id = uint64_t;

  explicit flow_control(flow_limits limits) : limits_(limits) {}

  void opened(conn_id c);
  // Forgets `c`; returns the connections that may read again (its requests no longer count).
  std::vector<conn_id> closed(conn_id c);

  // Whether `c` may take another request now. If not, the caller pauses reading it and calls paused().
  bool may_read(conn_id c) const;
  void paused(conn_id c);
  // Whether `c` is paused (it then reads again only when one of the calls below returns it).
  bool is_paused(conn_id c) const;

  // A request of `bytes` taken from `c`.
  void took(conn_id c, uint64_t bytes);
  // `answers` answers, `bytes` in all, queued for `c` (answers may be 0: an event). Returns the
  // connections that may read again.
  std::vector<conn_id> answered(conn_id c, int answers, uint64_t bytes);
  // What is still waiting to be sent to `c`. Returns the connections that may read again.
  std::vector<conn_id> waiting(conn_id c, uint64_t unsent);
  // Whether `c` is so far behind that it must be dropped.
  bool over_output_limit(conn_id c) const;

  size_t outstanding() const { return outstanding_; }
  size_t outstanding(conn_id c) const;
  uint64_t throttle_waits() const { return throttle_waits_; }
  bool throttled() const { return throttled_; }
  const flow_limits& limits() const { return limits_; }

private:
  struct state {
    size_t in_flight = 0;
    uint64_t in_flight_bytes = 0;
    std::deque<uint64_t> sizes; // each unanswered request's bytes, oldest first
    uint64_t unsent = 0;
    int64_t answer_bytes = 64 * 1024;
    bool paused = false;
  };
  size_t allowed_in_flight(const state& s) const;
  bool well_under(const state& s) const;
  // Resumable connections: all paused ones if the global throttle just ended, else `c` if it may.
  // The caller resumes them in the order given, and the first ones take what the limit allows, so
  // the order turns: each end of the throttle starts after the connection that started the last one
  // (in a fixed order a connection could wait behind the others every time, until its session
  // expired: seen under AddressSanitizer with 8 clients pipelining 64 writes against a limit of 50).
  std::vector<conn_id> resumable(conn_id c);

  flow_limits limits_;
  std::unordered_map<conn_id, state> conns_;
  size_t outstanding_ = 0;
  bool throttled_ = false;
  uint64_t throttle_waits_ = 0;
  conn_id last_first_ = 0; // the connection resumed first when the throttle last ended
};

} // namespace corral
