// The persistent node and group member actors (see persistent_node.hpp).
//
// The persistent node's one loop: while the node is not known to exist, create it; once it
// exists, keep an exists-watch on it; a deletion event or a new session starts the loop again.
// A request lost with the connection is retried when the session is back.
#include "actors/client/persistent_node.hpp"

#include <map>

#include "actors/client/cache.hpp"
#include "actors/client/recipe_support.hpp"
#include "actors/logging.hpp"
#include "core/lock_order.hpp"
#include "core/path.hpp"

namespace corral::client {

namespace {

using unit_result = corral::result<unit>;
using bool_result = corral::result<bool>;

struct node_state {
  caf::actor session, listener;
  std::string path, data;
  persistent_node_options opts;
  std::string uuid; // the protection prefix's id (sequential modes)
  std::shared_ptr<std::string> actual = std::make_shared<std::string>(); // empty: no node now
  bool creating = false, armed = false, connected = true, closing = false;
  bool lost_create = false; // a protected create's answer was lost: look first
  std::map<uint64_t, caf::response_promise> waiters;
  uint64_t next_waiter = 1;
  caf::response_promise close_rp;
  static inline const char* name = "corral_persistent_node";
};

using self_ptr = caf::stateful_actor<node_state>*;

bool sequential(self_ptr self) { return is_sequential(self->state.opts.mode); }

std::string create_path(self_ptr self) {
  auto& st = self->state;
  if (!sequential(self))
    return st.path;
  return join_path(parent_of(st.path), lock_order::protected_prefix(st.uuid) + std::string(basename_of(st.path)));
}

void create(self_ptr self, bool made_parents = false);

void arm(self_ptr self) {
  auto& st = self->state;
  if (st.armed || st.actual->empty())
    return;
  st.armed = true;
  auto watched = *st.actual;
  detail::ask_watch(self, st.session, exists_request{watched, true}, [self, watched](response& r) {
    auto& state = self->state;
    if (watched != *state.actual)
      return;
    if (r.err == error_code::no_node) { // gone before the watch was set: the watch waits for a create
      state.actual->clear();
      return create(self);
    }
    if (r.err != error_code::ok)
      state.armed = false; // lost with the connection: set again after the reconnect
  });
}

void became(self_ptr self, std::string actual) {
  auto& st = self->state;
  *st.actual = std::move(actual);
  st.armed = false;
  arm(self);
  for (auto& [id, rp] : st.waiters)
    rp.deliver(bool_result(true));
  st.waiters.clear();
  if (st.listener)
    self->send(st.listener, node_created{*st.actual});
}

// A protected sequential create lost its answer: the node may exist under our prefix.
void find_lost(self_ptr self) {
  auto& st = self->state;
  auto parent = std::string(parent_of(st.path));
  detail::ask(self, st.session, get_children_request{parent, false}, [self, parent](response& r) {
    auto& state = self->state;
    if (r.err == error_code::connection_loss || r.err == error_code::session_expired)
      return;
    state.lost_create = false;
    auto* c = std::get_if<children_result>(&r.body);
    if (auto found = c ? lock_order::find_protected(c->children, state.uuid) : std::nullopt)
      return became(self, join_path(parent, *found));
    create(self);
  });
}

void create(self_ptr self, bool made_parents) {
  auto& st = self->state;
  if (st.creating || st.closing || !st.actual->empty() || !st.connected)
    return;
  if (st.lost_create)
    return find_lost(self);
  st.creating = true;
  auto target = create_path(self);
  detail::ask(self, st.session, create_request{target, st.data, st.opts.acl, st.opts.mode, st.opts.ttl},
              [self, target, made_parents](response& r) {
                auto& state = self->state;
                state.creating = false;
                if (state.closing) { // close came first: whatever we made goes
                  if (auto* c = std::get_if<create_result>(&r.body); c && r.err == error_code::ok)
                    detail::ask(self, state.session, delete_request{c->path, -1}, [](response&) {});
                  return;
                }
                if (auto* c = std::get_if<create_result>(&r.body); c && r.err == error_code::ok)
                  return became(self, c->path);
                if (r.err == error_code::node_exists) { // ours from before, or an old session's: take it
                  detail::ask(self, state.session, set_data_request{target, state.data, -1}, [](response&) {});
                  return became(self, target);
                }
                if (r.err == error_code::no_node && !made_parents) {
                  detail::make_containers(self, state.session, std::string(parent_of(state.path)));
                  return create(self, true);
                }
                if (r.err == error_code::connection_loss) {
                  state.lost_create = sequential(self);
                  return; // the reconnect tries again
                }
                if (r.err != error_code::session_expired)
                  log::warn("persistent-node", "cannot create ", target, ": ", error_name(r.err), " ", r.detail,
                            "; will try again when the session reconnects");
              });
}

void finish_close(self_ptr self) {
  auto& st = self->state;
  st.actual->clear();
  if (st.close_rp.pending())
    st.close_rp.deliver(unit_result(unit{}));
  self->quit();
}

void close_node(self_ptr self) {
  auto& st = self->state;
  if (st.actual->empty())
    return finish_close(self);
  detail::ask(self, st.session, delete_request{*st.actual, -1}, [self](response& r) {
    if (r.err == error_code::connection_loss)
      return; // the reconnect deletes it
    finish_close(self);
  });
}

caf::behavior persistent_node(self_ptr self, caf::actor session, std::string path, std::string data,
                              persistent_node_options opts) {
  auto& st = self->state;
  st.session = std::move(session);
  st.path = std::move(path);
  st.data = std::move(data);
  st.opts = std::move(opts);
  st.listener = st.opts.listener;
  st.uuid = detail::random_uuid();
  self->send(st.session, atoms::subscribe::value, caf::actor_cast<caf::actor>(self));
  self->monitor(st.session);
  self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  // Dropped by the app: the node goes now rather than with the session (or never, if persistent).
  self->attach_functor([actual = st.actual, session = st.session](const caf::error&) {
    if (!actual->empty())
      caf::anon_send(session, request_body{delete_request{*actual, -1}});
  });
  create(self);
  return {
      [self](caf::put_atom, std::string& value) {
        auto& state = self->state;
        state.data = value;
        auto rp = self->make_response_promise();
        if (state.actual->empty()) {
          rp.deliver(unit_result(unit{})); // the next create uses it
          return rp;
        }
        detail::ask(self, state.session, set_data_request{*state.actual, std::move(value), -1},
                    [self, rp](response& r) mutable {
                      if (r.err == error_code::ok || r.err == error_code::no_node) // no_node: re-created with it
                        return rp.deliver(unit_result(unit{}));
                      rp.deliver(unit_result(r.err, "cannot set the value of " + self->state.path + ": " + r.detail));
                    });
        return rp;
      },
      [self](caf::get_atom) -> corral::result<std::string> {
        if (self->state.actual->empty())
          return corral::result<std::string>(error_code::no_node, self->state.path + " is not created right now");
        return *self->state.actual;
      },
      [self](atoms::wait, int64_t ms) {
        auto& state = self->state;
        auto rp = self->make_response_promise();
        if (!state.actual->empty()) {
          rp.deliver(bool_result(true));
          return rp;
        }
        auto id = state.next_waiter++;
        state.waiters.emplace(id, rp);
        self->delayed_send(self, std::chrono::milliseconds(std::max<int64_t>(ms, 0)), atoms::timeout::value, id);
        return rp;
      },
      [self](atoms::timeout, uint64_t id) {
        auto it = self->state.waiters.find(id);
        if (it == self->state.waiters.end())
          return;
        it->second.deliver(bool_result(false));
        self->state.waiters.erase(it);
      },
      [self](atoms::close) {
        auto& state = self->state;
        state.closing = true;
        state.close_rp = self->make_response_promise();
        auto rp = state.close_rp;
        close_node(self);
        return rp;
      },
      [self](watch_event& e) {
        auto& state = self->state;
        if (e.type == event_type::none || e.path != *state.actual)
          return;
        state.armed = false;
        if (e.type == event_type::node_deleted) {
          state.actual->clear();
          return create(self);
        }
        arm(self); // a value change: keep watching
      },
      [self](connection_state s) {
        auto& state = self->state;
        switch (s) {
          case connection_state::suspended: state.connected = false; return;
          case connection_state::expired: // the node (if ephemeral) and our watch went with it
            state.connected = false;
            state.armed = false;
            if (is_ephemeral(state.opts.mode))
              state.actual->clear();
            return;
          case connection_state::closed: self->quit(); return;
          case connection_state::connected:
          case connection_state::reconnected:
            state.connected = true;
            if (state.closing)
              return close_node(self);
            if (state.actual->empty())
              return create(self);
            arm(self); // a watch lost with the connection (or, after a new session, the node's)
            return;
        }
      },
  };
}

// ---- group member ------------------------------------------------------------------------------

struct member_state {
  caf::actor node, cache, listener;
  std::string group;
  static inline const char* name = "corral_group_member";
};

using member_ptr = caf::stateful_actor<member_state>*;

caf::behavior group_member(member_ptr self, caf::actor session, std::string group, std::string id, std::string payload,
                           caf::actor listener) {
  auto& st = self->state;
  st.group = group;
  st.listener = std::move(listener);
  auto me = caf::actor_cast<caf::actor>(self);
  st.node = self->spawn<caf::linked>(persistent_node, session, join_path(group, id), std::move(payload),
                                     persistent_node_options{});
  st.cache = spawn_cache(self->system(), session, group, me);
  self->link_to(st.cache);
  return {
      [self](caf::get_atom) {
        auto rp = self->make_response_promise();
        self->request(self->state.cache, std::chrono::seconds(30), caf::get_atom::value)
            .then(
                [self, rp](std::vector<cached_node>& nodes) mutable {
                  member_map members;
                  for (auto& n : nodes)
                    if (parent_of(n.path) == self->state.group)
                      members.emplace(std::string(basename_of(n.path)), std::move(n.data));
                  rp.deliver(std::move(members));
                },
                [rp](caf::error& e) mutable { rp.deliver(e); });
        return rp;
      },
      [self](caf::put_atom, std::string& bytes) {
        return self->delegate(self->state.node, caf::put_atom::value, bytes);
      },
      [self](atoms::close) {
        auto rp = self->make_response_promise();
        self->request(self->state.node, std::chrono::seconds(60), atoms::close::value)
            .then(
                [self, rp](unit_result& r) mutable {
                  rp.deliver(std::move(r));
                  self->quit();
                },
                [self, rp](caf::error& e) mutable {
                  rp.deliver(e);
                  self->quit();
                });
        return rp;
      },
      [self](cache_event& e) {
        if (e.kind != cache_event_kind::initialized && parent_of(e.node.path) != self->state.group)
          return; // the group node itself, or deeper nodes: not members
        if (self->state.listener)
          self->send(self->state.listener, std::move(e));
      },
  };
}

} // namespace

caf::actor spawn_persistent_node(caf::actor_system& sys, caf::actor session, std::string path, std::string data,
                                 persistent_node_options opts) {
  return sys.spawn(persistent_node, std::move(session), std::move(path), std::move(data), std::move(opts));
}

caf::actor spawn_group_member(caf::actor_system& sys, caf::actor session, std::string group_path, std::string id,
                              std::string payload, caf::actor listener) {
  return sys.spawn(group_member, std::move(session), std::move(group_path), std::move(id), std::move(payload),
                   std::move(listener));
}

} // namespace corral::client
