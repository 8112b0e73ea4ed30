// What the coordination recipes (actors/client/lock.hpp, ...) hand to the app: plain values with no
// CAF in them, so that the blocking facade (blocking_client.hpp) can use them too.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "core/types.hpp"

namespace corral::client {

// Which lock a lock actor takes. A mutex is Curator's InterProcessMutex; read and write are the two
// halves of its InterProcessReadWriteLock (many readers, or one writer).
enum class lock_kind { mutex, read, write };
const char* to_string(lock_kind k);

// Handed to the holder when it gets the lock.
struct lock_grant {
  std::string node;          // the lock node's full path (ephemeral, sequential)
  int64_t fencing_token = 0; // the node's czxid: grows with every new holder of this lock. A resource
                             // that remembers the largest token it saw can refuse a stale holder.
  int reentries = 0;         // 0 on the first acquisition; n when the same owner acquired it n more times
};

// Sent to a holder when its claim on the lock changes (Curator's connection-state rules):
//  - suspended: the connection dropped. The lock may be lost (if the session expires meanwhile);
//    stop touching the resource until `reconnected`.
//  - reconnected: the session resumed and the lock node is still there; the lock is still held, with
//    the same fencing token.
//  - lost: the session expired or the node was deleted; the lock is gone and the holder must stop.
enum class lock_notice_kind { suspended, reconnected, lost };
const char* to_string(lock_notice_kind k);

struct lock_notice {
  lock_notice_kind what = lock_notice_kind::lost;
  lock_kind kind = lock_kind::mutex;
  std::string node; // the lock node the notice is about
};

// Counters a lock actor keeps, for tests and operators (`atoms::stats` asks for them).
struct lock_stats {
  uint64_t watch_events = 0; // watch events this actor received (one per predecessor released)
  uint64_t grants = 0;       // acquisitions granted (reentries not counted)
  uint64_t timeouts = 0;     // acquisitions that gave up
  uint64_t waiting = 0;      // acquisitions waiting now
  uint64_t held = 0;         // locks held now
};

} // namespace corral::client

namespace corral::client {

// Sent by a leader latch to its listener whenever this participant gains or loses leadership.
struct leadership {
  std::string path;
  bool is_leader = false;
  std::string node; // this participant's latch node
};

// One participant of an election (Curator's Participant), in node order: the first one leads.
struct participant_info {
  std::string id;
  std::string node;
  bool is_leader = false;
};

// A leader selector asks its app actor to lead with this request; the app answers (a bool: queue up
// again?) when it gives leadership up, and then the next participant leads.
struct take_leadership {
  std::string path;
  int64_t fencing_token = 0; // the czxid of the lock node that made us leader
};

// Sent by a leader selector to the app actor while it leads, when leadership may be (suspended) or
// is (lost) gone: the app must stop acting as the leader and answer its take_leadership request.
struct leadership_lost {
  std::string path;
  lock_notice_kind why = lock_notice_kind::lost;
};

} // namespace corral::client

namespace corral::client {

// A shared count's value with the node version it was read at (Curator's VersionedValue<Integer>).
struct versioned_count {
  int32_t value = 0;
  int32_t version = -1;
};

// Sent by a shared count to its listener whenever it sees the value change.
struct count_changed {
  std::string path;
  versioned_count count;
};

// The outcome of an atomic long operation (Curator's AtomicValue<Long>): whether it took effect, and
// the value before and after (`post` is the value read when it did not succeed).
struct atomic_result {
  bool succeeded = false;
  int64_t pre = 0;
  int64_t post = 0;
};

} // namespace corral::client

namespace corral::client {

// One item of a distributed queue, as its consumer (or a take) receives it: the queue node it came
// from ("queue-0000000007") and the item's bytes.
struct queue_item {
  std::string node;
  std::string data;
};

// What a queue actor has done, for tests and operators.
struct queue_stats {
  uint64_t put = 0;       // nodes created by (put)
  uint64_t delivered = 0; // items handed to the consumer or to a take
  uint64_t requeued = 0;  // nodes put back at the end after the consumer answered false
  uint64_t corrupt = 0;   // nodes whose bytes are not Curator's item encoding (deleted, logged)
  uint64_t lost_race = 0; // nodes another consumer took first
  uint64_t ambiguous = 0; // nodes whose delete's answer was lost and that were then gone: not delivered
};

} // namespace corral::client

namespace corral::client {

// A node as a cache holds it.
struct cached_node {
  std::string path;
  std::string data;
  node_stat stat;
};

enum class cache_event_kind { created, changed, deleted, initialized };
const char* to_string(cache_event_kind k);

// Sent by a cache actor to its listener. `node` is the node now (for deleted: as last cached);
// `old` is what the cache held before a change. `initialized` carries neither.
struct cache_event {
  cache_event_kind kind = cache_event_kind::initialized;
  cached_node node;
  cached_node old;
};

struct cache_stats {
  uint64_t nodes = 0;   // in the cache now
  uint64_t reads = 0;   // getData and getChildren the actor sent
  uint64_t resyncs = 0; // whole-subtree reads after a reconnect
};

} // namespace corral::client

namespace corral::client {

// Sent by a persistent node actor to its listener each time it has (re)created its node: at start,
// after the node was deleted, and after a new session replaced an expired one. `path` is the
// node's actual path (with a sequential mode, the name ZooKeeper gave it).
struct node_created {
  std::string path;
};

// A group's members as a group member actor reports them: member id -> payload.
using member_map = std::map<std::string, std::string>;

} // namespace corral::client
