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

// A LeaderLatch is Curator's mutex under the lock name "latch-", with the id in each node, that the
// leader never releases. So the latch is a lock actor (spawn_named_lock) it asks for the lock once:
// holding it is leading. The lock actor does the node work (protected create, predecessor watch,
// recovery after a lost answer); the latch turns its grants and notices into leadership.

struct latch_state {
  caf::actor session, lock, listener;
  std::string path, id;
  std::string node; // our latch node, while we lead
  bool leader = false;
  bool closed = false;
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
    self->send(st.listener, leadership{st.path, leader, st.node});
}

// Takes a place in the election: waits (without limit) for the latch's lock.
void latch_join(latch_ptr self) {
  self->request(self->state.lock, caf::infinite, atoms::acquire::value, int64_t{-1})
      .then([self](corral::result<lock_grant>& g) {
        auto& st = self->state;
        if (st.closed)
          return;
        if (g.ok()) {
          st.node = g->node;
          return set_leader(self, true);
        }
        if (g.code() == error_code::session_expired)
          return;                            // out of the election: the session will not come back
        if (g.code() == error_code::no_node) // our node was deleted under us: join again (Curator's reset)
          return latch_join(self);
        log::warn("client", "latch ", st.path, ": ", g.error().to_string(), "; joining again in 1 s");
        self->delayed_send(self, std::chrono::seconds(1), atoms::retry::value);
      });
}

// What the lock actor says about our node while we lead (Curator's connection-state rules).
void latch_on_notice(latch_ptr self, const lock_notice& n) {
  auto& st = self->state;
  if (st.closed)
    return;
  switch (n.what) {
    case lock_notice_kind::suspended: set_leader(self, false); break;  // cannot know whether it still leads
    case lock_notice_kind::reconnected: set_leader(self, true); break; // same session, node still first
    case lock_notice_kind::lost:
      set_leader(self, false);
      st.node.clear();
      latch_join(self); // answered SessionExpired if the session is gone for good
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
      ask(self, get_data_request{child(self, sorted[i]), false}, [acc, left, i, rp](response& reply) mutable {
        if (auto* d = std::get_if<data_result>(&reply.body))
          (*acc)[i].id = d->data;
        if (--*left > 0)
          return;
        // Nodes deleted while we read them are left out; the first that remains leads.
        std::vector<participant_info> out;
        for (auto& p : *acc)
          if (!p.node.empty() && (reply.err == error_code::ok || !p.id.empty()))
            out.push_back(p);
        if (!out.empty())
          out.front().is_leader = true;
        rp.deliver(out_t(std::move(out)));
      });
    }
  });
}

caf::behavior leader_latch(latch_ptr self, caf::actor session, std::string path, std::string id, caf::actor listener) {
  auto& st = self->state;
  st.session = session;
  st.path = path;
  st.id = id;
  st.listener = std::move(listener);
  st.lock = spawn_named_lock(self->system(), std::move(session), std::move(path), latch_name, std::move(id));
  self->monitor(st.lock);
  self->set_down_handler([self](caf::down_msg&) { // the lock ends with the session: so does the latch
    set_leader(self, false);
    self->quit();
  });
  latch_join(self);
  return {
      [self](atoms::state) { return self->state.leader; },
      [self](caf::get_atom) {
        auto rp = self->make_response_promise();
        latch_participants(self, rp);
        return rp;
      },
      [self](atoms::retry) {
        if (!self->state.closed)
          latch_join(self);
      },
      [self](lock_notice& n) { latch_on_notice(self, n); },
      [self](atoms::close) -> caf::result<corral::result<unit>> {
        auto& state = self->state;
        if (state.closed)
          return corral::result<unit>(unit{});
        state.closed = true;
        bool was_leader = state.leader;
        set_leader(self, false);
        auto done = [self] {
          self->send_exit(self->state.lock, caf::exit_reason::user_shutdown); // deletes a waiting node
          self->quit();
        };
        if (!was_leader) {
          done();
          return corral::result<unit>(unit{});
        }
        // The leader's node goes before the answer, so the next leader may already lead when it comes.
        auto rp = self->make_response_promise();
        self->request(state.lock, caf::infinite, atoms::release::value).then([rp, done](corral::result<unit>&) mutable {
          rp.deliver(corral::result<unit>(unit{}));
          done();
        });
        return rp;
      },
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
            auto& state = self->state;
            state.leading = false;
            self->request(state.lock, caf::infinite, atoms::release::value)
                .then([self, requeue](corral::result<unit>&) {
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
        if (g.code() == error_code::session_expired) { // the session will not come back: leave
          self->state.closed = true;
          self->send_exit(self->state.lock, caf::exit_reason::user_shutdown);
          return self->quit();
        }
        log::warn("client", "selector ", self->state.path, ": ", g.error().to_string(), "; queueing again in 1 s");
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
