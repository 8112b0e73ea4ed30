// A blocking facade over the session actor for plain (non-actor) code: corral-cli, tests, scripts.
// It runs its own small actor system. Every call waits for its answer (or the request timeout) and
// returns the server's error code as a result. Watch events and connection-state changes go to
// callbacks (called on a library thread) and to a queue that next_event() reads.
// Thread-safe: calls from several threads are serialised.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/client/recipe_types.hpp"
#include "core/types.hpp"

namespace caf {
class actor;
class actor_system;
} // namespace caf

namespace corral::client {

enum class connection_state;

struct client_options {
  std::vector<std::string> servers{"127.0.0.1:2281"};
  int32_t session_timeout_ms = 10000;
  int32_t request_timeout_ms = 30000;
  // TLS to the servers' corral.secure-port: the CA that signed the server certificates, and this
  // client's certificate and key if the servers ask for one (all PEM; empty ca: plain TCP).
  std::string tls_ca_file, tls_cert_file, tls_key_file;
};

class blocking_lock;
class blocking_latch;
class blocking_queue;
class blocking_semaphore;
class blocking_barrier;
class blocking_double_barrier;
class blocking_count;
class blocking_atomic_long;
class blocking_cache;

class blocking_client {
public:
  explicit blocking_client(client_options opts);
  ~blocking_client();
  blocking_client(const blocking_client&) = delete;
  blocking_client& operator=(const blocking_client&) = delete;

  // Waits until the session is connected; false on timeout or expiry.
  bool wait_connected(std::chrono::milliseconds timeout);

  // Any request. With watch set on exists/getData/getChildren (or for addWatch), the watch's events
  // go to the callbacks and the queue.
  response call(request_body body);

  result<create_result> create(const std::string& path, const std::string& data,
                               create_mode mode = create_mode::persistent, acl_list acl = open_acl_unsafe(),
                               int64_t ttl = -1);
  result<unit> remove(const std::string& path, int32_t version = -1);
  result<node_stat> exists(const std::string& path, bool watch = false);
  result<data_result> get(const std::string& path, bool watch = false);
  result<node_stat> set(const std::string& path, const std::string& data, int32_t version = -1);
  result<children_result> children(const std::string& path, bool watch = false);
  result<acl_result> get_acl(const std::string& path);
  result<node_stat> set_acl(const std::string& path, acl_list acl, int32_t version = -1);
  result<std::vector<op_result>> multi(std::vector<multi_op> ops);
  result<unit> add_auth(const std::string& scheme, const std::string& credentials);
  result<unit> add_watch(const std::string& path, add_watch_mode mode);
  result<unit> sync(const std::string& path);
  // Ends the session: its ephemerals are deleted. Further calls fail with SessionExpired.
  void close();

  void on_event(std::function<void(const watch_event&)> fn);
  void on_state(std::function<void(connection_state)> fn);
  // The next watch event, or nothing after `timeout`.
  std::optional<watch_event> next_event(std::chrono::milliseconds timeout);

  session_id id() const;
  connection_state state() const;

  // Recipes on this session (actors/client/lock.hpp): a mutex (Curator's InterProcessMutex) or a
  // read/write lock (InterProcessReadWriteLock) on `path`. The lock must not outlive this client.
  std::unique_ptr<blocking_lock> lock(const std::string& path);
  std::unique_ptr<blocking_lock> rw_lock(const std::string& path);
  // A leader latch (actors/client/election.hpp, Curator's LeaderLatch) on `path` for participant `id`.
  std::unique_ptr<blocking_latch> leader_latch(const std::string& path, const std::string& id);
  // A distributed queue (actors/client/queue.hpp, Curator's DistributedQueue) on `path` that this
  // code puts into and takes from. A non-empty `lock_path` takes items with Curator's lock safety.
  std::unique_ptr<blocking_queue> queue(const std::string& path, const std::string& lock_path = {});
  // The other recipes for plain code, each a thin wrapper over its actor (see its header for what
  // it does): a semaphore with `max_leases` (semaphore.hpp), a barrier and a double barrier of
  // `members` (barrier.hpp), a shared count created with `seed` and an atomic long promoted to a lock
  // on `lock_path` (counter.hpp), and a tree or node cache (cache.hpp).
  std::unique_ptr<blocking_semaphore> semaphore(const std::string& path, int max_leases);
  std::unique_ptr<blocking_barrier> barrier(const std::string& path);
  std::unique_ptr<blocking_double_barrier> double_barrier(const std::string& path, int members);
  std::unique_ptr<blocking_count> shared_count(const std::string& path, int32_t seed);
  std::unique_ptr<blocking_atomic_long> atomic_long(const std::string& path, const std::string& lock_path = {});
  std::unique_ptr<blocking_cache> cache(const std::string& path, bool single_node = false);

private:
  caf::actor_system& system() const; // for the recipe factories (blocking_recipes.cpp)
  const caf::actor& session_actor() const;
  struct impl;
  std::unique_ptr<impl> impl_;
};

// What every blocking recipe object holds: its actor and the actor that talks to it (the owner the
// recipe sees, and the listener of its notifications). Defined in blocking_recipes.cpp.
struct recipe_handle;
struct recipe_handle_deleter {
  void operator()(recipe_handle* h) const;
};
using recipe_handle_ptr = std::unique_ptr<recipe_handle, recipe_handle_deleter>;

// A lock for plain code, made by blocking_client::lock() or rw_lock(). One object is one owner: it
// may take its lock reentrantly (and release it as often), and its write lock may take the read lock
// (downgrade). Threads that contend for the lock each make their own object. Not for use by two
// threads at once. Destroying it gives up whatever it holds or waits for (the nodes are deleted).
class blocking_lock {
public:
  ~blocking_lock();
  blocking_lock(const blocking_lock&) = delete;
  blocking_lock& operator=(const blocking_lock&) = delete;

