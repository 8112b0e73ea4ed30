// Counter actors: Apache Curator's SharedCount and DistributedAtomicLong, with Curator's encodings
// (a 4-byte and an 8-byte big-endian integer in the node's data), so Curator processes share them.
//
// Shared count (spawn_shared_count): a value everyone sees, changed with a compare-and-set on the
// node's version. The node is created with `seed` if it does not exist. The listener (if any)
// receives count_changed whenever the actor sees a new value (it watches the node).
//   (caf::get_atom)                        -> result<versioned_count>
//   (caf::put_atom, int32_t value)         -> result<unit>   set, whatever the current value
//   (caf::put_atom, int32_t value, int32_t version) -> result<bool>   set only if still at `version`
//                                             (Curator's trySetCount); false if someone came first
//
// Atomic long (spawn_atomic_long): optimistic updates (read, then write at that version; retry on
// a race up to `optimistic_tries` times). With a `lock_path`, an update that keeps losing races is
// then done under a mutex on that path (Curator's PromotedToLock), where only writers that skip the
// lock can still race it (it tries up to 1000 times there, then reports succeeded = false).
// A node that does not exist reads as 0 and is created by the first update.
//   (caf::get_atom)                        -> result<atomic_result>   pre == post == the value
//   (atoms::add, int64_t delta)            -> result<atomic_result>   increment / decrement / add
//   (caf::put_atom, int64_t value)         -> result<atomic_result>   trySet: set it, with the same retries
//   (atoms::cas, int64_t expected, int64_t value) -> result<atomic_result>   compareAndSet
#pragma once

#include <string>

#include "actors/client/lock.hpp"

namespace corral::client {

caf::actor spawn_shared_count(caf::actor_system& sys, caf::actor session, std::string path, int32_t seed,
                              caf::actor listener = {});

caf::actor spawn_atomic_long(caf::actor_system& sys, caf::actor session, std::string path, std::string lock_path = {},
                             int optimistic_tries = 10);

} // namespace corral::client
