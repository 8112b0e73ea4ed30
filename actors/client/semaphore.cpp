// The semaphore actor (see semaphore.hpp): acquisitions queue here and pass the Curator mutex one
// at a time (this actor owns the mutex); each then creates its lease node and waits until at most
// K lease nodes exist.
#include "actors/client/semaphore.hpp"

#include <deque>
#include <functional>
#include <map>
#include <set>

#include "actors/client/recipe_support.hpp"
#include "actors/logging.hpp"
#include "core/lock_order.hpp"
#include "core/path.hpp"

namespace corral::client {

namespace {

using grant_result = corral::result<lock_grant>;
using clock = std::chrono::steady_clock;
constexpr const char* lease_name = "lease-";

struct lease_request {
  caf::actor owner;
  caf::response_promise rp;
  std::optional<clock::time_point> deadline;
};

struct semaphore_state {
  caf::actor session, mutex;
  std::string path, leases_path;
  int max_leases = 1;
  std::deque<lease_request> queue;
  bool busy = false; // the front request holds the mutex or waits for it
  lease_request current;
  std::string uuid, node; // the current request's lease node (once created)
  int64_t token = 0;
  uint64_t gen = 0;                       // bumps per request; stale answers and timers check it
  bool watching = false;                  // the current request waits for the leases to change
  std::map<std::string, caf::actor> held; // lease node -> owner
  // Every lease node this actor made and has not deleted: deleted when the actor ends.
  std::shared_ptr<std::set<std::string>> live = std::make_shared<std::set<std::string>>();
  std::set<std::string> doomed;       // lease nodes to delete after a reconnect
  std::set<std::string> doomed_uuids; // lease creates whose answer was lost
  std::set<caf::actor_addr> monitored;
  bool connected = true;
  uint64_t disconnects = 0; // counts suspensions; a loss clock for an older one is stale
  static inline const char* name = "corral_semaphore";
};

using self_ptr = caf::stateful_actor<semaphore_state>*;

std::string lease_path(self_ptr self, const std::string& node) { return self->state.leases_path + "/" + node; }

void next_request(self_ptr self);

// `then` runs once the server answered the delete (a delete lost to a disconnect is retried after the
// reconnect, from `doomed`; `then` does not wait for that).
void delete_lease(self_ptr self, const std::string& node, std::function<void()> then = {}) {
  self->state.live->erase(node);
  detail::ask(self, self->state.session, delete_request{lease_path(self, node), -1}, [self, node, then](response& r) {
    if (r.err == error_code::connection_loss)
      self->state.doomed.insert(node);
    if (then)
      then();
  });
}

// Ends the current request: gives the mutex back and starts the next one.
void end_current(self_ptr self, grant_result out) {
  auto& st = self->state;
  ++st.gen;
  st.watching = false;
  if (!out.ok() && !st.node.empty()) {
    // As Curator does: a failed attempt's lease node is deleted before the caller hears of the
    // failure, so a caller that counts the leases next does not count it.
    delete_lease(self, st.node, [rp = std::move(st.current.rp), out]() mutable {
      if (rp.pending())
        rp.deliver(std::move(out));
    });
  } else {
    if (out.ok())
      st.held[st.node] = st.current.owner;
    if (st.current.rp.pending())
      st.current.rp.deliver(std::move(out));
  }
  st.node.clear();
  self->request(st.mutex, caf::infinite, atoms::release::value).then([self](corral::result<unit>&) {
    self->state.busy = false;
    next_request(self);
  });
}

void check_leases(self_ptr self) {
  auto& st = self->state;
  auto gen = st.gen;
  detail::ask_watch(self, st.session, get_children_request{st.leases_path, true}, [self, gen](response& r) {
    auto& state = self->state;
    if (gen != state.gen)
      return;
    if (r.err == error_code::connection_loss) {
      state.watching = true; // look again after the reconnect
      return;
    }
    if (r.err != error_code::ok)
      return end_current(self, grant_result(r.err, "cannot list " + state.leases_path + ": " + r.detail));
    auto& kids = std::get<children_result>(r.body).children;
    if (std::find(kids.begin(), kids.end(), state.node) == kids.end())
      return end_current(self,
                         grant_result(error_code::no_node, "the lease node in " + state.leases_path + " is gone"));
    if (kids.size() <= static_cast<size_t>(state.max_leases))
      return end_current(self, grant_result(lock_grant{lease_path(self, state.node), state.token, 0}));
    state.watching = true; // more leases than allowed: wait until one goes
  });
}

void create_lease(self_ptr self, bool retried) {
  auto& st = self->state;
  auto gen = st.gen;
  st.uuid = detail::random_uuid();
  auto p = lease_path(self, lock_order::protected_prefix(st.uuid) + lease_name);
  detail::ask(self, st.session, create_request{p, "", open_acl_unsafe(), create_mode::ephemeral_sequential},
              [self, gen, retried](response& r) {
                auto& state = self->state;
                if (gen != state.gen) {
                  if (r.err == error_code::ok)
                    delete_lease(self, std::string(basename_of(std::get<create_result>(r.body).path)));
                  return;
                }
                if (r.err == error_code::no_node && !retried) {
                  detail::make_containers(self, state.session, state.leases_path);
                  return create_lease(self, true);
                }
                if (r.err == error_code::connection_loss) // it may exist: found and deleted after the reconnect
                  state.doomed_uuids.insert(state.uuid);
                if (r.err != error_code::ok)
                  return end_current(self, grant_result(r.err, "cannot create a lease in " + state.leases_path));
                auto& cr = std::get<create_result>(r.body);
                state.node = std::string(basename_of(cr.path));
                state.live->insert(state.node);
                state.token = cr.stat.czxid;
                check_leases(self);
              });
}

int64_t remaining_ms(const lease_request& r) {
  if (!r.deadline)
    return -1;
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*r.deadline - clock::now()).count();
  return std::max<int64_t>(0, left);
}

void next_request(self_ptr self) {
  auto& st = self->state;
  if (st.busy || st.queue.empty())
    return;
  st.busy = true;
  st.current = std::move(st.queue.front());
  st.queue.pop_front();
  auto gen = ++st.gen;
  self->request(st.mutex, caf::infinite, atoms::acquire::value, remaining_ms(st.current))
      .then([self, gen](grant_result& g) {
        auto& state = self->state;
        if (!g.ok()) { // timed out waiting for the mutex, or the session ended
          state.busy = false;
          if (state.current.rp.pending())
            state.current.rp.deliver(std::move(g));
          return next_request(self);
        }
        if (gen != state.gen || !state.current.rp.pending()) // gave up meanwhile (timeout, owner gone)
          return end_current(self, grant_result(error_code::operation_timeout, "gave up"));
        create_lease(self, false);
      });
  if (st.current.deadline)
    self->delayed_send(self, std::chrono::milliseconds(remaining_ms(st.current)), atoms::timeout::value, gen);
}

void notify(self_ptr self, const caf::actor& owner, lock_notice_kind what, const std::string& node) {
  self->send(owner, lock_notice{what, lock_kind::mutex, lease_path(self, node)});
}

// Deletes leases that failed to delete while disconnected, and finds creates whose answer was lost.
void sweep(self_ptr self) {
  auto& st = self->state;
  auto doomed = std::move(st.doomed);
  st.doomed.clear();
  for (auto& n : doomed)
    delete_lease(self, n);
  if (st.doomed_uuids.empty())
    return;
  detail::ask(self, st.session, get_children_request{st.leases_path, false}, [self](response& r) {
    if (r.err != error_code::ok)
      return;
    for (auto& u : self->state.doomed_uuids)
      if (auto n = lock_order::find_protected(std::get<children_result>(r.body).children, u))
        delete_lease(self, *n);
    self->state.doomed_uuids.clear();
  });
}

// Lease holders hear what lock holders hear (lock.hpp): SUSPENDED, then RECONNECTED if the same
// session came back with their node, LOST if it did not or the session ended.
void on_state(self_ptr self, connection_state s) {
  auto& st = self->state;
  switch (s) {
    case connection_state::connected: st.connected = true; break;
    case connection_state::suspended:
      st.connected = false;
      for (auto& [node, owner] : st.held)
        notify(self, owner, lock_notice_kind::suspended, node);
      detail::start_loss_clock(self, st.session, ++st.disconnects);
      break;
    case connection_state::reconnected:
      st.connected = true;
      sweep(self);
      for (auto& [node, owner] : st.held)
        detail::ask(self, st.session, exists_request{lease_path(self, node), false}, [self, node = node](response& r) {
          auto it = self->state.held.find(node);
          if (it == self->state.held.end())
            return;
          if (r.err == error_code::ok) {
            notify(self, it->second, lock_notice_kind::reconnected, node);
          } else if (r.err == error_code::no_node) {
            notify(self, it->second, lock_notice_kind::lost, node);
            self->state.held.erase(it);
          }
        });
      if (st.watching) {
        st.watching = false;
        check_leases(self);
      }
      break;
    case connection_state::expired:
    case connection_state::closed:
      st.connected = false;
      for (auto& [node, owner] : st.held)
        notify(self, owner, lock_notice_kind::lost, node);
      st.held.clear();
      break;
  }
}

caf::behavior semaphore(self_ptr self, caf::actor session, std::string path, int max_leases) {
  auto& st = self->state;
  st.session = session;
  st.path = path;
  st.leases_path = path + "/leases";
  st.max_leases = std::max(1, max_leases);
  st.mutex = spawn_lock(self->system(), session, path + "/locks");
  self->link_to(st.mutex);
  self->send(session, atoms::subscribe::value, caf::actor_cast<caf::actor>(self));
  self->monitor(session);
  // If the actor ends (the app dropped it), its leases go now rather than with the session.
  self->attach_functor([live = st.live, session, leases = st.leases_path](const caf::error&) {
    for (auto& n : *live)
      caf::anon_send(session, request_body{delete_request{leases + "/" + n, -1}});
  });
  self->set_down_handler([self](caf::down_msg& dm) {
    auto& state = self->state;
    if (dm.source == state.session.address()) { // closed: leases went with it
      if (state.busy && state.current.rp.pending())
        state.current.rp.deliver(grant_result(error_code::session_expired, "the semaphore's session is closed"));
      for (auto& r : state.queue)
        r.rp.deliver(grant_result(error_code::session_expired, "the semaphore's session is closed"));
      return self->quit();
    }
    state.monitored.erase(dm.source);
    for (auto it = state.held.begin(); it != state.held.end();) {
      if (it->second.address() == dm.source) {
        delete_lease(self, it->first);
        it = state.held.erase(it);
      } else {
        ++it;
      }
    }
    state.queue.erase(std::remove_if(state.queue.begin(), state.queue.end(),
                                     [&](const lease_request& r) { return r.owner.address() == dm.source; }),
                      state.queue.end());
    if (state.busy && state.current.owner.address() == dm.source && state.node.size() > 0)
      end_current(self, grant_result(error_code::operation_timeout, "the owner is gone"));
  });
  return {
      [self](atoms::acquire, int64_t timeout_ms) -> caf::result<grant_result> {
        auto& state = self->state;
        auto owner = caf::actor_cast<caf::actor>(self->current_sender());
        if (!owner)
          return grant_result(error_code::bad_arguments, "acquire a lease with request() from an actor");
        if (state.monitored.insert(owner.address()).second)
          self->monitor(owner);
        lease_request r{owner, self->make_response_promise(), std::nullopt};
        if (timeout_ms >= 0)
          r.deadline = clock::now() + std::chrono::milliseconds(timeout_ms);
        auto rp = r.rp;
        state.queue.push_back(std::move(r));
        next_request(self);
        return caf::delegated<grant_result>{};
      },
      [self](atoms::release, std::string& node) -> corral::result<unit> {
        auto& state = self->state;
        auto name = std::string(basename_of(node));
        auto it = state.held.find(name);
        if (it == state.held.end() || it->second.address() != caf::actor_cast<caf::actor_addr>(self->current_sender()))
          return corral::result<unit>(error_code::bad_arguments, "release: " + node + " is not a lease of the sender");
        state.held.erase(it);
        delete_lease(self, name);
        return corral::result<unit>(unit{});
      },
      [self](atoms::timeout, uint64_t gen) {
        auto& state = self->state;
        if (gen != state.gen || !state.busy)
          return;
        auto out = grant_result(error_code::operation_timeout, "no lease of " + state.path + " in time");
        if (!state.node.empty() || state.watching)
          end_current(self, std::move(out)); // answers once the lease node is gone
        else if (state.current.rp.pending())
          state.current.rp.deliver(std::move(out)); // (still waiting for the mutex: its own timeout ends it)
      },
      [self](watch_event& e) {
        if (e.type != event_type::none && self->state.watching) {
          self->state.watching = false;
          check_leases(self);
        }
      },
      [self](connection_state s) { on_state(self, s); },
      [self](atoms::expired, uint64_t epoch) { // disconnected for a whole session timeout
        auto& state = self->state;
        if (state.connected || epoch != state.disconnects)
          return;
        for (auto& [node, owner] : state.held) {
          notify(self, owner, lock_notice_kind::lost, node);
          state.doomed.insert(node); // deleted if the session does come back
        }
        state.held.clear();
      },
  };
}

} // namespace

caf::actor spawn_semaphore(caf::actor_system& sys, caf::actor session, std::string path, int max_leases) {
  return sys.spawn(semaphore, std::move(session), std::move(path), max_leases);
}

} // namespace corral::client
