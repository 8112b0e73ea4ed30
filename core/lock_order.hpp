// The ordering rules of the lock recipes, as Apache Curator applies them, so that Corral's lock
// actors and Curator's InterProcessMutex / InterProcessReadWriteLock / semaphores on the same path
// agree on who holds a lock and whom each waiter watches. Plain functions over child names: the
// recipe actors (actors/client) list the lock node's children and ask these.
//
// Curator's node names: "<lock name><10-digit sequence>", or with its protection prefix (so that a
// create that fails with ConnectionLoss can be found again) "_c_<uuid>-<lock name><sequence>".
// Lock names: "lock-" for a mutex, "__READ__" and "__WRIT__" for a read/write lock. Nodes are
// ordered by what follows the lock name, i.e. by the sequence ZooKeeper appended.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace corral::lock_order {

constexpr const char* mutex_name = "lock-";
constexpr const char* read_name = "__READ__";
constexpr const char* write_name = "__WRIT__";
// kazoo's names: "__lock__" for its Lock and WriteLock, "__rlock__" for its ReadLock, after a uuid.
constexpr const char* kazoo_write_name = "__lock__";
constexpr const char* kazoo_read_name = "__rlock__";

// The sequence a sequential node's name ends with (ZooKeeper appends 10 digits); -1 if none.
int64_t sequence_of(const std::string& name);

// `children` sorted as Curator sorts them: by what follows the (last) lock name in each, or by the
// whole name for a child without one (Curator does not leave such children out, so neither do we).
std::vector<std::string> sorted(const std::vector<std::string>& children, const std::vector<std::string>& lock_names);

struct decision {
  bool holds = false; // this node holds the lock
  std::string watch;  // otherwise: the one node to watch (no herd: one waiter per node)
  bool gone = false;  // this node is not among the children (deleted, or its session expired)
};

// A mutex or semaphore lease: the first `max_leases` nodes hold; the others watch the node
// `max_leases` places before them.
decision exclusive(const std::vector<std::string>& sorted_nodes, const std::string& ours, size_t max_leases = 1);

// A write node: Curator's "__WRIT__", or kazoo's "__lock__" followed by the sequence.
bool is_write_node(const std::string& name);

// A read lock: it holds unless a write node comes before it; then it watches the first write node
// (Curator's readLockPredicate). A write lock is exclusive() over read and write nodes alike.
decision read_lock(const std::vector<std::string>& sorted_nodes, const std::string& ours);

// Curator's protection prefix for a create with this id ("_c_<uuid>-").
std::string protected_prefix(const std::string& uuid);
// The child created with that prefix, if any (found again after a ConnectionLoss).
std::optional<std::string> find_protected(const std::vector<std::string>& children, const std::string& uuid);

} // namespace corral::lock_order
