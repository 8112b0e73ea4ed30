// The blocking recipe objects of blocking_client.hpp other than locks, latches and queues: each
// holds its recipe actor and one scoped actor that asks it (and receives its notifications).
#include <mutex>

#include "actors/client/barrier.hpp"
#include "actors/client/blocking_client.hpp"
#include "actors/client/cache.hpp"
#include "actors/client/counter.hpp"
#include "actors/client/semaphore.hpp"

namespace corral::client {

struct recipe_handle {
  caf::actor recipe;
  caf::scoped_actor self;
  std::mutex mtx; // one call at a time through `self`
  recipe_handle(caf::actor_system& sys, caf::actor r) : recipe(std::move(r)), self(sys) {}
  ~recipe_handle() { caf::anon_send_exit(recipe, caf::exit_reason::user_shutdown); }

  // Asks the recipe and waits; a missing answer is reported, never waited for forever.
  template <class T, class... Ts>
  T ask(std::chrono::milliseconds timeout, Ts&&... msg) {
    std::lock_guard<std::mutex> l(mtx);
    T out(error_code::connection_loss, "no answer from the recipe actor");
    self->request(recipe, timeout, std::forward<Ts>(msg)...)
        .receive([&](T& r) { out = std::move(r); },
                 [&](caf::error& e) { out = T(error_code::system_error, self->system().render(e)); });
    return out;
  }
};

void recipe_handle_deleter::operator()(recipe_handle* h) const { delete h; }

namespace {
// Recipe calls are answered by their own deadline or promptly; this only guards against a lost actor.
constexpr std::chrono::minutes guard{2};
int64_t ms(std::chrono::milliseconds d) { return static_cast<int64_t>(d.count()); }
} // namespace

result<lock_grant> blocking_semaphore::acquire(std::chrono::milliseconds timeout) {
  return h_->ask<result<lock_grant>>(timeout + guard, atoms::acquire::value, ms(timeout));
}
result<unit> blocking_semaphore::release(const std::string& lease_node) {
  return h_->ask<result<unit>>(guard, atoms::release::value, lease_node);
}

result<unit> blocking_barrier::raise() { return h_->ask<result<unit>>(guard, atoms::raise::value); }
result<unit> blocking_barrier::lower() { return h_->ask<result<unit>>(guard, atoms::lower::value); }
result<bool> blocking_barrier::wait(std::chrono::milliseconds timeout) {
  return h_->ask<result<bool>>(timeout + guard, atoms::wait::value, ms(timeout));
}

result<bool> blocking_double_barrier::enter(std::chrono::milliseconds timeout) {
  return h_->ask<result<bool>>(timeout + guard, atoms::enter::value, ms(timeout));
}
result<bool> blocking_double_barrier::leave(std::chrono::milliseconds timeout) {
  return h_->ask<result<bool>>(timeout + guard, atoms::leave::value, ms(timeout));
}

result<versioned_count> blocking_count::get() { return h_->ask<result<versioned_count>>(guard, caf::get_atom::value); }
result<unit> blocking_count::set(int32_t value) { return h_->ask<result<unit>>(guard, caf::put_atom::value, value); }
result<bool> blocking_count::try_set(int32_t value, int32_t version) {
  return h_->ask<result<bool>>(guard, caf::put_atom::value, value, version);
}

result<atomic_result> blocking_atomic_long::get() {
  return h_->ask<result<atomic_result>>(guard, caf::get_atom::value);
}
result<atomic_result> blocking_atomic_long::add(int64_t delta) {
  return h_->ask<result<atomic_result>>(guard, atoms::add::value, delta);
}
result<atomic_result> blocking_atomic_long::set(int64_t value) {
  return h_->ask<result<atomic_result>>(guard, caf::put_atom::value, value);
}
result<atomic_result> blocking_atomic_long::compare_and_set(int64_t expected, int64_t value) {
  return h_->ask<result<atomic_result>>(guard, atoms::cas::value, expected, value);
}

result<cached_node> blocking_cache::get(const std::string& path) {
  return h_->ask<result<cached_node>>(guard, caf::get_atom::value, path);
}
std::vector<cached_node> blocking_cache::all() {
  std::lock_guard<std::mutex> l(h_->mtx);
  std::vector<cached_node> out;
  h_->self->request(h_->recipe, guard, caf::get_atom::value)
      .receive([&](std::vector<cached_node>& v) { out = std::move(v); }, [](caf::error&) {});
  return out;
}
std::optional<cache_event> blocking_cache::next_event(std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> l(h_->mtx);
  std::optional<cache_event> out;
  h_->self->receive([&](cache_event& e) { out = std::move(e); }, caf::after(timeout) >> [] {});
  return out;
}

// ---- factories ---------------------------------------------------------------------------------

namespace {
// The scoped actor comes first: it is the recipe's owner or listener.
template <class Spawn>
recipe_handle_ptr make_handle(caf::actor_system& sys, Spawn spawn) {
  auto* h = new recipe_handle(sys, caf::actor{});
  h->recipe = spawn(caf::actor_cast<caf::actor>(h->self));
  return recipe_handle_ptr(h);
}
} // namespace

std::unique_ptr<blocking_semaphore> blocking_client::semaphore(const std::string& path, int max_leases) {
  auto h =
      make_handle(system(), [&](caf::actor) { return spawn_semaphore(system(), session_actor(), path, max_leases); });
  return std::unique_ptr<blocking_semaphore>(new blocking_semaphore(std::move(h)));
}

std::unique_ptr<blocking_barrier> blocking_client::barrier(const std::string& path) {
  auto h = make_handle(system(), [&](caf::actor) { return spawn_barrier(system(), session_actor(), path); });
  return std::unique_ptr<blocking_barrier>(new blocking_barrier(std::move(h)));
}

std::unique_ptr<blocking_double_barrier> blocking_client::double_barrier(const std::string& path, int members) {
  auto h =
      make_handle(system(), [&](caf::actor) { return spawn_double_barrier(system(), session_actor(), path, members); });
  return std::unique_ptr<blocking_double_barrier>(new blocking_double_barrier(std::move(h)));
}

std::unique_ptr<blocking_count> blocking_client::shared_count(const std::string& path, int32_t seed) {
  auto h = make_handle(system(), [&](caf::actor) { return spawn_shared_count(system(), session_actor(), path, seed); });
  return std::unique_ptr<blocking_count>(new blocking_count(std::move(h)));
}

std::unique_ptr<blocking_atomic_long> blocking_client::atomic_long(const std::string& path,
                                                                   const std::string& lock_path) {
  auto h =
      make_handle(system(), [&](caf::actor) { return spawn_atomic_long(system(), session_actor(), path, lock_path); });
  return std::unique_ptr<blocking_atomic_long>(new blocking_atomic_long(std::move(h)));
}

std::unique_ptr<blocking_cache> blocking_client::cache(const std::string& path, bool single_node) {
  auto h = make_handle(system(), [&](caf::actor listener) {
    return spawn_cache(system(), session_actor(), path, listener,
                       single_node ? cache_scope::single_node : cache_scope::tree);
  });
  return std::unique_ptr<blocking_cache>(new blocking_cache(std::move(h)));
}

} // namespace corral::client
