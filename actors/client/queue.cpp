// The distributed queue actor (see queue.hpp). One node is claimed at a time: listed nodes wait in
// `pending`, the claimed one is `cur`, and a step whose request failed with ConnectionLoss is kept
// in `retry` and run again once the session is back.
#include "actors/client/queue.hpp"

#include <deque>
#include <map>
#include <optional>
#include <set>

#include "actors/client/recipe_support.hpp"
#include "actors/logging.hpp"
#include "core/path.hpp"
#include "core/queue_items.hpp"

namespace corral::client {

namespace {

using name_result = corral::result<std::string>;
using item_result = corral::result<queue_item>;

struct claim {
  std::string node; // "queue-<sequence>"
  int32_t version = -1;
  std::string bytes;
  std::vector<std::string> items;
};

// How a claimed node's delivery ended.
enum class outcome { done, refused, undelivered };

struct queue_state {
  caf::actor session, consumer;
  std::string path, lock_path, uuid;
  bool requeue = true;
  bool consuming = false;          // a consumer is alive
  std::deque<std::string> pending; // listed nodes not yet tried, in queue order
  std::optional<claim> cur;
  std::deque<queue_item> ready;                    // taken items waiting for a take
  std::map<uint64_t, caf::response_promise> takes; // ids grow: the map is arrival order
  uint64_t next_take = 1;
  bool listing = false, armed = false, again = false;
  bool connected = true;
  std::function<void()> retry;        // the step to run again once reconnected
  std::set<std::string> doomed_locks; // lock nodes whose delete's answer was lost
  queue_stats stats;
  static inline const char* name = "corral_queue";
};

using self_ptr = caf::stateful_actor<queue_state>*;

std::string item_path(self_ptr self) { return join_path(self->state.path, self->state.cur->node); }
std::string lock_node(self_ptr self) { return join_path(self->state.lock_path, self->state.cur->node); }

// `p` as a persistent node under container parents (Curator's creatingParentContainersIfNeeded).
void ensure_path(self_ptr self, const std::string& p) {
  detail::make_containers(self, self->state.session, std::string(parent_of(p)));
  detail::ask(self, self->state.session, create_request{p, "", open_acl_unsafe(), create_mode::persistent},
              [](response&) {});
}

void pump(self_ptr self);
void deliver(self_ptr self, size_t i, outcome so_far);

void stop(self_ptr self, const std::string& why) {
  for (auto& [id, rp] : self->state.takes)
    rp.deliver(item_result(error_code::session_expired, why));
  self->state.takes.clear();
  self->quit();
}

// Handles the errors every step shares. Returns true when the step should go on with `r`.
bool step_ok(self_ptr self, response& r, std::function<void()> again) {
  if (r.err == error_code::connection_loss) {
    self->state.retry = std::move(again);
    return false;
  }
  if (r.err == error_code::session_expired) {
    stop(self, "the queue's session ended");
    return false;
  }
  return true;
}

void claim_done(self_ptr self) {
  self->state.cur.reset();
  pump(self);
}

void unlock(self_ptr self) {
  auto node = lock_node(self);
  detail::ask(self, self->state.session, delete_request{node, -1}, [self, node](response& r) {
    if (r.err == error_code::connection_loss)
      self->state.doomed_locks.insert(node);
  });
  claim_done(self);
}

// Lock safety: the node was handled; it goes (or, refused with requeue on, moves to the back).
void finish(self_ptr self, bool move_to_back) {
  auto& st = self->state;
  request_body body = delete_request{item_path(self), -1};
  if (move_to_back)
    body = multi_request{{delete_request{item_path(self), -1},
                          create_request{join_path(st.path, queue_items::node_prefix), st.cur->bytes, open_acl_unsafe(),
                                         create_mode::persistent_sequential}}};
  detail::ask(self, st.session, std::move(body), [self, move_to_back](response& r) {
    if (!step_ok(self, r, [self, move_to_back] { finish(self, move_to_back); }))
      return;
    if (r.err == error_code::ok && move_to_back)
      ++self->state.stats.requeued;
    else if (r.err != error_code::ok && r.err != error_code::no_node) // no_node: our lost answer
      log::warn("queue", "cannot remove ", item_path(self), " after delivering it: ", error_name(r.err),
                "; it will be delivered again");
    unlock(self);
  });
}

void delivered(self_ptr self, outcome o) {
  if (self->state.lock_path.empty())
    return claim_done(self); // already deleted before delivery
  if (o == outcome::undelivered)
    return unlock(self); // the consumer is gone: the node stays for the next one
  finish(self, o == outcome::refused && self->state.requeue);
}

void serve_takes(self_ptr self) {
  auto& st = self->state;
  while (!st.ready.empty() && !st.takes.empty()) {
    st.takes.begin()->second.deliver(item_result(std::move(st.ready.front())));
    st.takes.erase(st.takes.begin());
    st.ready.pop_front();
  }
}

// Hands item i (and then the rest) of the claimed node to the consumer, or to the takes.
void deliver(self_ptr self, size_t i, outcome so_far) {
  auto& st = self->state;
  auto& c = *st.cur;
  if (i == c.items.size())
    return delivered(self, so_far);
  ++st.stats.delivered;
  if (!st.consuming) {
    st.ready.push_back(queue_item{c.node, c.items[i]});
    serve_takes(self);
    return deliver(self, i + 1, so_far);
  }
  self->request(st.consumer, caf::infinite, queue_item{c.node, c.items[i]})
      .then(
          [self, i, so_far](bool done) {
            bool with_lock = !self->state.lock_path.empty();
            if (!done && with_lock) // Curator stops at the first failed item and requeues the node
              return delivered(self, outcome::refused);
            deliver(self, i + 1, done ? so_far : outcome::refused);
          },
          [self](caf::error&) { delivered(self, outcome::undelivered); });
}

// The node's bytes, now ours to deliver: decode them.
void take_bytes(self_ptr self) {
  auto& c = *self->state.cur;
  auto items = queue_items::decode(c.bytes);
  if (!items) {
    ++self->state.stats.corrupt;
    log::warn("queue", "the node ", item_path(self), " does not hold Curator's queue item encoding; removed");
    return delivered(self, outcome::done);
  }
  c.items = std::move(*items);
  deliver(self, 0, outcome::done);
}

void recheck_item(self_ptr self);

// Without a lock: the delete at the version read decides who gets the node.
void delete_item(self_ptr self) {
  detail::ask(self, self->state.session, delete_request{item_path(self), self->state.cur->version},
              [self](response& r) {
                if (!step_ok(self, r, [self] { recheck_item(self); }))
                  return;
                if (r.err == error_code::ok)
                  return take_bytes(self);
                ++self->state.stats.lost_race; // NoNode or BadVersion: another consumer's
                claim_done(self);
              });
}

// Our delete's answer was lost: if the node is still there the delete did not happen; try again.
void recheck_item(self_ptr self) {
  detail::ask(self, self->state.session, exists_request{item_path(self), false}, [self](response& r) {
    if (!step_ok(self, r, [self] { recheck_item(self); }))
      return;
    if (r.err == error_code::ok)
      return delete_item(self);
    ++self->state.stats.ambiguous;
    log::warn("queue", "the delete of ", item_path(self), " lost its answer and the node is gone: it was ",
              "taken by us or by another consumer, and is not delivered here (at most once; use a lock path ",
              "for at least once)");
    claim_done(self);
  });
}

void read_item(self_ptr self) {
  detail::ask(self, self->state.session, get_data_request{item_path(self), false}, [self](response& r) {
    if (!step_ok(self, r, [self] { read_item(self); }))
      return;
    auto* d = std::get_if<data_result>(&r.body);
    if (r.err != error_code::ok || d == nullptr) {
      ++self->state.stats.lost_race;
      return self->state.lock_path.empty() ? claim_done(self) : unlock(self);
    }
    self->state.cur->version = d->stat.version;
    self->state.cur->bytes = std::move(d->data);
    if (self->state.lock_path.empty())
      return delete_item(self);
    take_bytes(self);
  });
}

// Lock safety: is an existing lock node ours (a create whose answer was lost)?
void check_lock(self_ptr self) {
  detail::ask(self, self->state.session, get_data_request{lock_node(self), false}, [self](response& r) {
    if (!step_ok(self, r, [self] { check_lock(self); }))
      return;
    auto* d = std::get_if<data_result>(&r.body);
    if (r.err == error_code::ok && d != nullptr && d->data == self->state.uuid)
      return read_item(self);
    ++self->state.stats.lost_race; // another consumer's; if it gives up, a later listing finds the node
    claim_done(self);
  });
}

void lock_item(self_ptr self, bool made_path) {
  auto& st = self->state;
  detail::ask(self, st.session, create_request{lock_node(self), st.uuid, open_acl_unsafe(), create_mode::ephemeral},
              [self, made_path](response& r) {
                if (!step_ok(self, r, [self] { lock_item(self, true); }))
                  return;
                if (r.err == error_code::ok)
                  return read_item(self);
                if (r.err == error_code::node_exists)
                  return check_lock(self);
                if (r.err == error_code::no_node && !made_path) {
                  ensure_path(self, self->state.lock_path);
                  return lock_item(self, true);
                }
                log::warn("queue", "cannot create the lock node ", lock_node(self), ": ", error_name(r.err), " ",
                          r.detail);
                claim_done(self);
              });
}

void list(self_ptr self, bool made_path = false) {
  auto& st = self->state;
  if (st.listing)
    return;
  st.listing = true;
  bool arm = !st.armed;
  auto done = [self, arm, made_path](response& r) {
    auto& state = self->state;
    state.listing = false;
    if (!step_ok(self, r, [self] { pump(self); }))
      return;
    if (r.err == error_code::no_node && !made_path) {
      ensure_path(self, state.path);
      return list(self, true);
    }
    if (r.err == error_code::ok && arm && !state.again)
      state.armed = true;
    if (auto* c = std::get_if<children_result>(&r.body)) {
      auto order = queue_items::items_in_order(c->children);
      state.pending.assign(order.begin(), order.end());
    }
    bool fired = state.again;
    state.again = false;
    if (!state.pending.empty() || fired)
      pump(self);
  };
  if (arm)
    detail::ask_watch(self, st.session, get_children_request{st.path, true}, done);
  else
    detail::ask(self, st.session, get_children_request{st.path, false}, done);
}

bool wants_items(self_ptr self) {
  auto& st = self->state;
  return st.consuming || st.takes.size() > st.ready.size();
}

void pump(self_ptr self) {
  auto& st = self->state;
  serve_takes(self);
  if (st.cur || !st.connected || st.retry || !wants_items(self))
    return;
  if (st.pending.empty())
    return list(self);
  st.cur.emplace();
  st.cur->node = st.pending.front();
  st.pending.pop_front();
  if (st.lock_path.empty())
    read_item(self);
  else
    lock_item(self, false);
}

void put(self_ptr self, std::string bytes, caf::response_promise rp, bool made_path) {
  auto& st = self->state;
  detail::ask(self, st.session,
              create_request{join_path(st.path, queue_items::node_prefix), bytes, open_acl_unsafe(),
                             create_mode::persistent_sequential},
              [self, bytes, rp, made_path](response& r) mutable {
                auto* c = std::get_if<create_result>(&r.body);
                if (r.err == error_code::no_node && !made_path) {
                  ensure_path(self, self->state.path);
                  return put(self, std::move(bytes), rp, true);
                }
                if (r.err != error_code::ok || c == nullptr)
                  return rp.deliver(name_result(r.err, "cannot put into the queue " + self->state.path + ": " +
                                                           (r.detail.empty() ? error_name(r.err) : r.detail)));
                ++self->state.stats.put;
                rp.deliver(name_result(std::string(basename_of(c->path))));
              });
}

caf::behavior queue_actor(self_ptr self, caf::actor session, std::string path, queue_options opts) {
  auto& st = self->state;
  st.session = std::move(session);
  st.path = std::move(path);
  st.lock_path = std::move(opts.lock_path);
  st.requeue = opts.requeue_on_false;
  st.consumer = std::move(opts.consumer);
  st.consuming = static_cast<bool>(st.consumer);
  st.uuid = detail::random_uuid();
  self->send(st.session, atoms::subscribe::value, caf::actor_cast<caf::actor>(self));
  self->monitor(st.session);
  if (st.consumer)
    self->monitor(st.consumer);
  self->set_down_handler([self](caf::down_msg& m) {
    if (m.source == self->state.session.address())
      return stop(self, "the queue's session is closed");
    self->state.consuming = false; // the consumer ended; puts and takes go on
  });
  ensure_path(self, st.path);
  if (!st.lock_path.empty())
    ensure_path(self, st.lock_path);
  pump(self);
  return {
      [self](caf::put_atom, std::string& item) {
        auto rp = self->make_response_promise();
        put(self, queue_items::encode({item}), rp, false);
        return rp;
      },
      [self](caf::put_atom, std::vector<std::string>& items) {
        auto rp = self->make_response_promise();
        put(self, queue_items::encode(items), rp, false);
        return rp;
      },
      [self](atoms::take, int64_t ms) {
        auto& state = self->state;
        auto rp = self->make_response_promise();
        if (state.consumer) {
          rp.deliver(item_result(error_code::bad_arguments, "this queue delivers to its consumer; take is for "
                                                            "queues spawned without one"));
          return rp;
        }
        auto id = state.next_take++;
        state.takes.emplace(id, rp);
        if (ms >= 0)
          self->delayed_send(self, std::chrono::milliseconds(ms), atoms::timeout::value, id);
        pump(self);
        return rp;
      },
      [self](atoms::timeout, uint64_t id) {
        auto it = self->state.takes.find(id);
        if (it == self->state.takes.end())
          return;
        it->second.deliver(item_result(error_code::operation_timeout, "no queue item came in time"));
        self->state.takes.erase(it);
      },
      [self](atoms::stats) { return self->state.stats; },
      [self](watch_event& e) {
        if (e.type == event_type::none)
          return;
        auto& state = self->state;
        state.armed = false;
        if (state.listing)
          state.again = true;
        else if (state.pending.empty())
          pump(self);
      },
      [self](connection_state s) {
        auto& state = self->state;
        if (s == connection_state::suspended) {
          state.connected = false;
        } else if (s == connection_state::connected || s == connection_state::reconnected) {
          state.connected = true;
          for (auto& node : std::exchange(state.doomed_locks, {}))
            detail::ask(self, state.session, delete_request{node, -1}, [self, node](response& r) {
              if (r.err == error_code::connection_loss)
                self->state.doomed_locks.insert(node);
            });
          if (auto again = std::exchange(state.retry, nullptr))
            again();
          else
            pump(self);
        } else {
          stop(self, "the queue's session ended");
        }
      },
  };
}

} // namespace

caf::actor spawn_queue(caf::actor_system& sys, caf::actor session, std::string path, queue_options opts) {
  return sys.spawn(queue_actor, std::move(session), std::move(path), std::move(opts));
}

} // namespace corral::client
