#include "tools/torture/linearizability.hpp"

#include "core/fatal.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_set>

namespace corral::torture {

namespace {

constexpr int64_t end_of_time = std::numeric_limits<int64_t>::max();
// What the memo of visited (placed operations, state) pairs may hold before the search gives up.
constexpr size_t max_memo_bytes = size_t{2} << 30;

// The register's model: the state after `op`, or nothing if `op` cannot happen in `s`.
std::optional<register_state> step(const register_state& s, const register_op& op) {
  using k = register_op::kind;
  switch (op.what) {
    case k::read:
      if (op.value == s.value && op.version == s.version)
        return s;
      return std::nullopt;
    case k::write:
      if (op.result == outcome::unknown)
        return register_state{op.value, s.version + 1};
      if (op.version == s.version + 1)
        return register_state{op.value, op.version};
      return std::nullopt;
    case k::cas:
      // An unknown one that cannot apply here is left unplaced rather than placed as a no-op: "it
      // never happened" is already allowed, and placing it as a no-op at every point would multiply
      // the states the search tells apart.
      if (op.result == outcome::unknown)
        return s.version == op.expected_version ? std::optional<register_state>(register_state{op.value, s.version + 1})
                                                : std::nullopt;
      if (op.result == outcome::failed)
        return s.version != op.expected_version ? std::optional<register_state>(s) : std::nullopt;
      if (s.version == op.expected_version && op.version == s.version + 1)
        return register_state{op.value, op.version};
      return std::nullopt;
  }
  return std::nullopt;
}

// The events, a doubly linked list in time order that operations are lifted out of and put back.
struct event {
  size_t op = 0;
  bool call = false;
  int64_t time = 0;
  int prev = -1, next = -1;
  int match = -1; // a call's return event
};

class search {
public:
  search(const std::vector<register_op>& h, register_state initial, size_t max_steps)
      : history_(h), state_(std::move(initial)), max_steps_(max_steps) {
    // Two independent random words per operation: the set of placed operations is known by the XOR
    // of its members' words (Zobrist hashing), updated in O(1) as operations are placed and taken back.
    uint64_t x = 0x9e3779b97f4a7c15ull;
    auto next_random = [&x] { // splitmix64
      uint64_t z = (x += 0x9e3779b97f4a7c15ull);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      return z ^ (z >> 31);
    };
    zobrist_.resize(h.size());
    for (auto& z : zobrist_)
      z = {next_random(), next_random()};
    build_events();
  }

  check_result run() {
    check_result r;
    int at = first();
    while (at != -1) {
      if (++r.steps > max_steps_ || seen_bytes_ > max_memo_bytes) {
        r.gave_up = true;
        return r;
      }
      const event& e = events_[static_cast<size_t>(at)];
      if (e.call) {
        at = try_linearize(at);
        continue;
      }
      if (e.time == end_of_time) // only unknown operations remain, each placed or not at the end
        break;
      note_stuck(e.op);
      if (stack_.empty()) {
        r.explanation = explain();
        return r;
      }
      at = back_off();
    }
    r.linearizable = true;
    return r;
  }

private:
  void build_events() {
    // Node 0 is the list's head; events follow.
    events_.push_back(event{});
    for (size_t i = 0; i < history_.size(); ++i) {
      const auto& op = history_[i];
      int64_t done = op.result == outcome::unknown ? end_of_time : op.completed;
      CORRAL_CHECK(done >= op.invoked, "checker", "operation ", i, " completed before it was invoked");
      events_.push_back(event{i, true, op.invoked});
      events_.push_back(event{i, false, done});
    }
    std::vector<int> order;
    for (size_t i = 1; i < events_.size(); ++i)
      order.push_back(static_cast<int>(i));
    // By time; at the same instant calls first, so that touching operations count as concurrent.
    std::stable_sort(order.begin(), order.end(), [&](int a, int b) {
      const auto &x = events_[static_cast<size_t>(a)], &y = events_[static_cast<size_t>(b)];
      if (x.time != y.time)
        return x.time < y.time;
      return x.call && !y.call;
    });
    int prev = 0;
    for (int i : order) {
      events_[static_cast<size_t>(prev)].next = i;
      events_[static_cast<size_t>(i)].prev = prev;
      prev = i;
    }
    for (size_t i = 1; i < events_.size(); i += 2)
      events_[i].match = static_cast<int>(i + 1);
  }

  int first() const { return events_[0].next; }

  void unlink(int i) {
    auto& e = events_[static_cast<size_t>(i)];
    events_[static_cast<size_t>(e.prev)].next = e.next;
    if (e.next != -1)
      events_[static_cast<size_t>(e.next)].prev = e.prev;
  }
  void relink(int i) {
    auto& e = events_[static_cast<size_t>(i)];
    events_[static_cast<size_t>(e.prev)].next = i;
    if (e.next != -1)
      events_[static_cast<size_t>(e.next)].prev = i;
  }

  void flip(size_t op) {
    placed_.first ^= zobrist_[op].first;
    placed_.second ^= zobrist_[op].second;
  }

