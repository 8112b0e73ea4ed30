// The distributed queue actor: Apache Curator's DistributedQueue, with its node layout and item
// encoding (core/queue_items), so Curator producers and consumers on the same path work with it.
// Items are persistent sequential nodes `<path>/queue-<sequence>`; consumers take the lowest first.
//
// How an item is taken decides what a failure can do to it (Curator has the same two ways):
// - Without a lock path: read the node, delete it at the version read, and deliver only if the delete
//   succeeded. Two consumers never both get an item. An item is lost if the consumer fails after the
//   delete, or if the delete's answer is lost with the connection and the node is then gone (we cannot
//   tell our delete from another consumer's; counted as `ambiguous` and logged). At most once.
// - With a lock path (Curator's lockPath): create the ephemeral `<lock_path>/<node>`, read the node,
//   deliver and wait for the consumer's answer, and only then delete the node (true, or false with
//   requeue off) or move it to the back of the queue (false with requeue on, Curator's default
//   ErrorMode.REQUEUE), then delete the lock node. A consumer that ends mid-item, or whose session
//   ends, leaves the node to the next consumer. At least once; exactly once while consumers finish.
//
// The consumer receives each item as a request `queue_item` and answers `bool` (true: done). Items
// arrive one at a time in queue order; a node holding several items (Curator's putMulti) delivers
// them in order. With lock safety the answer decides the node's fate; without it the answer only
// paces delivery. A queue whose consumer ends stops consuming and still serves puts and takes.
//
// Messages:
//   (caf::put_atom, std::string item)               -> result<std::string>  the new node's name
//   (caf::put_atom, std::vector<std::string> items) -> result<std::string>  several items, one node
//   (atoms::take, int64_t timeout_ms)               -> result<queue_item>   the next item (only for a
//        queue spawned without a consumer; taken as above; operation_timeout if none came in time)
//   (atoms::stats)                                  -> queue_stats
// A put whose answer is lost with the connection fails with ConnectionLoss and may still have
// happened (Curator's put has the same doubt); retrying it may queue the item twice.
#pragma once

#include <string>

#include "actors/client/recipe_messages.hpp"

namespace corral::client {

struct queue_options {
  caf::actor consumer;          // receives the items; none: a producer (and take) only queue
  std::string lock_path;        // empty: at most once; else lock safety (see above)
  bool requeue_on_false = true; // lock safety: a false answer moves the node to the back
};

caf::actor spawn_queue(caf::actor_system& sys, caf::actor session, std::string path, queue_options opts = {});

} // namespace corral::client
