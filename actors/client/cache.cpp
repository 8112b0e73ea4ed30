// The cache actor (see cache.hpp). Why the order of events is exact: the session hands this actor
// its answers in the order it sent the requests, and a watch event before any answer that the
// server sent after it; the server orders both by zxid. So every answer is at least as new as what
// the actor already knows, and comparing a node's czxid and mzxid with the cached ones tells a
// new node, a change, or nothing new (no event twice).
//
// A walk reads the subtree (getData and getChildren per node) and, at its end, removes what it did
// not find. The first walk loads the cache; one after each reconnect makes up for the events the
// persistent watch missed. A walk cut by a disconnect is abandoned (its answers carry a stale
// generation) and the next reconnect starts a new one.
#include "actors/client/cache.hpp"

#include <map>
#include <set>

#include "actors/client/recipe_support.hpp"
#include "actors/logging.hpp"
#include "core/path.hpp"

namespace corral::client {

const char* to_string(cache_event_kind k) {
  switch (k) {
    case cache_event_kind::created: return "created";
    case cache_event_kind::changed: return "changed";
    case cache_event_kind::deleted: return "deleted";
    case cache_event_kind::initialized: return "initialized";
  }
  return "?";
}

namespace {

struct cache_state {
  caf::actor session, listener;
  std::string root;
  bool recursive = true;
  std::map<std::string, cached_node> nodes; // path order: a parent before its descendants
  bool watch_set = false, watching = false; // the persistent watch is set / being set
  bool initialized = false;
  uint64_t walk_gen = 0; // the current walk; answers of an abandoned one are ignored
  bool walking = false;
  size_t walk_pending = 0;
  std::set<std::string> seen; // paths read (found) during the current walk
  cache_stats stats;
  static inline const char* name = "corral_cache";
};

using self_ptr = caf::stateful_actor<cache_state>*;

bool under_root(self_ptr self, const std::string& p) {
  const auto& root = self->state.root;
  if (!self->state.recursive)
    return p == root;
  return p == root ||
         (p.size() > root.size() && p.compare(0, root.size(), root) == 0 && (root == "/" || p[root.size()] == '/'));
}

void tell(self_ptr self, cache_event_kind kind, const cached_node& node, const cached_node& old = {}) {
  if (self->state.listener)
    self->send(self->state.listener, cache_event{kind, node, old});
}

// Drops `p` and everything under it (deepest first), reporting each.
void remove(self_ptr self, const std::string& p) {
  auto& nodes = self->state.nodes;
  auto first = nodes.find(p);
  if (first == nodes.end())
    return;
  auto last = first;
  for (++last; last != nodes.end() && last->first.size() > p.size() && last->first.compare(0, p.size(), p) == 0 &&
               (p == "/" || last->first[p.size()] == '/');
       ++last) {
  }
  std::vector<std::string> gone;
  for (auto it = first; it != last; ++it)
    gone.push_back(it->first);
  for (auto it = gone.rbegin(); it != gone.rend(); ++it) {
    auto node = std::move(nodes[*it]);
    nodes.erase(*it);
    tell(self, cache_event_kind::deleted, node);
  }
}

void put(self_ptr self, const std::string& p, std::string data, const node_stat& stat) {
  auto& nodes = self->state.nodes;
  self->state.seen.insert(p);
  cached_node now{p, std::move(data), stat};
  auto it = nodes.find(p);
  if (it == nodes.end()) {
    nodes.emplace(p, now);
    return tell(self, cache_event_kind::created, now);
  }
  if (it->second.stat.czxid != stat.czxid) { // deleted and created again while we could not see
    remove(self, p);
    nodes.emplace(p, now);
    return tell(self, cache_event_kind::created, now);
  }
  if (it->second.stat.mzxid == stat.mzxid) {
    it->second.stat = stat; // children or ACL may have moved; the data did not
    return;
  }
  auto old = std::exchange(it->second, now);
  tell(self, cache_event_kind::changed, now, old);
}

// Reads `p` after a watch event (no walk): its data, or its absence.
void refresh(self_ptr self, const std::string& p) {
  ++self->state.stats.reads;
  detail::ask(self, self->state.session, get_data_request{p, false}, [self, p](response& r) {
    if (auto* d = std::get_if<data_result>(&r.body); r.err == error_code::ok && d != nullptr)
      put(self, p, std::move(d->data), d->stat);
    else if (r.err == error_code::no_node)
      remove(self, p);
    // ConnectionLoss: the walk after the reconnect reads it again.
  });
}

void walk_done(self_ptr self) {
  auto& st = self->state;
  st.walking = false;
  std::vector<std::string> missing;
  for (auto& [p, n] : st.nodes)
    if (st.seen.count(p) == 0)
      missing.push_back(p);
  for (auto it = missing.rbegin(); it != missing.rend(); ++it)
    remove(self, *it);
  st.seen.clear();
  if (!st.initialized) {
    st.initialized = true;
    tell(self, cache_event_kind::initialized, {});
  }
}

void walk_step_done(self_ptr self) {
  if (--self->state.walk_pending == 0)
    walk_done(self);
}

// The current walk's remaining answers are ignored (they carry its generation); the next reconnect
// starts a new one.
void abandon_walk(self_ptr self) {
  self->state.walking = false;
  ++self->state.walk_gen;
}

// Whether an answer belongs to the current walk; a request of it lost with the connection ends it.
bool walk_alive(self_ptr self, uint64_t gen, const response& r) {
  if (gen != self->state.walk_gen)
    return false;
  if (r.err == error_code::connection_loss || r.err == error_code::session_expired) {
    abandon_walk(self);
    return false;
  }
  return true;
}

void visit(self_ptr self, const std::string& p) {
  auto& st = self->state;
  auto gen = st.walk_gen;
  st.walk_pending += st.recursive ? 2 : 1;
  st.stats.reads += st.recursive ? 2 : 1;
  detail::ask(self, st.session, get_data_request{p, false}, [self, p, gen](response& r) {
    if (!walk_alive(self, gen, r))
      return;
    if (auto* d = std::get_if<data_result>(&r.body); r.err == error_code::ok && d != nullptr)
      put(self, p, std::move(d->data), d->stat);
    else if (r.err == error_code::no_node)
      remove(self, p);
    walk_step_done(self);
  });
  if (!st.recursive)
    return;
  detail::ask(self, st.session, get_children_request{p, false}, [self, p, gen](response& r) {
    if (!walk_alive(self, gen, r))
      return;
    if (auto* c = std::get_if<children_result>(&r.body); r.err == error_code::ok && c != nullptr)
      for (auto& child : c->children)
        visit(self, join_path(p, child));
    walk_step_done(self);
  });
}

void walk(self_ptr self) {
  auto& st = self->state;
  ++st.walk_gen;
  st.walking = true;
  st.walk_pending = 0;
  st.seen.clear();
  if (st.initialized)
    ++st.stats.resyncs;
  visit(self, st.root);
}

// Sets the persistent watch (once; the session re-arms it after reconnects), then walks.
void start(self_ptr self) {
  auto& st = self->state;
  if (st.watch_set)
    return walk(self);
  if (st.watching)
    return;
  st.watching = true;
  auto mode = st.recursive ? add_watch_mode::persistent_recursive : add_watch_mode::persistent;
  detail::ask_watch(self, st.session, add_watch_request{st.root, mode}, [self](response& r) {
    auto& state = self->state;
    state.watching = false;
    if (r.err == error_code::ok) {
      state.watch_set = true;
      return walk(self);
    }
    if (r.err != error_code::connection_loss && r.err != error_code::session_expired)
      log::warn("cache", "cannot watch ", state.root, ": ", error_name(r.err), " ", r.detail,
                "; the cache stays empty (check the path and the session's rights)");
  });
}

caf::behavior cache_actor(self_ptr self, caf::actor session, std::string path, caf::actor listener, cache_scope scope) {
  auto& st = self->state;
  st.session = std::move(session);
  st.listener = std::move(listener);
  st.root = std::move(path);
  st.recursive = scope == cache_scope::tree;
  self->send(st.session, atoms::subscribe::value, caf::actor_cast<caf::actor>(self));
  self->monitor(st.session);
  self->set_down_handler([self](caf::down_msg&) { self->quit(); }); // the session is closed
  start(self);
  return {
      [self](caf::get_atom, const std::string& p) -> corral::result<cached_node> {
        auto it = self->state.nodes.find(p);
        if (it == self->state.nodes.end())
          return corral::result<cached_node>(error_code::no_node, p + " is not in the cache of " + self->state.root);
        return it->second;
      },
      [self](caf::get_atom) {
        std::vector<cached_node> out;
        for (auto& [p, n] : self->state.nodes)
          out.push_back(n);
        return out;
      },
      [self](atoms::stats) {
        auto s = self->state.stats;
        s.nodes = self->state.nodes.size();
        return s;
      },
      [self](watch_event& e) {
        if (e.type == event_type::none || !under_root(self, e.path))
          return;
        // A deletion is read too (its answer is NoNode) rather than applied at once: the reads for
        // earlier events are still out, and the listener must hear the changes in their order.
        if (e.type == event_type::node_created || e.type == event_type::node_data_changed ||
            e.type == event_type::node_deleted)
          refresh(self, e.path);
      },
      [self](connection_state s) {
        auto& state = self->state;
        if (s == connection_state::suspended) {
          abandon_walk(self); // its remaining answers fail; a new walk follows the reconnect
        } else if (s == connection_state::reconnected) {
          start(self);                                 // events may have been missed: read everything again
        } else if (s == connection_state::connected) { // the first session, or a new one after expiry
          if (!state.watch_set && !state.watching)
            start(self);
        } else if (s == connection_state::expired) { // the watch went with the session
          state.watch_set = false;
          abandon_walk(self);
        } else {
          self->quit(); // closed
        }
      },
  };
}

} // namespace

caf::actor spawn_cache(caf::actor_system& sys, caf::actor session, std::string path, caf::actor listener,
                       cache_scope scope) {
  return sys.spawn(cache_actor, std::move(session), std::move(path), std::move(listener), scope);
}

} // namespace corral::client