  // Places the call's operation next if the model allows and this (set, state) is new; returns where
  // to look next.
  int try_linearize(int at) {
    const event& e = events_[static_cast<size_t>(at)];
    auto next = step(state_, history_[e.op]);
    if (!next)
      return e.next;
    flip(e.op);
    if (!seen_.insert(key(*next)).second) {
      flip(e.op);
      return e.next;
    }
    seen_bytes_ += sizeof(memo_key) + 32; // the key and the set's node, roughly
    stack_.push_back({at, state_});
    state_ = std::move(*next);
    unlink(at);
    unlink(e.match);
    return first();
  }

  // Takes back the last operation placed; the search goes on after its call.
  int back_off() {
    auto [at, before] = stack_.back();
    stack_.pop_back();
    const event& e = events_[static_cast<size_t>(at)];
    relink(e.match);
    relink(at);
    flip(e.op);
    state_ = std::move(before);
    return e.next;
  }

  // (placed operations, state) as 128 + 64 + 32 bits: a hash, not the set itself, so that the memo
  // stays small for histories of hundreds of thousands of operations (a collision could only hide a
  // path, i.e. report "not linearizable" wrongly, never the reverse; at 128 bits it does not happen).
  struct memo_key {
    uint64_t a, b, value;
    int32_t version;
    bool operator==(const memo_key& o) const {
      return a == o.a && b == o.b && value == o.value && version == o.version;
    }
  };
  struct memo_hash {
    size_t operator()(const memo_key& k) const { return k.a ^ (k.value * 0x9e3779b97f4a7c15ull) ^ k.version; }
  };
  memo_key key(const register_state& s) const {
    return {placed_.first, placed_.second, std::hash<std::string>{}(s.value), s.version};
  }

  // The deepest point the search reached, and the operation that stopped it there.
  void note_stuck(size_t op) {
    if (stack_.size() < deepest_)
      return;
    deepest_ = stack_.size();
    stuck_op_ = op;
    stuck_state_ = state_;
  }

  std::string explain() const {
    std::ostringstream o;
    o << "no order explains " << describe(history_[stuck_op_]) << "; at best " << deepest_
      << " operation(s) were placed before it, leaving value \"" << stuck_state_.value << "\" version "
      << stuck_state_.version;
    return o.str();
  }

  const std::vector<register_op>& history_;
  register_state state_;
  size_t max_steps_;
  std::vector<std::pair<uint64_t, uint64_t>> zobrist_;
  std::pair<uint64_t, uint64_t> placed_{0, 0};
  std::vector<event> events_;
  std::vector<std::pair<int, register_state>> stack_;
  std::unordered_set<memo_key, memo_hash> seen_;
  size_t deepest_ = 0, stuck_op_ = 0;
  size_t seen_bytes_ = 0;
  register_state stuck_state_;
};

// Every setData moves the version up by exactly one, so each version is produced by exactly one
// operation. An unknown compare-and-set on version v could only have produced v + 1; if another
// operation provably did (an acknowledged write returned it, or a read saw v + 1 with another
// value), the unknown one never took effect and leaving it out changes no answer. Without this, each
// pending unknown operation doubles the states the search must tell apart.
std::vector<register_op> without_impossible_unknowns(const std::vector<register_op>& history) {
  std::map<int32_t, std::set<std::string>> produced; // version -> values seen with it
  for (auto& op : history)
    if (op.result == outcome::ok && op.version >= 0)
      produced[op.version].insert(op.value);
  std::vector<register_op> out;
  out.reserve(history.size());
  for (auto& op : history) {
    if (op.result == outcome::unknown && op.what == register_op::kind::cas) {
      auto it = produced.find(op.expected_version + 1);
      if (it != produced.end() && (it->second.size() > 1 || !it->second.count(op.value)))
        continue;
    }
    out.push_back(op);
  }
  return out;
}

} // namespace

check_result check_register(const std::vector<register_op>& history, const register_state& initial, size_t max_steps) {
  auto pruned = without_impossible_unknowns(history);
  return search(pruned, initial, max_steps).run();
}

std::string describe(const register_op& op) {
  std::ostringstream o;
  o << "client " << op.client << " ";
  switch (op.what) {
    case register_op::kind::read: o << "read"; break;
    case register_op::kind::write: o << "write \"" << op.value << "\""; break;
    case register_op::kind::cas: o << "cas(version " << op.expected_version << ") \"" << op.value << "\""; break;
  }
  switch (op.result) {
    case outcome::ok:
      if (op.what == register_op::kind::read)
        o << " -> \"" << op.value << "\" version " << op.version;
      else
        o << " -> ok, version " << op.version;
      break;
    case outcome::failed: o << " -> BadVersion"; break;
    case outcome::unknown: o << " -> unknown"; break;
  }
  o << " [" << op.invoked << ", ";
  if (op.result == outcome::unknown)
    o << "...]";
  else
    o << op.completed << "]";
  return o.str();
}

} // namespace corral::torture