  // Waits until the lock is held, or gives up after `timeout` (negative: no limit) with
  // OperationTimeout. `kind` is mutex for lock(), read or write for rw_lock().
  result<lock_grant> acquire(std::chrono::milliseconds timeout, lock_kind kind = lock_kind::mutex);
  result<unit> release(lock_kind kind = lock_kind::mutex);
  // The next change to a held lock (suspended / reconnected / lost), or nothing after `timeout`.
  std::optional<lock_notice> next_notice(std::chrono::milliseconds timeout);
  lock_stats stats();

private:
  friend class blocking_client;
  struct impl;
  explicit blocking_lock(std::unique_ptr<impl> m);
  std::unique_ptr<impl> impl_;
};

// A leader latch for plain code, made by blocking_client::leader_latch(). It joins at once; the
// destructor leaves the election.
class blocking_latch {
public:
  ~blocking_latch();
  blocking_latch(const blocking_latch&) = delete;
  blocking_latch& operator=(const blocking_latch&) = delete;

  bool is_leader();
  // Waits until this participant leads; false after `timeout`.
  bool wait_leader(std::chrono::milliseconds timeout);
  // Everyone in the election, in node order (the first leads).
  result<std::vector<participant_info>> participants();
  // Leaves the election (its node is deleted).
  void close();

private:
  friend class blocking_client;
  struct impl;
  explicit blocking_latch(std::unique_ptr<impl> m);
  std::unique_ptr<impl> impl_;
};

// A distributed queue for plain code, made by blocking_client::queue(). Thread-safe.
class blocking_queue {
public:
  ~blocking_queue();
  blocking_queue(const blocking_queue&) = delete;
  blocking_queue& operator=(const blocking_queue&) = delete;
  // Queues one item (or several in one node); the node's name.
  result<std::string> put(const std::string& item);
  result<std::string> put(const std::vector<std::string>& items);
  // The next item, taken (deleted) from the queue; OperationTimeout if none came within `timeout`.
  result<queue_item> take(std::chrono::milliseconds timeout);

private:
  friend class blocking_client;
  explicit blocking_queue(caf::actor* q);
  std::unique_ptr<caf::actor> queue_;
};

// A semaphore for plain code (InterProcessSemaphoreV2). The object is the owner of its leases: they
// are given back when it is destroyed. Calls from several threads are serialised.
class blocking_semaphore {
public:
  // A lease (its node in `node`), or OperationTimeout after `timeout`.
  result<lock_grant> acquire(std::chrono::milliseconds timeout);
  result<unit> release(const std::string& lease_node);

private:
  friend class blocking_client;
  explicit blocking_semaphore(recipe_handle_ptr h) : h_(std::move(h)) {}
  recipe_handle_ptr h_;
};

// A barrier for plain code (DistributedBarrier).
class blocking_barrier {
public:
  result<unit> raise();
  result<unit> lower();
  // True once the barrier is down; false after `timeout`.
  result<bool> wait(std::chrono::milliseconds timeout);

private:
  friend class blocking_client;
  explicit blocking_barrier(recipe_handle_ptr h) : h_(std::move(h)) {}
  recipe_handle_ptr h_;
};

// A double barrier for plain code (DistributedDoubleBarrier): true once all members entered (or left).
class blocking_double_barrier {
public:
  result<bool> enter(std::chrono::milliseconds timeout);
  result<bool> leave(std::chrono::milliseconds timeout);

private:
  friend class blocking_client;
  explicit blocking_double_barrier(recipe_handle_ptr h) : h_(std::move(h)) {}
  recipe_handle_ptr h_;
};

// A shared count for plain code (SharedCount).
class blocking_count {
public:
  result<versioned_count> get();
  result<unit> set(int32_t value);
  // Sets `value` only if the count is still at `version` (trySetCount); false if someone came first.
  result<bool> try_set(int32_t value, int32_t version);

private:
  friend class blocking_client;
  explicit blocking_count(recipe_handle_ptr h) : h_(std::move(h)) {}
  recipe_handle_ptr h_;
};

// An atomic long for plain code (DistributedAtomicLong).
class blocking_atomic_long {
public:
  result<atomic_result> get();
  result<atomic_result> add(int64_t delta);
  result<atomic_result> set(int64_t value);
  result<atomic_result> compare_and_set(int64_t expected, int64_t value);

private:
  friend class blocking_client;
  explicit blocking_atomic_long(recipe_handle_ptr h) : h_(std::move(h)) {}
  recipe_handle_ptr h_;
};

// A tree (or node) cache for plain code (CuratorCache / NodeCache). Its events queue up until read.
class blocking_cache {
public:
  result<cached_node> get(const std::string& path);
  std::vector<cached_node> all();
  // The next created / changed / deleted / initialized event, or nothing after `timeout`.
  std::optional<cache_event> next_event(std::chrono::milliseconds timeout);

private:
  friend class blocking_client;
  explicit blocking_cache(recipe_handle_ptr h) : h_(std::move(h)) {}
  recipe_handle_ptr h_;
};

} // namespace corral::client
