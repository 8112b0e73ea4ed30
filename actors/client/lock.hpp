// Lock actors: Apache Curator's InterProcessMutex and InterProcessReadWriteLock as CAF actors, with
// Curator's node layout, so a Corral lock and a Curator (or kazoo) lock on the same path exclude
// each other.
//
// A lock actor stands for one lock path of one session. Any number of app actors ("owners") may ask
// it for the lock; each owner gets its own ephemeral sequential node under the path, named as
// Curator names it ("_c_<uuid>-lock-<seq>", or "__READ__"/"__WRIT__" for a read/write lock), and
// waits by watching only the node just before it (no herd: one release wakes one waiter).
//
// Messages (request them; the owner is the sender):
//   (atoms::acquire, int64_t timeout_ms)             -> result<lock_grant>   mutex; -1: wait forever
//   (atoms::acquire, lock_kind, int64_t timeout_ms)  -> result<lock_grant>   read or write (rw lock)
//   (atoms::release)                                 -> result<unit>
//   (atoms::release, lock_kind)                      -> result<unit>
//   (atoms::stats)                                   -> lock_stats
// Errors: OperationTimeout when the time ran out (the node is deleted), SessionExpired, BadArguments
// for a release by a non-holder, a second acquire while one waits, or a read-to-write upgrade (which
// Curator lets deadlock). Reentrant: an owner that holds the lock gets it again at once and must
// release it as often. Downgrade: the holder of the write lock gets the read lock at once.
//
// While it holds, the owner receives lock_notice messages (suspended / reconnected / lost). An owner
// that exits loses its locks and its waiting acquisitions: their nodes are deleted. A create that
// fails with ConnectionLoss is found again by its protection prefix after the reconnect, and a
// node whose delete failed is deleted after it, so no node is left behind while the session lives.
#pragma once

#include <string>

#include "actors/client/recipe_messages.hpp"

namespace corral::client {

// A mutex on `path` (Curator's InterProcessMutex) using `session`. Each lock node holds `node_data`
// (Curator's LeaderSelector puts its participant id there).
caf::actor spawn_lock(caf::actor_system& sys, caf::actor session, std::string path, std::string node_data = {});
// The mutex under another lock name, for recipes built on it: Curator's LeaderLatch is a mutex whose
// nodes are named "latch-" and hold the participant's id, and that is never released while it leads.
caf::actor spawn_named_lock(caf::actor_system& sys, caf::actor session, std::string path, std::string lock_name,
                            std::string node_data);
// A read/write lock on `path` (Curator's InterProcessReadWriteLock) using `session`.
caf::actor spawn_rw_lock(caf::actor_system& sys, caf::actor session, std::string path);

} // namespace corral::client
