// The shared count and atomic long actors (see counter.hpp).
#include "actors/client/counter.hpp"

#include <deque>

#include "actors/client/recipe_support.hpp"
#include "actors/logging.hpp"
#include "core/path.hpp"

namespace corral::client {

namespace {

using count_result = corral::result<versioned_count>;
using atomic_out = corral::result<atomic_result>;

// ---- shared count ------------------------------------------------------------------------------

struct count_state {
  caf::actor session, listener;
  std::string path;
  int32_t seed = 0;
  versioned_count seen{0, -2}; // the last value the watch showed (-2: none yet)
  bool armed = false;
  static inline const char* name = "corral_shared_count";
};

using count_ptr = caf::stateful_actor<count_state>*;

std::optional<versioned_count> parse_count(const response& r) {
  auto* d = std::get_if<data_result>(&r.body);
  if (d == nullptr)
    return std::nullopt;
  auto v = detail::decode_be(d->data, 4);
  if (!v)
    return std::nullopt;
  return versioned_count{static_cast<int32_t>(*v), d->stat.version};
}

// Reads the value with a watch (if none is set) and tells the listener if it changed.
void count_watch(count_ptr self) {
  auto& st = self->state;
  if (st.armed)
    return;
  detail::ask_watch(self, st.session, get_data_request{st.path, true}, [self](response& r) {
    auto& state = self->state;
    if (r.err == error_code::ok)
      state.armed = true;
    auto v = parse_count(r);
    if (!v || (v->value == state.seen.value && v->version == state.seen.version))
      return;
    state.seen = *v;
    if (state.listener)
      self->send(state.listener, count_changed{state.path, *v});
  });
}

// Creates the node with the seed (Curator's SharedValue.start()); an existing node is kept.
void count_create(count_ptr self, bool retried) {
  auto& st = self->state;
  detail::ask(self, st.session,
              create_request{st.path, detail::encode_be(st.seed, 4), open_acl_unsafe(), create_mode::persistent},
              [self, retried](response& r) {
                if (r.err == error_code::no_node && !retried) {
                  detail::make_containers(self, self->state.session, std::string(parent_of(self->state.path)));
                  return count_create(self, true);
                }
                count_watch(self);
              });
}

caf::behavior shared_count(count_ptr self, caf::actor session, std::string path, int32_t seed, caf::actor listener) {
  auto& st = self->state;
  st.session = std::move(session);
  st.path = std::move(path);
  st.seed = seed;
  st.listener = std::move(listener);
  self->send(st.session, atoms::subscribe::value, caf::actor_cast<caf::actor>(self));
  self->monitor(st.session);
  self->set_down_handler([self](caf::down_msg&) { self->quit(); }); // its session is closed
  // Parents first, so that the create (and any request the app sends after spawning) finds them:
  // the session sends requests in order.
  detail::make_containers(self, st.session, std::string(parent_of(st.path)));
  count_create(self, true);
  auto bad = [self](const response& r) {
    return r.err != error_code::ok
               ? error_info{r.err, self->state.path + ": " + r.detail}
               : error_info{error_code::marshalling_error, self->state.path + " does not hold a SharedCount (4 bytes)"};
  };
  return {
      [self, bad](caf::get_atom) {
        auto rp = self->make_response_promise();
        detail::ask(self, self->state.session, get_data_request{self->state.path, false},
                    [rp, bad](response& r) mutable {
                      if (auto v = parse_count(r))
                        return rp.deliver(count_result(*v));
                      rp.deliver(count_result(bad(r)));
                    });
        return rp;
      },
      [self](caf::put_atom, int32_t value) {
        auto rp = self->make_response_promise();
        auto& state = self->state;
        detail::ask(self, state.session, set_data_request{state.path, detail::encode_be(value, 4), -1},
                    [self, rp, value](response& r) mutable {
                      if (r.err != error_code::no_node)
                        return rp.deliver(r.err == error_code::ok ? corral::result<unit>(unit{})
                                                                  : corral::result<unit>(r.err, r.detail));
                      auto& later = self->state; // deleted meanwhile: create it with the value
                      detail::ask(self, later.session,
                                  create_request{later.path, detail::encode_be(value, 4), open_acl_unsafe(),
                                                 create_mode::persistent},
                                  [rp](response& reply) mutable {
                                    rp.deliver(reply.err == error_code::ok
                                                   ? corral::result<unit>(unit{})
                                                   : corral::result<unit>(reply.err, reply.detail));
                                  });
                    });
        return rp;
      },
      [self](caf::put_atom, int32_t value, int32_t version) {
        auto rp = self->make_response_promise();
        auto& state = self->state;
        detail::ask(self, state.session, set_data_request{state.path, detail::encode_be(value, 4), version},
                    [rp](response& r) mutable {
                      if (r.err == error_code::ok || r.err == error_code::bad_version || r.err == error_code::no_node)
                        return rp.deliver(corral::result<bool>(r.err == error_code::ok));
                      rp.deliver(corral::result<bool>(r.err, r.detail));
                    });
        return rp;
      },
      [self](watch_event& e) {
        if (e.type == event_type::none)
          return;
        self->state.armed = false;
        count_watch(self);
      },
      [self](connection_state s) {
        // A watch set before the drop is re-armed by the session, and fires for a change it missed
        // (setWatches carries the last zxid seen); only a watch whose request was lost is set again.
        if (s == connection_state::connected || s == connection_state::reconnected)
          count_watch(self);
      },
  };
}

// ---- atomic long -------------------------------------------------------------------------------

// An update: the new value for the current one, or nothing to leave it (a failed compare).
using update_fn = std::function<std::optional<int64_t>(int64_t)>;

struct attempt_ctx {
  update_fn f;
  caf::response_promise rp;
  int tries = 0;
  bool locked = false;
  bool retried_parents = false;
};
using ctx_ptr = std::shared_ptr<attempt_ctx>;

struct atomic_state {
  caf::actor session, lock;
  std::string path, lock_path;
  int optimistic_tries = 10;
  // Updates that lost too many races take the lock one at a time (this actor is the lock's owner).
  std::deque<ctx_ptr> lock_queue;
  bool lock_busy = false;
  static inline const char* name = "corral_atomic_long";
};

using atomic_ptr = caf::stateful_actor<atomic_state>*;

constexpr int locked_tries = 1000; // under the lock only writers that skip it can race us

void attempt(atomic_ptr self, ctx_ptr c);
void complete(atomic_ptr self, ctx_ptr c, atomic_out out);

void pump_lock_queue(atomic_ptr self) {
  auto& st = self->state;
  if (st.lock_busy || st.lock_queue.empty())
    return;
  st.lock_busy = true;
  auto c = st.lock_queue.front();
  st.lock_queue.pop_front();
  self->request(st.lock, caf::infinite, atoms::acquire::value, int64_t{-1})
      .then([self, c](corral::result<lock_grant>& g) {
        if (!g.ok()) {
          self->state.lock_busy = false;
          complete(self, c, atomic_out(g.error()));
          return pump_lock_queue(self);
        }
        c->locked = true;
        c->tries = 0;
        attempt(self, c);
      });
}

void complete(atomic_ptr self, ctx_ptr c, atomic_out out) {
  if (c->locked)
    self->request(self->state.lock, caf::infinite, atoms::release::value).then([self](corral::result<unit>&) {
      self->state.lock_busy = false;
      pump_lock_queue(self);
    });
  c->rp.deliver(std::move(out));
}

// Lost a race: try again, take the lock after `optimistic_tries`, give up after that.
void lost_race(atomic_ptr self, ctx_ptr c, int64_t pre) {
  auto& st = self->state;
  ++c->tries;
  if (!c->locked && c->tries >= st.optimistic_tries) {
    if (st.lock_path.empty())
      return complete(self, c, atomic_out(atomic_result{false, pre, pre}));
    st.lock_queue.push_back(c);
    return pump_lock_queue(self);
  }
  if (c->locked && c->tries >= locked_tries)
    return complete(self, c, atomic_out(atomic_result{false, pre, pre}));
  attempt(self, c);
}

void attempt(atomic_ptr self, ctx_ptr c) {
  auto& st = self->state;
  detail::ask(self, st.session, get_data_request{st.path, false}, [self, c](response& r) {
    auto& state = self->state;
    if (r.err != error_code::ok && r.err != error_code::no_node)
      return complete(self, c, atomic_out(r.err, state.path + ": " + r.detail));
    bool exists = r.err == error_code::ok;
    int64_t pre = 0;
    int32_t version = -1;
    if (exists) {
      auto& d = std::get<data_result>(r.body);
      auto v = detail::decode_be(d.data, 8);
      if (!v)
        return complete(
            self, c,
            atomic_out(error_code::marshalling_error, state.path + " does not hold a DistributedAtomicLong (8 bytes)"));
      pre = *v;
      version = d.stat.version;
    }
    auto next = c->f(pre);
    if (!next)
      return complete(self, c, atomic_out(atomic_result{false, pre, pre}));
    auto post = *next;
    auto on_write = [self, c, pre, post](response& reply) {
      if (reply.err == error_code::ok)
        return complete(self, c, atomic_out(atomic_result{true, pre, post}));
      if (reply.err == error_code::bad_version || reply.err == error_code::node_exists ||
          reply.err == error_code::no_node) {
        if (reply.err == error_code::no_node && !c->retried_parents) { // the parents are missing
          c->retried_parents = true;
          detail::make_containers(self, self->state.session, std::string(parent_of(self->state.path)));
          return attempt(self, c);
        }
        return lost_race(self, c, pre);
      }
      complete(self, c, atomic_out(reply.err, self->state.path + ": " + reply.detail));
    };
    if (exists)
      detail::ask(self, state.session, set_data_request{state.path, detail::encode_be(post, 8), version}, on_write);
    else
      detail::ask(self, state.session,
                  create_request{state.path, detail::encode_be(post, 8), open_acl_unsafe(), create_mode::persistent},
                  on_write);
  });
}

caf::behavior atomic_long(atomic_ptr self, caf::actor session, std::string path, std::string lock_path, int tries) {
  auto& st = self->state;
  st.session = session;
  st.path = std::move(path);
  st.lock_path = std::move(lock_path);
  st.optimistic_tries = std::max(1, tries);
  if (!st.lock_path.empty()) {
    st.lock = spawn_lock(self->system(), session, st.lock_path);
    self->link_to(st.lock);
  }
  self->monitor(session);
  self->set_down_handler([self](caf::down_msg&) { self->quit(); }); // its session is closed
  auto run = [self](update_fn f) {
    auto c = std::make_shared<attempt_ctx>();
    c->f = std::move(f);
    c->rp = self->make_response_promise();
    auto rp = c->rp;
    attempt(self, c);
    return rp;
  };
  return {
      [self](caf::get_atom) {
        auto rp = self->make_response_promise();
        detail::ask(self, self->state.session, get_data_request{self->state.path, false},
                    [self, rp](response& r) mutable {
                      if (r.err == error_code::no_node)
                        return rp.deliver(atomic_out(atomic_result{true, 0, 0}));
                      auto* d = std::get_if<data_result>(&r.body);
                      auto v = d != nullptr ? detail::decode_be(d->data, 8) : std::nullopt;
                      if (!v)
                        return rp.deliver(atomic_out(r.err != error_code::ok ? r.err : error_code::marshalling_error,
                                                     self->state.path + ": not readable as a DistributedAtomicLong"));
                      rp.deliver(atomic_out(atomic_result{true, *v, *v}));
                    });
        return rp;
      },
      [run](atoms::add, int64_t delta) {
        return run([delta](int64_t v) -> std::optional<int64_t> { return v + delta; });
      },
      [run](caf::put_atom, int64_t value) { return run([value](int64_t) -> std::optional<int64_t> { return value; }); },
      [run](atoms::cas, int64_t expected, int64_t value) {
        return run([expected, value](int64_t v) -> std::optional<int64_t> {
          if (v != expected)
            return std::nullopt;
          return value;
        });
      },
  };
}

} // namespace

caf::actor spawn_shared_count(caf::actor_system& sys, caf::actor session, std::string path, int32_t seed,
                              caf::actor listener) {
  return sys.spawn(shared_count, std::move(session), std::move(path), seed, std::move(listener));
}

caf::actor spawn_atomic_long(caf::actor_system& sys, caf::actor session, std::string path, std::string lock_path,
                             int optimistic_tries) {
  return sys.spawn(atomic_long, std::move(session), std::move(path), std::move(lock_path), optimistic_tries);
}

} // namespace corral::client
