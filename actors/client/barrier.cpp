// The barrier and double barrier actors (see barrier.hpp).
#include "actors/client/barrier.hpp"

#include <algorithm>
#include <map>

#include "actors/client/recipe_support.hpp"
#include "actors/logging.hpp"
#include "core/path.hpp"

namespace corral::client {

namespace {

using detail::reply_fn;
using bool_result = corral::result<bool>;
using unit_result = corral::result<unit>;

// ---- barrier -----------------------------------------------------------------------------------

struct barrier_state {
  caf::actor session;
  std::string path;
  std::map<uint64_t, caf::response_promise> waiters;
  uint64_t next_id = 1;
  bool armed = false;    // our exists-watch on the node is set
  bool checking = false; // an exists is in flight
  bool again = false;    // something happened while it was: check once more
  static inline const char* name = "corral_barrier";
};

using barrier_ptr = caf::stateful_actor<barrier_state>*;

void barrier_check(barrier_ptr self) {
  auto& st = self->state;
  if (st.waiters.empty())
    return;
  if (st.checking) {
    st.again = true;
    return;
  }
  st.checking = true;
  auto done = [self](response& r) {
    auto& state = self->state;
    state.checking = false;
    if (r.err == error_code::ok || r.err == error_code::no_node)
      state.armed = true;
    if (r.err == error_code::no_node) { // down: everyone waiting passes
      for (auto& [id, rp] : state.waiters)
        rp.deliver(bool_result(true));
      state.waiters.clear();
    } else if (r.err == error_code::session_expired) {
      for (auto& [id, rp] : state.waiters)
        rp.deliver(bool_result(r.err, "the barrier's session ended"));
      state.waiters.clear();
    }
    if (state.again) {
      state.again = false;
      barrier_check(self);
    }
  };
  if (st.armed)
    detail::ask(self, st.session, exists_request{st.path, false}, done);
  else
    detail::ask_watch(self, st.session, exists_request{st.path, true}, done);
}

void barrier_raise(barrier_ptr self, caf::response_promise rp, bool retried) {
  auto& st = self->state;
  detail::ask(self, st.session, create_request{st.path, "", open_acl_unsafe(), create_mode::persistent},
              [self, rp, retried](response& r) mutable {
                auto& state = self->state;
                if (r.err == error_code::no_node && !retried) {
                  detail::make_containers(self, state.session, std::string(parent_of(state.path)));
                  return barrier_raise(self, rp, true);
                }
                if (r.err == error_code::ok || r.err == error_code::node_exists)
                  return rp.deliver(unit_result(unit{}));
                rp.deliver(unit_result(r.err, "cannot raise the barrier " + state.path + ": " + r.detail));
              });
}

caf::behavior barrier(barrier_ptr self, caf::actor session, std::string path) {
  self->state.session = std::move(session);
  self->state.path = std::move(path);
  self->send(self->state.session, atoms::subscribe::value, caf::actor_cast<caf::actor>(self));
  self->monitor(self->state.session);
  self->set_down_handler([self](caf::down_msg&) {
    for (auto& [id, rp] : self->state.waiters)
      rp.deliver(bool_result(error_code::session_expired, "the barrier's session is closed"));
    self->quit();
  });
  return {
      [self](atoms::raise) {
        auto rp = self->make_response_promise();
        barrier_raise(self, rp, false);
        return rp;
      },
      [self](atoms::lower) {
        auto rp = self->make_response_promise();
        detail::ask(self, self->state.session, delete_request{self->state.path, -1}, [self, rp](response& r) mutable {
          if (r.err == error_code::ok || r.err == error_code::no_node)
            return rp.deliver(unit_result(unit{}));
          rp.deliver(unit_result(r.err, "cannot lower the barrier " + self->state.path + ": " + r.detail));
        });
        return rp;
      },
      [self](atoms::wait, int64_t ms) {
        auto& st = self->state;
        auto id = st.next_id++;
        st.waiters.emplace(id, self->make_response_promise());
        auto rp = st.waiters[id];
        if (ms >= 0)
          self->delayed_send(self, std::chrono::milliseconds(ms), atoms::timeout::value, id);
        barrier_check(self);
        return rp;
      },
      [self](atoms::timeout, uint64_t id) {
        auto it = self->state.waiters.find(id);
        if (it == self->state.waiters.end())
          return;
        it->second.deliver(bool_result(false));
        self->state.waiters.erase(it);
      },
      [self](watch_event& e) {
        if (e.type == event_type::none)
          return;
        self->state.armed = false;
        barrier_check(self);
      },
      [self](connection_state s) {
        if (s == connection_state::connected || s == connection_state::reconnected)
          barrier_check(self); // a check that failed with ConnectionLoss goes again
        else if (s == connection_state::expired || s == connection_state::closed) {
          for (auto& [id, rp] : self->state.waiters)
            rp.deliver(bool_result(error_code::session_expired, "the barrier's session ended"));
          self->state.waiters.clear();
        }
      },
  };
}

// ---- double barrier ----------------------------------------------------------------------------

constexpr const char* ready_node = "ready";

enum class phase { idle, entering, entered, leaving, left };

struct double_state {
  caf::actor session;
  std::string path;
  int members = 0;
  std::string ours; // our node's name (a UUID, as Curator)
  phase ph = phase::idle;
  bool ready_seen = false;       // the ready node exists (or its creation fired our watch)
  bool ours_should_exist = true; // while leaving: false once we deleted it
  bool busy = false, again = false;
  uint64_t op = 0; // the current enter/leave; timers for older ones are stale
  caf::response_promise rp;
  static inline const char* name = "corral_double_barrier";
};

using double_ptr = caf::stateful_actor<double_state>*;

std::string in(double_ptr self, const std::string& child) { return self->state.path + "/" + child; }

void finish(double_ptr self, bool_result r) {
  auto& st = self->state;
  st.ph = st.ph == phase::entering ? (r.ok() && *r ? phase::entered : phase::idle)
                                   : (r.ok() && *r ? phase::left : phase::entered);
  st.busy = false;
  st.again = false;
  ++st.op;
  if (st.rp.pending())
    st.rp.deliver(std::move(r));
}

// Runs one step of the current phase; events while a step is in flight make it run once more.
void step(double_ptr self);

void step_done(double_ptr self) {
  auto& st = self->state;
  st.busy = false;
  if (st.again) {
    st.again = false;
    step(self);
  }
}

// A step's listing failed: SessionExpired ends the enter or leave; ConnectionLoss waits for the
// reconnect, which runs the step again.
bool listing_failed(double_ptr self, const response& r) {
  if (r.err == error_code::ok || r.err == error_code::no_node)
    return false;
  if (r.err == error_code::session_expired)
    finish(self, bool_result(r.err, "the double barrier's session ended"));
  else
    step_done(self);
  return true;
}

void enter_step(double_ptr self) {
  auto& st = self->state;
  if (st.ready_seen)
    return finish(self, bool_result(true));
  detail::ask(self, st.session, get_children_request{st.path, false}, [self](response& r) {
    auto& state = self->state;
    if (state.ph != phase::entering || listing_failed(self, r))
      return;
    size_t count = r.err == error_code::ok ? std::get<children_result>(r.body).children.size() : 0;
    if (state.ready_seen || count >= static_cast<size_t>(state.members)) {
      detail::ask(self, state.session,
                  create_request{in(self, ready_node), "", open_acl_unsafe(), create_mode::persistent},
                  [self](response&) {
                    if (self->state.ph == phase::entering)
                      finish(self, bool_result(true));
                  });
      return;
    }
    step_done(self); // wait for the ready node's creation (our exists watch)
  });
}

void leave_step(double_ptr self) {
  auto& st = self->state;
  detail::ask(self, st.session, get_children_request{st.path, false}, [self](response& r) {
    auto& state = self->state;
    if (state.ph != phase::leaving || listing_failed(self, r))
      return;
    std::vector<std::string> kids;
    if (r.err == error_code::ok)
      for (auto& k : std::get<children_result>(r.body).children)
        if (k != ready_node)
          kids.push_back(k);
    std::sort(kids.begin(), kids.end());
    auto done = [self] {
      detail::ask(self, self->state.session, delete_request{in(self, ready_node), -1}, [](response&) {});
      finish(self, bool_result(true));
    };
    if (kids.empty())
      return done();
    auto it = std::find(kids.begin(), kids.end(), state.ours);
    if (it == kids.end() && state.ours_should_exist)
      return finish(self, bool_result(error_code::no_node, "our node in " + state.path + " is gone (session lost?)"));
    if (kids.size() == 1 && it != kids.end()) { // the last one in is us
      detail::ask(self, state.session, delete_request{in(self, state.ours), -1}, [](response&) {});
      return done();
    }
    // One node left that is not ours (we deleted ours): its owner has not left yet, so wait for it
    // below like every other non-lowest member. A step runs on any event of the session, not only
    // on our watch; Curator's loop, which wakes only on its own watches, breaks out here instead.
    // The lowest waits for the highest; everyone else deletes its node and waits for the lowest.
    bool lowest = it == kids.begin();
    auto watch = lowest ? kids.back() : kids.front();
    if (!lowest && state.ours_should_exist) {
      detail::ask(self, state.session, delete_request{in(self, state.ours), -1}, [](response&) {});
      state.ours_should_exist = false;
    }
    detail::ask_watch(self, state.session, exists_request{in(self, watch), true}, [self](response& reply) {
      if (self->state.ph != phase::leaving)
        return;
      if (reply.err == error_code::no_node) // gone already: look again at once
        self->state.again = true;
      step_done(self);
    });
  });
}

void step(double_ptr self) {
  auto& st = self->state;
  if (st.busy) {
    st.again = true;
    return;
  }
  st.busy = true;
  if (st.ph == phase::entering)
    enter_step(self);
  else if (st.ph == phase::leaving)
    leave_step(self);
  else
    st.busy = false;
}

void start_enter(double_ptr self, bool retried) {
  auto& st = self->state;
  detail::ask_watch(self, st.session, exists_request{in(self, ready_node), true}, [self, retried](response& r) {
    auto& state = self->state;
    if (r.err == error_code::ok)
      state.ready_seen = true;
    detail::ask(self, state.session,
                create_request{in(self, state.ours), "", open_acl_unsafe(), create_mode::ephemeral},
                [self, retried](response& reply) {
                  auto& later = self->state;
                  if (later.ph != phase::entering)
                    return;
                  if (reply.err == error_code::no_node && !retried) {
                    detail::make_containers(self, later.session, later.path);
                    return start_enter(self, true);
                  }
                  if (reply.err != error_code::ok && reply.err != error_code::node_exists)
                    return finish(self, bool_result(reply.err, "cannot enter the double barrier " + later.path));
                  step(self);
                });
  });
}

caf::behavior double_barrier(double_ptr self, caf::actor session, std::string path, int members) {
  auto& st = self->state;
  st.session = std::move(session);
  st.path = std::move(path);
  st.members = members;
  st.ours = detail::random_uuid();
  self->send(st.session, atoms::subscribe::value, caf::actor_cast<caf::actor>(self));
  self->monitor(st.session);
  self->set_down_handler([self](caf::down_msg&) {
    if (self->state.rp.pending())
      self->state.rp.deliver(bool_result(error_code::session_expired, "the double barrier's session is closed"));
    self->quit();
  });
  auto begin = [self](phase from, phase to, int64_t ms) -> caf::result<bool_result> {
    auto& state = self->state;
    if (state.ph != from)
      return bool_result(error_code::bad_arguments, "double barrier " + state.path + ": enter once, then leave once");
    state.ph = to;
    state.rp = self->make_response_promise();
    if (ms >= 0)
      self->delayed_send(self, std::chrono::milliseconds(ms), atoms::timeout::value, state.op);
    return caf::delegated<bool_result>{};
  };
  return {
      [self, begin](atoms::enter, int64_t ms) {
        auto r = begin(phase::idle, phase::entering, ms);
        if (self->state.ph == phase::entering)
          start_enter(self, false);
        return r;
      },
      [self, begin](atoms::leave, int64_t ms) {
        auto r = begin(phase::entered, phase::leaving, ms);
        if (self->state.ph == phase::leaving) {
          self->state.ours_should_exist = true;
          step(self);
        }
        return r;
      },
      [self](atoms::timeout, uint64_t op) {
        if (op == self->state.op && (self->state.ph == phase::entering || self->state.ph == phase::leaving))
          finish(self, bool_result(false));
      },
      [self](watch_event& e) {
        if (e.type == event_type::node_created && e.path == in(self, ready_node))
          self->state.ready_seen = true;
        step(self);
      },
      [self](connection_state s) {
        if (s == connection_state::connected || s == connection_state::reconnected)
          step(self);
        else if ((s == connection_state::expired || s == connection_state::closed) && self->state.rp.pending())
          finish(self, bool_result(error_code::session_expired, "the double barrier's session ended"));
      },
  };
}

} // namespace

caf::actor spawn_barrier(caf::actor_system& sys, caf::actor session, std::string path) {
  return sys.spawn(barrier, std::move(session), std::move(path));
}

caf::actor spawn_double_barrier(caf::actor_system& sys, caf::actor session, std::string path, int members) {
  return sys.spawn(double_barrier, std::move(session), std::move(path), members);
}

} // namespace corral::client
