// Cache actors: a local copy of one node (Curator's NodeCache) or of a whole subtree (Curator's
// CuratorCache / TreeCache), kept current by one persistent watch (addWatch, recursive for a tree)
// and told to a listener as ordered events.
//
// What the listener sees:
// - On start, `created` for every node under the path (parents before children), then one
//   `initialized`. A path that does not exist yet is fine: its creation is reported when it happens.
// - Then `created`, `changed` (new data: the node's mzxid moved) and `deleted` for each change, in
//   the order the ensemble made them. Events carry the data (the watch's events do not; the actor
//   reads each changed node, as Curator does).
// - After a reconnect: the server does not replay what a persistent watch missed while the client
//   was away, so the actor reads the whole subtree again and reports the difference: nodes created,
//   changed or deleted meanwhile, each once, and nothing that did not change. A node deleted and
//   created again (new czxid) is reported as `deleted` then `created`. Curator compares only the data
//   version and misses that case.
// - After the session expires the cache keeps its last contents; if the session opens a new one
//   (session_options::renew_after_expiry) it watches and reads again and reports the difference.
//   Closing the session stops the actor.
//
// Messages:
//   (caf::get_atom, std::string path) -> result<cached_node>        NoNode if not in the cache
//   (caf::get_atom)                   -> std::vector<cached_node>   everything, in path order
//   (atoms::stats)                    -> cache_stats
#pragma once

#include <string>

#include "actors/client/recipe_messages.hpp"

namespace corral::client {

// One node under the path: `tree` spawns a CuratorCache, `single_node` a NodeCache.
enum class cache_scope { tree, single_node };

caf::actor spawn_cache(caf::actor_system& sys, caf::actor session, std::string path, caf::actor listener,
                       cache_scope scope = cache_scope::tree);

} // namespace corral::client
