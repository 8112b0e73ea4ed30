#include <chrono>

#include "actors/logging.hpp"
#include "actors/server/actors.hpp"

namespace corral::server {

int64_t wall_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

namespace {

using self_ptr = caf::stateful_actor<state_machine_state>*;

std::string random_password(std::mt19937_64& rng) {
  std::string pw(16, '\0');
  for (auto& c : pw)
    c = static_cast<char>(rng() & 0xFF);
  return pw;
}

// Sends an outcome's events, then its response, so a session sees an event before any response
// that reflects the change; then ends the session if the txn did.
void deliver(self_ptr self, outcome& out, bool respond) {
  auto& sessions = self->state.sessions;
  for (auto& d : out.events)
    if (auto it = sessions.find(d.session); it != sessions.end())
      self->send(it->second, std::move(d.event));
  auto it = sessions.find(out.session);
  if (it == sessions.end())
    return;
  if (respond)
    self->send(it->second, std::move(out.resp));
  if (out.ends_session) {
    self->send(it->second, atoms::close::value);
    sessions.erase(it);
  }
}

protocol::connect_response open_session(self_ptr self, protocol::connect_request& req,
                                        const std::string& peer, caf::actor& session_actor) {
  auto& db = *self->state.db;
  protocol::connect_response resp;
  resp.last_zxid = db.last_applied();
  if (req.last_zxid_seen > db.last_applied()) {
    resp.err = error_code::connection_loss;
    resp.detail = "client has seen zxid " + log::hex(req.last_zxid_seen) + " but this server is at "
                  + log::hex(db.last_applied()) + "; try another server";
    log::warn("server", "refusing client ", peer, ": ", resp.detail);
    return resp;
  }
  if (req.session == 0) {
    auto t = db.prepare_open_session(req.timeout_ms, random_password(self->state.rng), wall_now());
    db.apply(t);
    auto& info = *db.sessions().find(t.session);
    session_actor = self->spawn<caf::linked>(session, t.session, caf::actor_cast<caf::actor>(self));
    self->state.sessions[t.session] = session_actor;
    db.set_client_address(t.session, peer);
    resp.session = t.session;
    resp.timeout_ms = info.timeout_ms;
    resp.password = info.password;
    resp.last_zxid = db.last_applied();
    log::info("server", "session ", log::hex(t.session), " opened for ", peer, " (timeout ",
              info.timeout_ms, " ms)");
    return resp;
  }
  auto it = self->state.sessions.find(req.session);
  if (db.check_resume(req.session, req.password) != error_code::ok || it == self->state.sessions.end()) {
    resp.err = error_code::session_expired;
    resp.detail = "session " + log::hex(req.session) + " has expired or its password does not match";
    log::info("server", "refused to resume session ", log::hex(req.session), " from ", peer,
              ": expired or wrong password");
    return resp;
  }
  db.touch(req.session, wall_now());
  db.set_client_address(req.session, peer);
  auto& info = *db.sessions().find(req.session);
  session_actor = it->second;
  resp.session = req.session;
  resp.timeout_ms = info.timeout_ms;
  resp.password = info.password;
  log::info("server", "session ", log::hex(req.session), " resumed from ", peer);
  return resp;
}

void run_timers(self_ptr self) {
  auto& db = *self->state.db;
  auto now = wall_now();
  for (auto& t : db.expire_sessions(now, now)) {
    auto out = db.apply(t);
    log::info("server", "session ", log::hex(t.session), " expired; deleted ",
              std::get<txn_close_session>(t.body).ephemerals.size(), " ephemeral node(s)");
    auto it = self->state.sessions.find(t.session);
    if (it != self->state.sessions.end()) {
      self->send(it->second, atoms::expired::value);
      self->state.sessions.erase(it);
    }
    out.ends_session = false;
    deliver(self, out, false);
  }
  for (auto& t : db.collect_garbage(now)) {
    auto out = db.apply(t);
    if (out.resp.err == error_code::ok)
      log::info("server", "deleted ", std::get<txn_delete>(t.body).path, " (empty container or expired TTL)");
    deliver(self, out, false);
  }
}

} // namespace

caf::behavior state_machine(caf::stateful_actor<state_machine_state>* self, database_options opts) {
  auto tick = std::chrono::milliseconds(std::max<int64_t>(10, opts.tick_ms / 2));
  self->state.db = std::make_unique<database>(std::move(opts), wall_now());
  self->delayed_send(self, tick, atoms::tick::value);
  return {
      [=](atoms::open, protocol::connect_request& req,
          std::string& peer) -> caf::result<protocol::connect_response, caf::actor> {
        caf::actor session_actor;
        auto resp = open_session(self, req, peer, session_actor);
        return {std::move(resp), std::move(session_actor)};
      },
      [=](atoms::request, session_id s, request& r) {
        auto& db = *self->state.db;
        if (!db.touch(s, wall_now())) {
          auto it = self->state.sessions.find(s);
          if (it == self->state.sessions.end())
            return;
          response resp;
          resp.xid = r.xid;
          resp.zxid = db.last_applied();
          resp.err = error_code::session_expired;
          resp.detail = "session " + log::hex(s) + " is closing";
          self->send(it->second, std::move(resp));
          return;
        }
        auto out = db.handle(s, r, wall_now());
        if (out.ends_session)
          log::info("server", "session ", log::hex(s), " closed by its client");
        deliver(self, out, true);
      },
      [=](atoms::detach, session_id s) { self->state.db->connection_lost(s); },
      [=](atoms::tick) {
        run_timers(self);
        self->delayed_send(self, tick, atoms::tick::value);
      },
      [=](atoms::stats) -> caf::result<int64_t, int64_t, int64_t> {
        auto& db = *self->state.db;
        return {static_cast<int64_t>(db.tree().node_count()), static_cast<int64_t>(db.sessions().size()),
                db.last_applied()};
      },
  };
}

} // namespace corral::server
