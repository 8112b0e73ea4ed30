// A node that stays: Apache Curator's PersistentNode (an ephemeral, or any mode, node that the actor
// creates and keeps creating) and GroupMember (a member node in a group, plus the group's members).
//
// Persistent node (spawn_persistent_node): creates `path` with `data` (parents as containers) and
// watches it. If the node is deleted, it is created again; if the session expires and a renewing
// session (session_options::renew_after_expiry) opens a new one, it is created again in that one.
// A create whose node already exists takes that node over and sets its data (Curator's rule: it is
// ours from before a lost answer or an older session; if it is an old session's ephemeral, it goes
// when that session expires, and the watch creates ours). With a sequential mode the node gets
// Curator's protection prefix (`_c_<uuid>-`), so a create whose answer was lost is found, not
// repeated. The listener (if any) receives node_created after each (re)creation. When the actor
// ends (close, or the app drops it), the node is deleted.
//   (caf::put_atom, std::string data) -> result<unit>          new data, set now and on re-creation
//   (caf::get_atom)                   -> result<std::string>   the node's actual path; NoNode while
//                                                              it does not exist
//   (atoms::wait, int64_t ms)         -> result<bool>          true once the node exists (Curator's
//                                                              waitForInitialCreate); false on timeout
//   (atoms::close)                    -> result<unit>          deletes the node; the actor ends
//
// Group member (spawn_group_member): an ephemeral persistent node `<group>/<id>` holding `payload`,
// and a cache of the group's children. The listener (if any) receives the cache's cache_event for
// each member that joins (created), changes its payload (changed) or leaves (deleted), and one
// `initialized`.
//   (caf::get_atom)                   -> member_map            id -> payload, as cached
//   (caf::put_atom, std::string payload) -> result<unit>
//   (atoms::close)                    -> result<unit>          leaves the group; the actor ends
#pragma once

#include <string>

#include "actors/client/recipe_messages.hpp"

namespace corral::client {

struct persistent_node_options {
  create_mode mode = create_mode::ephemeral;
  int64_t ttl = -1; // for the TTL modes
  acl_list acl = open_acl_unsafe();
  caf::actor listener; // receives node_created
};

caf::actor spawn_persistent_node(caf::actor_system& sys, caf::actor session, std::string path, std::string data,
                                 persistent_node_options opts = {});

caf::actor spawn_group_member(caf::actor_system& sys, caf::actor session, std::string group_path, std::string id,
                              std::string payload, caf::actor listener = {});

} // namespace corral::client
