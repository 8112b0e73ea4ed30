// A linearizability checker for the register histories corral-torture records (and its unit tests'
// hand-made ones). Plain C++: no clock, no threads, no I/O.
//
// The object checked is one register: a znode's data and version, as ZooKeeper's setData with and
// without an expected version changes them. A history is every operation one or more clients ran on
// it, each with the time it was invoked and the time its answer arrived. The question is whether
// there is one order of the operations that (a) respects real time: an operation that completed
// before another was invoked comes first, and (b) explains every answer when applied one after the
// other from the initial state. If so the history is linearizable.
//
// An operation whose outcome is unknown (ConnectionLoss, a timeout) may have taken effect at any
// moment after it was invoked, even after the client gave up on it, or never. It is modelled as
// completing at the end of time, with a step that applies when it can and otherwise changes nothing;
// "never" is the same as "at the very end", where nothing observes it.
//
// The search is Wing & Gong's, with Lowe's memoisation of (operations linearized so far, state), as in
// Porcupine: walk the events in time order, linearize a pending operation when the model accepts it,
// back off when a return is reached whose operation could not be placed. It is exponential in the
// worst case (many concurrent operations, or many writes whose outcome is unknown: each may or may
// not have happened at any later point), so it takes a step budget, keeps its memo under 2 GiB, and
// says when it gave up.
// Check each register separately: linearizability is compositional.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace corral::torture {

enum class outcome {
  ok,      // the server answered success
  failed,  // a definite failure that says something: BadVersion for a compare-and-set
  unknown, // no answer, or an answer that does not say whether it happened
};

struct register_op {
  enum class kind {
    read,  // sync + getData: `value` and `version` are what it returned
    write, // setData(version -1): on ok, `version` is the version it produced
    cas,   // setData(expected_version): on ok, `version` is the version it produced
  };
  kind what = kind::read;
  outcome result = outcome::ok;
  std::string value;             // what was written, or what a read returned
  int32_t expected_version = -1; // cas only
  int32_t version = -1;          // ok reads, writes and cas: the version returned
  int64_t invoked = 0;           // any monotonic clock, the same for every operation
  int64_t completed = 0;         // ignored when the outcome is unknown
  int client = 0;                // for the explanation only
};

struct register_state {
  std::string value;
  int32_t version = 0;
  bool operator==(const register_state& o) const { return value == o.value && version == o.version; }
};

struct check_result {
  bool linearizable = false;
  bool gave_up = false; // the step budget ran out: neither proven nor refuted
  size_t steps = 0;
  std::string explanation; // when not linearizable: the operation nothing could explain, and why
};

// Checks one register's history. Reads and writes that failed definitely (anything but a cas's
// BadVersion) had no effect and should be left out by the caller; so should reads whose outcome is
// unknown.
check_result check_register(const std::vector<register_op>& history, const register_state& initial,
                            size_t max_steps = 50'000'000);

// One operation as a line, for explanations and the tool's report.
std::string describe(const register_op& op);

} // namespace corral::torture
