// Reads on every core: what a server's session actors share with its state machine so that they can
// answer a session's reads themselves, in parallel, instead of passing each through the one state
// machine actor (docs/architecture.md, "Reads in parallel").
//
// The rules, and who keeps each:
//  - The state machine is the only writer. It holds `lock` for writing through each of its turns
//    (every handler: a request, a commit, a tick, a peer's message), so a reader never sees a
//    half-applied txn and the state machine never needs to look at readers. A session actor reads
//    under `lock` for reading, and never waits for it: if the state machine holds it (or waits for
//    it), the read goes to the state machine as before.
//  - Per-session order: a session reads itself only while none of its requests is at the state
//    machine; otherwise the read queues there behind them (request_pipeline's rule).
//  - A watch event comes before any response that reflects its change: the state machine counts, in
//    the session's `session_link`, the events it sent to the session, and does so under the write
//    lock. A reader reads that count under the read lock; if the session has not yet received that
//    many events, the read's response waits in the session actor until they have arrived.
//  - Only a serving server answers: the state machine publishes whether reads may be answered here
//    (`serving`) and until when (`lease_until_ns`: its last replication tick plus one tick; a server
//    that missed ticks, paused or starved, passes its next read through the state machine, which
//    catches up first and steps down if its quorum moved on).
// The database's read_shared() changes nothing; the watch a read sets is added under `watch_lock`,
// still under the read lock (so before any later txn can fire it).
#pragma once

#include <pthread.h>

#include <atomic>
#include <cstdint>
#include <mutex>

#include "core/database.hpp"

namespace corral::server {

// A read-write lock that prefers the writer: readers arriving while the state machine waits do not
// get in ahead of it (glibc's default lets a stream of readers starve a writer).
class turn_lock {
public:
  turn_lock() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&lock_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  ~turn_lock() { pthread_rwlock_destroy(&lock_); }
  turn_lock(const turn_lock&) = delete;
  turn_lock& operator=(const turn_lock&) = delete;
  void lock() { pthread_rwlock_wrlock(&lock_); }
  void unlock() { pthread_rwlock_unlock(&lock_); }
  bool try_lock_shared() { return pthread_rwlock_tryrdlock(&lock_) == 0; }
  void unlock_shared() { pthread_rwlock_unlock(&lock_); }

private:
  pthread_rwlock_t lock_;
};

struct shared_reads {
  turn_lock lock;
  database* db = nullptr; // the state machine's (it replaces it on a leader's snapshot): under `lock`
  std::mutex watch_lock;  // readers adding watches to db's watch table
  std::atomic<bool> serving{false};
  std::atomic<int64_t> lease_until_ns{0}; // steady clock
  std::atomic<uint64_t> answered{0};      // reads the session actors answered (tests look)
  bool enabled = true;                    // corral.parallel-reads (off: `serving` stays false)
  int64_t touch_interval_ms = 1000;       // how often a session reading by itself keeps its session alive
};

// One per session, shared by the state machine and the session's actor.
struct session_link {
  std::atomic<uint64_t> events_sent{0}; // by the state machine, counted under the write lock
};

} // namespace corral::server
