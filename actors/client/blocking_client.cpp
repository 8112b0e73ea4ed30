#include "actors/client/blocking_client.hpp"

#include "core/response_body.hpp"

#include <condition_variable>
#include <deque>
#include <mutex>

#include "actors/client/election.hpp"
#include "actors/client/lock.hpp"
#include "actors/client/queue.hpp"
#include "actors/client/session.hpp"
#include "actors/scheduler.hpp"

namespace corral::client {

namespace {
struct client_config : caf::actor_system_config {
  client_config() { use_quiet_scheduler(*this); }
};
} // namespace

struct blocking_client::impl {
  client_options opts;
  client_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::actor session;
  caf::actor sink;
  std::mutex call_mtx;
  watch_callback deliver_event;

  mutable std::mutex mtx;
  std::condition_variable cv;
  std::deque<watch_event> events;
  connection_state current = connection_state::suspended;
  bool connected_once = false;
  std::function<void(const watch_event&)> on_event;
  std::function<void(connection_state)> on_state;
};

blocking_client::blocking_client(client_options opts) : impl_(std::make_unique<impl>()) {
  auto& m = *impl_;
  m.opts = std::move(opts);
  m.cfg.load<caf::io::middleman>();
  m.sys = std::make_unique<caf::actor_system>(m.cfg);
  sink_callbacks cb;
  auto* raw = impl_.get();
  cb.on_event = [raw](const watch_event& e) {
    std::function<void(const watch_event&)> fn;
    {
      std::lock_guard<std::mutex> g(raw->mtx);
      raw->events.push_back(e);
      fn = raw->on_event;
    }
    raw->cv.notify_all();
    if (fn)
      fn(e);
  };
  cb.on_state = [raw](connection_state s) {
    std::function<void(connection_state)> fn;
    {
      std::lock_guard<std::mutex> g(raw->mtx);
      raw->current = s;
      if (s == connection_state::connected || s == connection_state::reconnected)
        raw->connected_once = true;
      fn = raw->on_state;
    }
    raw->cv.notify_all();
    if (fn)
      fn(s);
  };
  m.deliver_event = cb.on_event;
  m.sink = spawn_sink(*m.sys, std::move(cb));
  session_options so;
  so.servers = m.opts.servers;
  so.session_timeout_ms = m.opts.session_timeout_ms;
  if (!m.opts.tls_ca_file.empty()) {
    auto ctx = security::tls_context::client({m.opts.tls_cert_file, m.opts.tls_key_file, m.opts.tls_ca_file});
    if (!ctx)
      throw std::runtime_error("TLS: " + ctx.error().detail);
    so.tls = *ctx;
  }
  m.session = spawn_session(*m.sys, so);
  caf::anon_send(m.session, atoms::subscribe::value, m.sink);
}

blocking_client::~blocking_client() {
  close();
  caf::anon_send_exit(impl_->sink, caf::exit_reason::user_shutdown);
  impl_->sys.reset();
}

bool blocking_client::wait_connected(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lk(impl_->mtx);
  return impl_->cv.wait_for(lk, timeout, [&] {
    return impl_->current == connection_state::connected || impl_->current == connection_state::reconnected ||
           impl_->current == connection_state::expired || impl_->current == connection_state::closed;
  }) && (impl_->current == connection_state::connected || impl_->current == connection_state::reconnected);
}

response blocking_client::call(request_body body) {
  auto& m = *impl_;
  std::lock_guard<std::mutex> g(m.call_mtx);
  response out;
  out.err = error_code::operation_timeout;
  out.detail = "no answer within " + std::to_string(m.opts.request_timeout_ms) + " ms";
  if (!m.session) {
    out.err = error_code::session_expired;
    out.detail = "session closed";
    return out;
  }
  caf::scoped_actor self{*m.sys};
  self->request(m.session, std::chrono::milliseconds(m.opts.request_timeout_ms), atoms::watch::value, std::move(body),
                m.deliver_event)
      .receive([&](response& r) { out = std::move(r); },
               [&](caf::error& e) {
                 if (e != caf::sec::request_timeout) {
                   out.err = error_code::connection_loss;
                   out.detail = m.sys->render(e);
                 }
               });
  return out;
}

result<create_result> blocking_client::create(const std::string& path, const std::string& data, create_mode mode,
                                              acl_list acl, int64_t ttl) {
  return take<create_result>(call(create_request{path, data, std::move(acl), mode, ttl}));
}
result<unit> blocking_client::remove(const std::string& path, int32_t version) {
  return take_unit(call(delete_request{path, version}));
}
result<node_stat> blocking_client::exists(const std::string& path, bool watch) {
  return take<node_stat>(call(exists_request{path, watch}));
}
result<data_result> blocking_client::get(const std::string& path, bool watch) {
  return take<data_result>(call(get_data_request{path, watch}));
}
result<node_stat> blocking_client::set(const std::string& path, const std::string& data, int32_t version) {
  return take<node_stat>(call(set_data_request{path, data, version}));
}
result<children_result> blocking_client::children(const std::string& path, bool watch) {
  return take<children_result>(call(get_children_request{path, watch}));
}
result<acl_result> blocking_client::get_acl(const std::string& path) {
  return take<acl_result>(call(get_acl_request{path}));
}
result<node_stat> blocking_client::set_acl(const std::string& path, acl_list acl, int32_t version) {
  return take<node_stat>(call(set_acl_request{path, std::move(acl), version}));
}
result<std::vector<op_result>> blocking_client::multi(std::vector<multi_op> ops) {
  auto r = call(multi_request{std::move(ops)});
  if (auto* v = std::get_if<std::vector<op_result>>(&r.body); v && r.err != error_code::ok) {
    // Point at the op that failed, as ZooKeeper's exception does.
    for (size_t i = 0; i < v->size(); ++i)
      if ((*v)[i].err != error_code::ok && (*v)[i].err != error_code::runtime_inconsistency)
        return error_info{r.err, "op " + std::to_string(i + 1) + " of the multi"};
  }
  return take<std::vector<op_result>>(std::move(r));
}
result<unit> blocking_client::add_auth(const std::string& scheme, const std::string& credentials) {
  return take_unit(call(auth_request{scheme, credentials}));
}
result<unit> blocking_client::add_watch(const std::string& path, add_watch_mode mode) {
  return take_unit(call(add_watch_request{path, mode}));
}
result<unit> blocking_client::sync(const std::string& path) { return take_unit(call(sync_request{path})); }

void blocking_client::close() {
  auto& m = *impl_;
  std::lock_guard<std::mutex> g(m.call_mtx);
  if (!m.session)
    return;
  caf::scoped_actor self{*m.sys};
  self->request(m.session, std::chrono::milliseconds(m.opts.request_timeout_ms), atoms::close::value)
      .receive([](response&) {}, [](caf::error&) {});
  caf::anon_send_exit(m.session, caf::exit_reason::user_shutdown);
  m.session = nullptr;
}

void blocking_client::on_event(std::function<void(const watch_event&)> fn) {
  std::lock_guard<std::mutex> g(impl_->mtx);
  impl_->on_event = std::move(fn);
}

void blocking_client::on_state(std::function<void(connection_state)> fn) {
  std::lock_guard<std::mutex> g(impl_->mtx);
  impl_->on_state = std::move(fn);
}

std::optional<watch_event> blocking_client::next_event(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lk(impl_->mtx);
  if (!impl_->cv.wait_for(lk, timeout, [&] { return !impl_->events.empty(); }))
    return std::nullopt;
  auto e = std::move(impl_->events.front());
  impl_->events.pop_front();
  return e;
}

session_id blocking_client::id() const {
  auto& m = *impl_;
  std::lock_guard<std::mutex> g(m.call_mtx);
  if (!m.session)
    return 0;
  session_id id = 0;
  caf::scoped_actor self{*m.sys};
  self->request(m.session, std::chrono::seconds(5), caf::get_atom::value)
      .receive([&](int64_t sid, int64_t) { id = sid; }, [](caf::error&) {});
  return id;
}

caf::actor_system& blocking_client::system() const { return *impl_->sys; }
const caf::actor& blocking_client::session_actor() const { return impl_->session; }

connection_state blocking_client::state() const {
  std::lock_guard<std::mutex> g(impl_->mtx);
  return impl_->current;
}

// ---- recipes ----------------------------------------------------------------------------------

struct blocking_lock::impl {
  caf::actor lock;
  std::unique_ptr<caf::scoped_actor> owner; // the owner the lock actor sees; its exit frees the nodes
  std::mutex mtx;
};

blocking_lock::blocking_lock(std::unique_ptr<impl> m) : impl_(std::move(m)) {}

blocking_lock::~blocking_lock() { caf::anon_send_exit(impl_->lock, caf::exit_reason::user_shutdown); }

result<lock_grant> blocking_lock::acquire(std::chrono::milliseconds timeout, lock_kind kind) {
  std::lock_guard<std::mutex> g(impl_->mtx);
  result<lock_grant> out(error_code::connection_loss, "no answer from the lock actor");
  auto& self = *impl_->owner;
  self->request(impl_->lock, caf::infinite, atoms::acquire::value, kind, static_cast<int64_t>(timeout.count()))
      .receive([&](result<lock_grant>& r) { out = std::move(r); },
               [&](caf::error& e) { out = result<lock_grant>(error_code::system_error, self->system().render(e)); });
  return out;
}

result<unit> blocking_lock::release(lock_kind kind) {
  std::lock_guard<std::mutex> g(impl_->mtx);
  result<unit> out(error_code::connection_loss, "no answer from the lock actor");
  auto& self = *impl_->owner;
  self->request(impl_->lock, caf::infinite, atoms::release::value, kind)
      .receive([&](result<unit>& r) { out = std::move(r); },
               [&](caf::error& e) { out = result<unit>(error_code::system_error, self->system().render(e)); });
  return out;
}

std::optional<lock_notice> blocking_lock::next_notice(std::chrono::milliseconds timeout) {
  std::lock_guard<std::mutex> g(impl_->mtx);
  std::optional<lock_notice> out;
  (*impl_->owner)->receive([&](lock_notice& n) { out = std::move(n); }, caf::after(timeout) >> [] {});
  return out;
}

lock_stats blocking_lock::stats() {
  // Asked from an actor of its own: it works while another thread waits in acquire().
  lock_stats out;
  caf::scoped_actor self{(*impl_->owner)->system()};
  self->request(impl_->lock, std::chrono::seconds(10), atoms::stats::value)
      .receive([&](lock_stats& s) { out = s; }, [](caf::error&) {});
  return out;
}

std::unique_ptr<blocking_lock> blocking_client::lock(const std::string& path) {
  auto m = std::make_unique<blocking_lock::impl>();
  m->lock = spawn_lock(*impl_->sys, impl_->session, path);
  m->owner = std::make_unique<caf::scoped_actor>(*impl_->sys);
  return std::unique_ptr<blocking_lock>(new blocking_lock(std::move(m)));
}

std::unique_ptr<blocking_lock> blocking_client::rw_lock(const std::string& path) {
  auto m = std::make_unique<blocking_lock::impl>();
  m->lock = spawn_rw_lock(*impl_->sys, impl_->session, path);
  m->owner = std::make_unique<caf::scoped_actor>(*impl_->sys);
  return std::unique_ptr<blocking_lock>(new blocking_lock(std::move(m)));
}

namespace {
// What the listener actor and the blocking calls share; the listener may outlive the latch object.
struct latch_shared {
  std::mutex mtx;
  std::condition_variable cv;
  bool leader = false;
};
} // namespace

struct blocking_latch::impl {
  caf::actor latch;
  caf::actor listener;
  std::shared_ptr<latch_shared> shared = std::make_shared<latch_shared>();
};

blocking_latch::blocking_latch(std::unique_ptr<impl> m) : impl_(std::move(m)) {}

blocking_latch::~blocking_latch() {
  close();
  caf::anon_send_exit(impl_->listener, caf::exit_reason::user_shutdown);
}

bool blocking_latch::is_leader() {
  auto& sh = *impl_->shared;
  std::lock_guard<std::mutex> g(sh.mtx);
  return sh.leader;
}

bool blocking_latch::wait_leader(std::chrono::milliseconds timeout) {
  auto& sh = *impl_->shared;
  std::unique_lock<std::mutex> lk(sh.mtx);
  return sh.cv.wait_for(lk, timeout, [&] { return sh.leader; });
}

result<std::vector<participant_info>> blocking_latch::participants() {
  result<std::vector<participant_info>> out(error_code::connection_loss, "no answer from the latch actor");
  caf::scoped_actor self{impl_->latch->home_system()};
  self->request(impl_->latch, std::chrono::seconds(30), caf::get_atom::value)
      .receive([&](result<std::vector<participant_info>>& r) { out = std::move(r); }, [](caf::error&) {});
  return out;
}

void blocking_latch::close() {
  caf::scoped_actor self{impl_->latch->home_system()};
  self->request(impl_->latch, std::chrono::seconds(30), atoms::close::value)
      .receive([](result<unit>&) {}, [](caf::error&) {});
  std::lock_guard<std::mutex> g(impl_->shared->mtx);
  impl_->shared->leader = false;
}

std::unique_ptr<blocking_latch> blocking_client::leader_latch(const std::string& path, const std::string& id) {
  auto m = std::make_unique<blocking_latch::impl>();
  m->listener = impl_->sys->spawn([sh = m->shared](caf::event_based_actor*) -> caf::behavior {
    return {[sh](leadership& l) {
      {
        std::lock_guard<std::mutex> g(sh->mtx);
        sh->leader = l.is_leader;
      }
      sh->cv.notify_all();
    }};
  });
  m->latch = spawn_leader_latch(*impl_->sys, impl_->session, path, id, m->listener);
  return std::unique_ptr<blocking_latch>(new blocking_latch(std::move(m)));
}

blocking_queue::blocking_queue(caf::actor* q) : queue_(q) {}

blocking_queue::~blocking_queue() { caf::anon_send_exit(*queue_, caf::exit_reason::user_shutdown); }

namespace {
template <class T, class... Ts>
T ask_queue(const caf::actor& q, std::chrono::milliseconds timeout, Ts&&... msg) {
  T out(error_code::connection_loss, "no answer from the queue actor");
  caf::scoped_actor self{q->home_system()};
  self->request(q, timeout, std::forward<Ts>(msg)...).receive([&](T& r) { out = std::move(r); }, [](caf::error&) {});
  return out;
}
} // namespace

result<std::string> blocking_queue::put(const std::string& item) {
  return ask_queue<result<std::string>>(*queue_, std::chrono::seconds(60), caf::put_atom::value, item);
}

result<std::string> blocking_queue::put(const std::vector<std::string>& items) {
  return ask_queue<result<std::string>>(*queue_, std::chrono::seconds(60), caf::put_atom::value, items);
}

result<queue_item> blocking_queue::take(std::chrono::milliseconds timeout) {
  // The actor answers by `timeout`; the extra minute only guards against a queue actor that is gone.
  // (If this wait gave up first, an item taken meanwhile would be lost with the answer.)
  return ask_queue<result<queue_item>>(*queue_, timeout + std::chrono::minutes(1), atoms::take::value,
                                       static_cast<int64_t>(timeout.count()));
}

std::unique_ptr<blocking_queue> blocking_client::queue(const std::string& path, const std::string& lock_path) {
  queue_options o;
  o.lock_path = lock_path;
  auto q = new caf::actor(spawn_queue(*impl_->sys, impl_->session, path, o));
  return std::unique_ptr<blocking_queue>(new blocking_queue(q));
}

} // namespace corral::client
