// Leader election actors: Apache Curator's LeaderLatch and LeaderSelector, with Curator's node
// layout, so Corral and Curator participants can take part in one election.
//
// Leader latch (spawn_leader_latch): joins at once and stays in the election until closed. Each
// participant has an ephemeral sequential node "_c_<uuid>-latch-<seq>" holding its id; the first
// node leads; every other watches only the node before it. Its listener receives `leadership`
// whenever this participant gains or loses leadership. Curator's rule for the connection: on
// SUSPENDED the leader steps down (it cannot know whether its session survives); after RECONNECTED
// it leads again if its node is still first. After the session expires it is out of the election.
//   (atoms::state)  -> bool                                    does it lead now?
//   (caf::get_atom) -> result<std::vector<participant_info>>   everyone, in node order
//   (atoms::close)  -> result<unit>                            leave (node deleted; listener told)
//
// Leader selector (spawn_leader_selector): takes turns. It waits for a lock (Curator's
// InterProcessMutex on the path, node data = the id), then requests `take_leadership` from the app
// actor; the app leads until it answers with a bool: true to queue up again (Curator's autoRequeue),
// false to leave the election. While it leads it is sent `leadership_lost` if the connection is
// suspended or the session lost: it must stop acting as the leader and answer.
//   (atoms::close)  -> result<unit>                            leave (gives up the lock or its place)
//   (atoms::state)  -> bool                                    does it lead now?
#pragma once

#include <string>

#include "actors/client/lock.hpp"

namespace corral::client {

caf::actor spawn_leader_latch(caf::actor_system& sys, caf::actor session, std::string path, std::string id,
                              caf::actor listener);

caf::actor spawn_leader_selector(caf::actor_system& sys, caf::actor session, std::string path, std::string id,
                                 caf::actor app);

} // namespace corral::client
