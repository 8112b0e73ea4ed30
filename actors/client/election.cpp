// The leader latch and leader selector actors (see election.hpp).
#include "actors/client/election.hpp"

#include "actors/client/recipe_support.hpp"
#include "actors/logging.hpp"
#include "core/lock_order.hpp"
#include "core/path.hpp"

namespace corral::client {

namespace {

using detail::reply_fn;
constexpr const char* latch_name = "latch-";

// ---- leader latch ------------------------------------------------------------------------------

struct latch_state {
  caf::actor session;
  std::string path, id;
  caf::actor listener;
  std::string uuid;
  std::string node;        // our child's name, once created
  bool leader = false;
  bool creating = false;
  bool closed = false;
  bool expired = false;
  bool connected = true;
  int create_attempts = 0;
  uint64_t gen = 0;        // answers to older steps are stale
  static inline const char* name = "corral_leader_latch";
};

using latch_ptr = caf::stateful_actor<latch_state>*;

void ask(latch_ptr self, request_body body, reply_fn fn) {
  detail::ask(self, self->state.session, std::move(body), std::move(fn));
}

std::string child(latch_ptr self, const std::string& name) { return self->state.path + "/" + name; }

void set_leader(latch_ptr self, bool leader) {
  auto& st = self->state;
  if (st.leader == leader)
    return;
  st.leader = leader;
  log::debug("client", "latch ", st.path, " (", st.id, "): ", leader ? "leader" : "not leader");
  if (st.listener)
    self->send(st.listener, leadership{st.path, leader, st.node.empty() ? "" : child(self, st.node)});
}

void latch_create(latch_ptr self);

void latch_check(latch_ptr self) {
  auto gen = ++self->state.gen;
  ask(self, get_children_request{self->state.path, false}, [self, gen](response& r) {
    auto& st = self->state;
    if (gen != st.gen || st.closed)
      return;
    if (r.err != error_code::ok && r.err != error_code::no_node)
      return; // ConnectionLoss: the reconnect checks again; SessionExpired: the state says so
    auto sorted = r.err == error_code::ok ? lock_order::sorted(std::get<children_result>(r.body).children, {latch_name})
                                          : std::vector<std::string>{};
    auto d = lock_order::exclusive(sorted, st.node);
    if (d.gone) { // someone deleted our node: join again (Curator's reset)
      st.node.clear();
      set_leader(self, false);
      return latch_create(self);
    }
    if (d.holds)
      return set_leader(self, true);
    set_leader(self, false);
    detail::ask_watch(self, st.session, get_data_request{child(self, d.watch), true}, [self, gen](response& r) {
      if (gen == self->state.gen && r.err == error_code::no_node)
        latch_check(self); // the predecessor went before the watch was set
    });
  });
}

void latch_find(latch_ptr self);

void latch_create(latch_ptr self) {
  auto& st = self->state;
  st.uuid = detail::random_uuid(); // latch_find looks for the last one

  st.creating = true;
  ++st.create_attempts;
  auto gen = ++st.gen;
  auto node_path = child(self, lock_order::protected_prefix(st.uuid) + latch_name);
  ask(self, create_request{node_path, st.id, open_acl_unsafe(), create_mode::ephemeral_sequential},
      [self, gen](response& r) {
        auto& st = self->state;
        if (gen != st.gen || st.closed) {
          if (r.err == error_code::ok) // closed meanwhile: take the node back
            ask(self, delete_request{std::get<create_result>(r.body).path, -1}, [](response&) {});
          return;
        }
        st.creating = false;
        if (r.err == error_code::ok) {
          st.node = std::string(basename_of(std::get<create_result>(r.body).path));
          st.create_attempts = 0;
          latch_check(self);
        } else if (r.err == error_code::no_node && st.create_attempts <= 5) {
          detail::make_containers(self, st.session, st.path);
          latch_create(self);
        } else if (r.err != error_code::connection_loss && r.err != error_code::session_expired) {
          log::warn("client", "latch ", st.path, ": cannot create its node: ", error_name(r.err), " ", r.detail);
        }
      });
}

// After a create whose answer was lost: find the node by its protection prefix, or create it.
void latch_find(latch_ptr self) {
  auto gen = ++self->state.gen;
  ask(self, get_children_request{self->state.path, false}, [self, gen](response& r) {
    auto& st = self->state;
    if (gen != st.gen || st.closed || (r.err != error_code::ok && r.err != error_code::no_node))
      return;
    if (r.err == error_code::ok)
      if (auto found = lock_order::find_protected(std::get<children_result>(r.body).children, st.uuid)) {
        st.node = *found;
        return latch_check(self);
      }
    latch_create(self);
  });
}

void latch_on_state(latch_ptr self, connection_state s) {
  auto& st = self->state;
  if (st.closed)
    return;
  switch (s) {
    case connection_state::suspended:
      st.connected = false;
      set_leader(self, false); // Curator's standard rule: a leader that cannot see the server steps down
      break;
    case connection_state::connected:
    case connection_state::reconnected:
      st.connected = true;
      if (st.expired) // a renewed session: the old node went with the old one
        return;
      if (!st.node.empty())
        latch_check(self);
      else if (st.create_attempts > 0)
        latch_find(self);
      else
        latch_create(self);
      break;
    case connection_state::expired:
    case connection_state::closed:
      st.expired = true;
      st.node.clear();
      set_leader(self, false);
      break;
  }
}

void latch_participants(latch_ptr self, caf::response_promise rp) {
  using out_t = corral::result<std::vector<participant_info>>;
  ask(self, get_children_request{self->state.path, false}, [self, rp](response& r) mutable {
    if (r.err == error_code::no_node)
      return rp.deliver(out_t(std::vector<participant_info>{}));
    if (r.err != error_code::ok)
      return rp.deliver(out_t(r.err, "cannot list " + self->state.path));
    auto sorted = lock_order::sorted(std::get<children_result>(r.body).children, {latch_name});
    auto acc = std::make_shared<std::vector<participant_info>>(sorted.size());
    auto left = std::make_shared<size_t>(sorted.size());
    if (sorted.empty())
      return rp.deliver(out_t(std::vector<participant_info>{}));
    for (size_t i = 0; i < sorted.size(); ++i) {
      (*acc)[i].node = child(self, sorted[i]);
      ask(self, get_data_request{child(self, sorted[i]), false}, [acc, left, i, rp](response& r) mutable {
        if (auto* d = std::get_if<data_result>(&r.body))
          (*acc)[i].id = d->data;
        if (--*left > 0)
          return;
        // Nodes deleted while we read them are left out; the first that remains leads.
        std::vector<participant_info> out;
        for (auto& p : *acc)
          if (!p.node.empty() && (r.err == error_code::ok || !p.id.empty()))
            out.push_back(p);
        if (!out.empty())
          out.front().is_leader = true;
        rp.deliver(out_t(std::move(out)));
      });
    }
  });
}

caf::behavior leader_latch(latch_ptr self, caf::actor session, std::string path, std::string id,
                           caf::actor listener) {
  auto& st = self->state;
  st.session = std::move(session);
  st.path = std::move(path);
  st.id = std::move(id);
  st.listener = std::move(listener);
  self->send(st.session, atoms::subscribe::value, caf::actor_cast<caf::actor>(self));
  self->monitor(st.session);
  self->set_down_handler([self](caf::down_msg&) { // the session is closed: so is the latch
    set_leader(self, false);
    self->quit();
  });
  latch_create(self);
  return {
      [self](atoms::state) { return self->state.leader; },
      [self](caf::get_atom) {
        auto rp = self->make_response_promise();
        latch_participants(self, rp);
        return rp;
      },
      [self](atoms::close) -> caf::result<corral::result<unit>> {
        auto& st = self->state;
        if (st.closed)
          return corral::result<unit>(unit{});
        st.closed = true;
        set_leader(self, false);
        if (st.node.empty()) {
          self->quit();
          return corral::result<unit>(unit{});
        }
        auto rp = self->make_response_promise();
        ask(self, delete_request{child(self, st.node), -1}, [self, rp](response&) mutable {
          rp.deliver(corral::result<unit>(unit{}));
          self->quit();
        });
        return rp;
      },
      [self](watch_event& e) {
        if (e.type == event_type::node_deleted && !self->state.closed && !self->state.expired)
          latch_check(self);
      },
      [self](connection_state s) { latch_on_state(self, s); },
  };
}

// ---- leader selector ---------------------------------------------------------------------------

struct selector_state {
  caf::actor session, lock, app;
  std::string path;
  bool leading = false;
  bool closed = false;
  static inline const char* name = "corral_leader_selector";
};

using selector_ptr = caf::stateful_actor<selector_state>*;

void selector_queue(selector_ptr self);

void selector_lead(selector_ptr self, const lock_grant& g) {
  auto& st = self->state;
  st.leading = true;
  self->request(st.app, caf::infinite, take_leadership{st.path, g.fencing_token})
      .then(
          [self](bool requeue) {
            auto& st = self->state;
            st.leading = false;
            self->request(st.lock, caf::infinite, atoms::release::value).then([self, requeue](corral::result<unit>&) {
              if (requeue && !self->state.closed)
                selector_queue(self);
            });
          },
          [self](caf::error& e) { // the app is gone (or answered something else): give the lock up
            log::warn("client", "selector ", self->state.path, ": the leader app ended its turn with ",
                      self->system().render(e), "; leaving the election");
            self->state.leading = false;
            self->state.closed = true;
            self->send_exit(self->state.lock, caf::exit_reason::user_shutdown);
            self->quit();
          });
}

void selector_queue(selector_ptr self) {
  self->request(self->state.lock, caf::infinite, atoms::acquire::value, int64_t{-1})
      .then([self](corral::result<lock_grant>& g) {
        if (self->state.closed)
          return;
        if (g.ok())
          return selector_lead(self, *g);
        // SessionExpired and the like: try again later, the session may be renewed
        log::info("client", "selector ", self->state.path, ": ", g.error().to_string(), "; queueing again in 1 s");
        self->delayed_send(self, std::chrono::seconds(1), atoms::retry::value);
      });
}

caf::behavior leader_selector(selector_ptr self, caf::actor session, std::string path, std::string id, caf::actor app) {
  auto& st = self->state;
  st.session = session;
  st.path = path;
  st.app = std::move(app);
  st.lock = spawn_lock(self->system(), std::move(session), std::move(path), std::move(id));
  self->link_to(st.lock);
  selector_queue(self);
  return {
      [self](atoms::state) { return self->state.leading; },
      [self](atoms::retry) {
        if (!self->state.closed)
          selector_queue(self);
      },
      [self](lock_notice& n) {
        if (self->state.leading && n.what != lock_notice_kind::reconnected)
          self->send(self->state.app, leadership_lost{self->state.path, n.what});
      },
      [self](atoms::close) {
        self->state.closed = true;
        self->send_exit(self->state.lock, caf::exit_reason::user_shutdown); // its exit deletes its nodes
        self->quit();
        return corral::result<unit>(unit{});
      },
  };
}

} // namespace

caf::actor spawn_leader_latch(caf::actor_system& sys, caf::actor session, std::string path, std::string id,
                              caf::actor listener) {
  return sys.spawn(leader_latch, std::move(session), std::move(path), std::move(id), std::move(listener));
}

caf::actor spawn_leader_selector(caf::actor_system& sys, caf::actor session, std::string path, std::string id,
                                 caf::actor app) {
  return sys.spawn(leader_selector, std::move(session), std::move(path), std::move(id), std::move(app));
}

} // namespace corral::client
