// A semaphore actor: Apache Curator's InterProcessSemaphoreV2 with its node layout, so Corral and
// Curator processes share the same K leases.
//
// Layout (Curator's): "<path>/locks" is a mutex that one would-be lease holder at a time passes;
// "<path>/leases" holds one ephemeral sequential node "_c_<uuid>-lease-<seq>" per lease. The one
// holding the mutex creates its lease node and, while more than K lease nodes exist, waits for the
// children of "leases" to change; then it lets go of the mutex. So only one waiter watches at a time
// (no herd) and leases go out in mutex order.
//
// Messages (request them; the owner is the sender):
//   (atoms::acquire, int64_t timeout_ms)        -> result<lock_grant>   a lease (node, czxid); -1: no limit
//   (atoms::release, std::string lease_node)    -> result<unit>
// An owner that exits gives its leases back; holders get lock_notice (suspended, reconnected, lost)
// as lock holders do.
#pragma once

#include <string>

#include "actors/client/lock.hpp"

namespace corral::client {

caf::actor spawn_semaphore(caf::actor_system& sys, caf::actor session, std::string path, int max_leases);

} // namespace corral::client
