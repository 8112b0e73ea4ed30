// The lock actor (see lock.hpp). Each acquisition is a `participant` that goes through Curator's
// loop: create a protected ephemeral sequential node, list the children, and either hold the lock
// or watch the one node the ordering rules (core/lock_order) name, then list again when it goes.
// Every asynchronous step carries the participant's id and generation, so an answer that arrives
// after the participant gave up or restarted is recognised and only cleaned up after.
#include "actors/client/lock.hpp"

#include <functional>
#include <map>
#include <set>

#include "actors/client/recipe_support.hpp"
#include "actors/logging.hpp"
#include "core/lock_order.hpp"
#include "core/path.hpp"

namespace corral::client {

const char* to_string(lock_kind k) {
  switch (k) {
    case lock_kind::mutex: return "mutex";
    case lock_kind::read: return "read";
    case lock_kind::write: return "write";
  }
  return "?";
}

const char* to_string(lock_notice_kind k) {
  switch (k) {
    case lock_notice_kind::suspended: return "SUSPENDED";
    case lock_notice_kind::reconnected: return "RECONNECTED";
    case lock_notice_kind::lost: return "LOST";
  }
  return "?";
}

namespace {

using grant_result = corral::result<lock_grant>;
using unit_result = corral::result<unit>;

struct participant {
  caf::actor owner;
  lock_kind kind = lock_kind::mutex;
  std::string uuid;        // of the protection prefix
  std::string node;        // our child's name, once known
  int64_t token = 0;       // its czxid
  int holds = 0;           // > 0: held, this many times (reentrancy)
  bool bypass = false;     // a read lock taken under the owner's own write lock (downgrade)
  bool creating = false;   // the create is in flight
  bool stalled = false;    // a step failed with ConnectionLoss: resume it after the reconnect
  uint64_t gen = 0;        // bumps at every step; answers to older steps are stale
  std::string watching;    // the predecessor we wait for
  int create_attempts = 0; // parents vanish (containers are reaped): retry a few times, then fail
  caf::response_promise rp;
};

struct lock_state {
  caf::actor session;
  std::string path;
  std::string node_data;  // what each lock node holds (LeaderSelector puts the participant id there)
  std::string mutex_name; // the mutex's lock name: "lock-", or "latch-" for LeaderLatch
  bool rw = false;
  bool connected = true; // until told otherwise: a request made before the first connect waits for it
  bool expired = false;
  uint64_t disconnects = 0; // counts suspensions; a timer for an older one is stale
  uint64_t next_id = 1;
  std::map<uint64_t, participant> parts;
  std::set<std::string> armed;        // predecessors with a watch of ours on them
  std::set<std::string> doomed_nodes; // children whose delete failed: delete after the reconnect
  std::set<std::string> doomed_uuids; // creates whose outcome is unknown: find and delete them
  std::set<caf::actor_addr> monitored;
  // Nodes held or waiting, shared with the exit hook that deletes them if the actor dies.
  std::shared_ptr<std::set<std::string>> live = std::make_shared<std::set<std::string>>();
  lock_stats stats;
  static inline const char* name = "corral_lock";
};

using self_ptr = caf::stateful_actor<lock_state>*;
using detail::reply_fn;

participant* find(self_ptr self, uint64_t id) {
  auto it = self->state.parts.find(id);
  return it == self->state.parts.end() ? nullptr : &it->second;
}

std::optional<uint64_t> find_owner(self_ptr self, const caf::actor_addr& owner, lock_kind kind) {
  for (auto& [id, p] : self->state.parts)
    if (p.kind == kind && p.owner.address() == owner)
      return id;
  return std::nullopt;
}

std::string child_path(self_ptr self, const std::string& child) { return self->state.path + "/" + child; }

// The lock name a participant's node carries, and the names the children are sorted by.
std::string lock_name(self_ptr self, lock_kind k) {
  switch (k) {
    case lock_kind::mutex: return self->state.mutex_name;
    case lock_kind::read: return lock_order::read_name;
    case lock_kind::write: return lock_order::write_name;
  }
  return self->state.mutex_name;
}

std::vector<std::string> sort_names(self_ptr self) {
  if (self->state.rw)
    return {lock_order::read_name, lock_order::write_name};
  return {self->state.mutex_name};
}

void ask(self_ptr self, request_body body, reply_fn fn) {
  detail::ask(self, self->state.session, std::move(body), std::move(fn));
}

void ask_watch(self_ptr self, request_body body, reply_fn fn) {
  detail::ask_watch(self, self->state.session, std::move(body), std::move(fn));
}

// `then` runs once the server answered the delete (a delete lost to a disconnect is retried after the
// reconnect, from doomed_nodes; `then` does not wait for that).
void delete_node(self_ptr self, const std::string& child, std::function<void()> then = {}) {
  self->state.live->erase(child);
  ask(self, delete_request{child_path(self, child), -1}, [self, child, then](response& r) {
    if (r.err == error_code::connection_loss)
      self->state.doomed_nodes.insert(child); // Curator's guaranteed delete
    if (then)
      then();
  });
}

// Drops a participant and whatever node it has or may have.
void abandon(self_ptr self, uint64_t id) {
  auto* p = find(self, id);
  if (p == nullptr)
    return;
  if (!p->node.empty())
    delete_node(self, p->node);
  else if (!p->creating && p->create_attempts > 0)
    self->state.doomed_uuids.insert(p->uuid); // its create failed with ConnectionLoss: it may exist
  // (while the create is in flight, its answer finds the participant gone and deletes the node)
  self->state.parts.erase(id);
}

void fail(self_ptr self, uint64_t id, error_code code, const std::string& detail) {
  auto* p = find(self, id);
  if (p == nullptr)
    return;
  if (p->node.empty() || !p->rp.pending()) {
    if (p->rp.pending())
      p->rp.deliver(grant_result(code, detail));
    abandon(self, id);
    return;
  }
  // As Curator does: the node is deleted before the caller hears that the attempt failed, so a caller
  // that looks at the lock's children next does not find it.
  auto child = p->node;
  auto rp = std::move(p->rp);
  self->state.parts.erase(id);
  delete_node(self, child, [rp, answer = grant_result(code, detail)]() mutable { rp.deliver(std::move(answer)); });
}

void notify(self_ptr self, participant& p, lock_notice_kind what) {
  self->send(p.owner, lock_notice{what, p.kind, child_path(self, p.node)});
}

void check(self_ptr self, uint64_t id);

void grant(self_ptr self, uint64_t id) {
  auto* p = find(self, id);
  p->holds = 1;
  p->watching.clear();
  ++self->state.stats.grants;
  log::debug("client", "lock ", child_path(self, p->node), " granted (token ", p->token, ")");
  p->rp.deliver(grant_result(lock_grant{child_path(self, p->node), p->token, 0}));
}

// After a step failed with ConnectionLoss: wait for the reconnect. Anything else ends the attempt.
void step_failed(self_ptr self, uint64_t id, const response& r, const char* what) {
  if (r.err == error_code::connection_loss) {
    find(self, id)->stalled = true;
    return;
  }
  fail(self, id, r.err,
       std::string(what) + " " + self->state.path + ": " + error_name(r.err) +
           (r.detail.empty() ? "" : " (" + r.detail + ")"));
}

void create_node(self_ptr self, uint64_t id) {
  auto* starting = find(self, id);
  starting->creating = true;
  starting->stalled = false;
  ++starting->create_attempts;
  auto gen = ++starting->gen;
  auto uuid = starting->uuid;
  auto node_path = child_path(self, lock_order::protected_prefix(uuid) + lock_name(self, starting->kind));
  ask(self, create_request{node_path, self->state.node_data, open_acl_unsafe(), create_mode::ephemeral_sequential},
      [self, id, gen, uuid](response& r) {
        auto* p = find(self, id);
        if (p == nullptr || p->gen != gen) { // the participant gave up meanwhile: clean up after it
          if (r.err == error_code::ok)
            delete_node(self, std::string(basename_of(std::get<create_result>(r.body).path)));
          else if (r.err == error_code::connection_loss)
            self->state.doomed_uuids.insert(uuid);
          return;
        }
        p->creating = false;
        if (r.err == error_code::ok) {
          auto& cr = std::get<create_result>(r.body);
          p->node = std::string(basename_of(cr.path));
          p->token = cr.stat.czxid;
          self->state.live->insert(p->node);
          if (p->bypass)
            grant(self, id);
          else
            check(self, id);
        } else if (r.err == error_code::no_node && p->create_attempts <= 5) {
          detail::make_containers(self, self->state.session, self->state.path);
          create_node(self, id);
        } else {
          step_failed(self, id, r, "cannot create a lock node under");
        }
      });
}

// Starts a step of participant `id` that lists the lock's children; `fn` gets the answer unless
// the participant is gone or has started another step meanwhile.
void list_children(self_ptr self, uint64_t id, std::function<void(participant*, response&)> fn) {
  auto* starting = find(self, id);
  starting->stalled = false;
  auto gen = ++starting->gen;
  ask(self, get_children_request{self->state.path, false}, [self, id, gen, fn](response& r) {
    auto* p = find(self, id);
    if (p != nullptr && p->gen == gen)
      fn(p, r);
  });
}

// After a create failed with ConnectionLoss: the node may exist. Find it by its protection prefix.
void find_node(self_ptr self, uint64_t id) {
  list_children(self, id, [self, id](participant* p, response& r) {
    if (r.err == error_code::no_node) {
      create_node(self, id);
      return;
    }
    if (r.err != error_code::ok)
      return step_failed(self, id, r, "cannot list");
    auto found = lock_order::find_protected(std::get<children_result>(r.body).children, p->uuid);
    if (!found) {
      create_node(self, id);
      return;
    }
    p->node = *found;
    self->state.live->insert(p->node);
    // The fencing token is the node's czxid, which the lost create answer would have carried.
    auto gen = p->gen;
    ask(self, exists_request{child_path(self, p->node), false}, [self, id, gen](response& stat) {
      auto* now = find(self, id);
      if (now == nullptr || now->gen != gen)
        return;
      if (stat.err != error_code::ok)
        return step_failed(self, id, stat, "cannot read the lock node under");
      now->token = std::get<node_stat>(stat.body).czxid;
      if (now->bypass)
        grant(self, id);
      else
        check(self, id);
    });
  });
}

void watch_predecessor(self_ptr self, uint64_t id, const std::string& pred) {
  auto* watcher = find(self, id);
  watcher->watching = pred;
  if (self->state.armed.count(pred) != 0)
    return; // another participant of ours already watches it: one watch, one event
  auto gen = watcher->gen;
  ask_watch(self, get_data_request{child_path(self, pred), true}, [self, id, gen, pred](response& r) {
    if (r.err == error_code::ok)
      self->state.armed.insert(pred);
    auto* p = find(self, id);
    if (p == nullptr || p->gen != gen)
      return;
    if (r.err == error_code::ok)
      return;
    if (r.err == error_code::no_node) // it went before the watch was set: look again
      return check(self, id);
    step_failed(self, id, r, "cannot watch the predecessor in");
  });
}

void check(self_ptr self, uint64_t id) {
  list_children(self, id, [self, id](participant* p, response& r) {
    if (r.err != error_code::ok && r.err != error_code::no_node)
      return step_failed(self, id, r, "cannot list");
    auto sorted = r.err == error_code::ok
                      ? lock_order::sorted(std::get<children_result>(r.body).children, sort_names(self))
                      : std::vector<std::string>{};
    auto d =
        p->kind == lock_kind::read ? lock_order::read_lock(sorted, p->node) : lock_order::exclusive(sorted, p->node);
    if (d.gone) {
      self->state.live->erase(p->node);
      p->node.clear(); // nothing to delete
      return fail(self, id, error_code::no_node,
                  "the lock node under " + self->state.path + " is gone: its session expired or it was deleted");
    }
    if (d.holds)
      return grant(self, id);
    watch_predecessor(self, id, d.watch);
  });
}

// Deletes what failed to delete while disconnected, and finds creates whose answer was lost.
void sweep(self_ptr self) {
  auto& st = self->state;
  auto nodes = std::move(st.doomed_nodes);
  st.doomed_nodes.clear();
  for (auto& n : nodes)
    delete_node(self, n);
  if (st.doomed_uuids.empty())
    return;
  ask(self, get_children_request{st.path, false}, [self](response& r) {
    if (r.err == error_code::connection_loss)
      return;
    auto uuids = std::move(self->state.doomed_uuids);
    self->state.doomed_uuids.clear();
    if (r.err != error_code::ok)
      return;
    for (auto& u : uuids)
      if (auto found = lock_order::find_protected(std::get<children_result>(r.body).children, u))
        delete_node(self, *found);
  });
}

// Goes on with a participant's acquisition once the connection is there (again): find or make its
// node, then look at the children.
void resume(self_ptr self, uint64_t id) {
  auto* p = find(self, id);
  if (!p->node.empty())
    check(self, id);
  else if (p->create_attempts > 0)
    find_node(self, id); // a create whose answer was lost may have made it
  else
    create_node(self, id);
}

// Connected for the first time: acquisitions that waited for the connection start. Nothing can be
// held yet, and nothing was in flight.
void on_first_connect(self_ptr self) {
  auto& st = self->state;
  st.connected = true;
  std::vector<uint64_t> ids;
  for (auto& [id, p] : st.parts)
    if (p.stalled)
      ids.push_back(id);
  for (auto id : ids)
    resume(self, id);
}

// The session is back (the same session): holders learn whether the lock survived, stalled steps go on.
void on_reconnected(self_ptr self) {
  auto& st = self->state;
  st.connected = true;
  sweep(self);
  std::vector<uint64_t> ids;
  for (auto& [id, unused] : st.parts)
    ids.push_back(id);
  for (auto id : ids) {
    auto* part = find(self, id);
    if (part == nullptr || part->creating)
      continue;
    if (part->holds > 0) {
      auto gen = part->gen;
      ask(self, exists_request{child_path(self, part->node), false}, [self, id, gen](response& r) {
        auto* p = find(self, id);
        if (p == nullptr || p->gen != gen || p->holds == 0)
          return;
        if (r.err == error_code::ok) {
          notify(self, *p, lock_notice_kind::reconnected);
        } else if (r.err == error_code::no_node) {
          notify(self, *p, lock_notice_kind::lost);
          self->state.live->erase(p->node);
          self->state.parts.erase(id);
        }
      });
    } else {
      resume(self, id); // also for waiters not stalled: cheap, and nothing in flight is missed
    }
  }
}

void on_expired(self_ptr self, const char* why) {
  auto& st = self->state;
  st.expired = true;
  st.connected = false;
  for (auto& [id, p] : st.parts) {
    if (p.holds > 0)
      notify(self, p, lock_notice_kind::lost);
    else if (p.rp.pending())
      p.rp.deliver(grant_result(error_code::session_expired, std::string("the lock's session ") + why));
  }
  st.parts.clear();
  st.armed.clear();
  st.doomed_nodes.clear();
  st.doomed_uuids.clear();
  st.live->clear();
}

void on_state(self_ptr self, connection_state s) {
  auto& st = self->state;
  switch (s) {
    case connection_state::suspended: {
      st.connected = false;
      for (auto& [id, p] : st.parts)
        if (p.holds > 0)
          notify(self, p, lock_notice_kind::suspended);
      detail::start_loss_clock(self, st.session, ++st.disconnects);
      break;
    }
    case connection_state::connected:
      if (!st.expired)
        on_first_connect(self);
      break;
    case connection_state::reconnected:
      if (!st.expired)
        on_reconnected(self);
      break;
    case connection_state::expired: on_expired(self, "expired"); break;
    case connection_state::closed: on_expired(self, "was closed"); break;
  }
}

// Disconnected for a whole session timeout: holders have lost their locks. Their nodes are deleted
// if the session does come back, so that nobody waits behind a lock its holder gave up.
void on_disconnected_too_long(self_ptr self, uint64_t epoch) {
  auto& st = self->state;
  if (st.connected || st.expired || epoch != st.disconnects)
    return;
  std::vector<uint64_t> ids;
  for (auto& [id, p] : st.parts)
    if (p.holds > 0)
      ids.push_back(id);
  for (auto id : ids) {
    auto& p = st.parts[id];
    notify(self, p, lock_notice_kind::lost);
    st.live->erase(p.node);
    st.doomed_nodes.insert(p.node);
    st.parts.erase(id);
  }
}

void on_watch_event(self_ptr self, const watch_event& e) {
  if (e.type == event_type::none)
    return; // session states come as connection_state
  auto& st = self->state;
  ++st.stats.watch_events;
  std::string name(basename_of(e.path));
  st.armed.erase(name);
  std::vector<uint64_t> ids;
  for (auto& [id, p] : st.parts)
    if (p.holds == 0 && !p.creating && p.watching == name)
      ids.push_back(id);
  for (auto id : ids)
    check(self, id);
}

caf::result<grant_result> on_acquire(self_ptr self, lock_kind kind, int64_t timeout_ms) {
  auto& st = self->state;
  if (st.expired)
    return grant_result(error_code::session_expired, "the session of lock " + st.path + " has ended");
  auto owner = caf::actor_cast<caf::actor>(self->current_sender());
  if (!owner)
    return grant_result(error_code::bad_arguments, "acquire " + st.path + ": send it with request() from an actor");
  if (st.rw == (kind == lock_kind::mutex))
    return grant_result(error_code::bad_arguments, std::string("acquire ") + st.path + ": a " + to_string(kind) +
                                                       " lock is not what this lock actor takes");
  if (auto id = find_owner(self, owner.address(), kind)) {
    auto& p = st.parts[*id];
    if (p.holds == 0)
      return grant_result(error_code::bad_arguments, "acquire " + st.path + ": this owner already waits for it");
    ++p.holds;
    return grant_result(lock_grant{child_path(self, p.node), p.token, p.holds - 1});
  }
  auto read_id = find_owner(self, owner.address(), lock_kind::read);
  if (kind == lock_kind::write && read_id)
    return grant_result(error_code::bad_arguments,
                        "acquire " + st.path + ": a read lock cannot be upgraded to a write lock (it would deadlock)");
  auto write_id = find_owner(self, owner.address(), lock_kind::write);
  auto id = st.next_id++;
  auto& p = st.parts[id];
  p.owner = owner;
  p.kind = kind;
  p.uuid = detail::random_uuid();
  p.bypass = kind == lock_kind::read && write_id && st.parts[*write_id].holds > 0;
  p.rp = self->make_response_promise();
  auto rp = p.rp;
  if (st.monitored.insert(owner.address()).second)
    self->monitor(owner);
  if (timeout_ms >= 0)
    self->delayed_send(self, std::chrono::milliseconds(timeout_ms), atoms::timeout::value, id);
  if (st.connected)
    create_node(self, id);
  else
    p.stalled = true;
  return caf::delegated<grant_result>{};
}

caf::result<unit_result> on_release(self_ptr self, lock_kind kind) {
  auto& st = self->state;
  auto id = find_owner(self, caf::actor_cast<caf::actor_addr>(self->current_sender()), kind);
  if (!id || st.parts[*id].holds == 0)
    return unit_result(error_code::bad_arguments, std::string("release ") + st.path + ": the " + to_string(kind) +
                                                      " lock is not held by the sender");
  auto& p = st.parts[*id];
  if (--p.holds > 0)
    return unit_result(unit{});
  auto node = p.node;
  st.parts.erase(*id);
  st.live->erase(node);
  auto rp = self->make_response_promise();
  ask(self, delete_request{child_path(self, node), -1}, [self, node, rp](response& r) mutable {
    if (r.err == error_code::connection_loss)
      self->state.doomed_nodes.insert(node); // deleted after the reconnect; the lock is no longer ours
    rp.deliver(unit_result(unit{}));
  });
  return caf::delegated<unit_result>{};
}

caf::behavior lock_actor(self_ptr self, caf::actor session, std::string path, bool rw, std::string mutex_name,
                         std::string data) {
  auto& st = self->state;
  st.session = session;
  st.node_data = std::move(data);
  st.mutex_name = std::move(mutex_name);
  st.path = std::move(path);
  st.rw = rw;
  if (!session) {
    st.expired = true; // made from a closed client: every acquire answers SessionExpired
    return {
        [self](atoms::acquire, int64_t) { return grant_result(error_code::session_expired, "no session"); },
        [self](atoms::acquire, lock_kind, int64_t) { return grant_result(error_code::session_expired, "no session"); },
        [self](atoms::release) { return unit_result(error_code::session_expired, "no session"); },
        [self](atoms::release, lock_kind) { return unit_result(error_code::session_expired, "no session"); },
        [self](atoms::stats) { return self->state.stats; }};
  }
  self->monitor(session);
  self->send(session, atoms::subscribe::value, caf::actor_cast<caf::actor>(self));
  // If the actor ends (the app dropped it), its nodes go now rather than with the session.
  self->attach_functor([live = st.live, session, base = st.path](const caf::error&) {
    for (auto& n : *live)
      caf::anon_send(session, request_body{delete_request{base + "/" + n, -1}});
  });
  self->set_down_handler([self](caf::down_msg& dm) {
    if (dm.source == self->state.session.address()) { // closed: nothing left to do
      on_expired(self, "actor is gone");
      self->quit(caf::exit_reason::user_shutdown); // also ends the recipes built on this lock
      return;
    }
    self->state.monitored.erase(dm.source);
    std::vector<uint64_t> ids;
    for (auto& [id, p] : self->state.parts)
      if (p.owner.address() == dm.source)
        ids.push_back(id);
    for (auto id : ids)
      abandon(self, id);
  });
  return {
      [self](atoms::acquire, int64_t timeout_ms) { return on_acquire(self, lock_kind::mutex, timeout_ms); },
      [self](atoms::acquire, lock_kind kind, int64_t timeout_ms) { return on_acquire(self, kind, timeout_ms); },
      [self](atoms::release) { return on_release(self, lock_kind::mutex); },
      [self](atoms::release, lock_kind kind) { return on_release(self, kind); },
      [self](atoms::timeout, uint64_t id) {
        auto* p = find(self, id);
        if (p == nullptr || p->holds > 0)
          return;
        ++self->state.stats.timeouts;
        fail(self, id, error_code::operation_timeout, "lock " + self->state.path + " not acquired in time");
      },
      [self](atoms::stats) {
        auto s = self->state.stats;
        for (auto& [id, p] : self->state.parts)
          ++(p.holds > 0 ? s.held : s.waiting);
        return s;
      },
      [self](atoms::expired, uint64_t epoch) { on_disconnected_too_long(self, epoch); },
      [self](watch_event& e) { on_watch_event(self, e); },
      [self](connection_state s) { on_state(self, s); },
  };
}

} // namespace

caf::actor spawn_lock(caf::actor_system& sys, caf::actor session, std::string path, std::string node_data) {
  return spawn_named_lock(sys, std::move(session), std::move(path), lock_order::mutex_name, std::move(node_data));
}

caf::actor spawn_named_lock(caf::actor_system& sys, caf::actor session, std::string path, std::string lock_name,
                            std::string node_data) {
  return sys.spawn(lock_actor, std::move(session), std::move(path), false, std::move(lock_name), std::move(node_data));
}

caf::actor spawn_rw_lock(caf::actor_system& sys, caf::actor session, std::string path) {
  return sys.spawn(lock_actor, std::move(session), std::move(path), true, std::string(lock_order::mutex_name),
                   std::string{});
}

} // namespace corral::client
