// Barrier actors: Apache Curator's DistributedBarrier and DistributedDoubleBarrier, with Curator's
// node layout (so Curator processes can share them).
//
// Barrier (spawn_barrier): the barrier stands while its node exists.
//   (atoms::raise)              -> result<unit>   create the node (already there is fine)
//   (atoms::lower)              -> result<unit>   delete it (already gone is fine): every waiter passes
//   (atoms::wait, int64_t ms)   -> result<bool>   true once the node is gone, false after ms (-1: no limit)
//
// Double barrier (spawn_double_barrier): `members` participants enter together and leave together.
// Each actor is one participant with an ephemeral node "<path>/<uuid>"; the last to enter creates
// "<path>/ready", which releases everyone; leaving waits until every participant's node is gone,
// watching the lowest or highest node only (Curator's algorithm).
//   (atoms::enter, int64_t ms)  -> result<bool>   true when all have entered, false after ms
//   (atoms::leave, int64_t ms)  -> result<bool>   true when all have left, false after ms
#pragma once

#include <string>

#include "actors/client/lock.hpp"

namespace corral::client {

caf::actor spawn_barrier(caf::actor_system& sys, caf::actor session, std::string path);
caf::actor spawn_double_barrier(caf::actor_system& sys, caf::actor session, std::string path, int members);

} // namespace corral::client
