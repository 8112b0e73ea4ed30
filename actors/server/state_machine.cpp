// The state machine: owns the database; applies writes once durable (standalone) or committed
// (ensemble, see ensemble.cpp), answers reads, fires watches, expires sessions, drives snapshots.
#include <chrono>

#include "actors/logging.hpp"
#include "core/fatal.hpp"
#include "actors/server/actors.hpp"
#include "actors/server/state_machine_internal.hpp"
#include "persistence/files.hpp"
#include "persistence/snapshot.hpp"

namespace corral::server {

int64_t wall_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

namespace sm {

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

// ---- the write path: prepare -> log -> durable -> apply -> answer ------------------------------

void submit(self_ptr self, txn t) {
  auto shared = std::make_shared<const txn>(std::move(t));
  auto& st = self->state;
  if (st.zab) {
    // The leader proposes; the entry comes back in the ready's to_log, like a learner's.
    auto z = st.zab->propose(shared);
    if (z != shared->zxid)
      log::error("server", "zxid mismatch: prepared ", log::hex(shared->zxid), ", proposed ", log::hex(z),
                 "; the txn is dropped");
    process_ready(self);
    return;
  }
  st.in_flight.push_back(shared);
  self->send(st.log_writer, atoms::append::value, shared);
}

void answer_read(self_ptr self, session_id s, const request& r) {
  auto out = self->state.db->read(s, r);
  deliver(self, out, true);
}

// Answers the reads queued behind a session's writes, up to its next pending write.
void drain(self_ptr self, session_id s) {
  auto it = self->state.waiting.find(s);
  if (it == self->state.waiting.end())
    return;
  auto& q = it->second;
  auto is_read = [](const state_machine_state::waiting_item& w) {
    return w.write == 0 && !w.forwarded && w.sync_token == 0;
  };
  while (!q.empty() && is_read(q.front())) {
    auto r = std::move(q.front().read);
    q.pop_front();
    answer_read(self, s, r);
  }
  if (q.empty())
    self->state.waiting.erase(it);
}

// True if `t` is the client write at the head of its session's queue (and pops it).
bool is_client_write(self_ptr self, const txn& t) {
  auto it = self->state.waiting.find(t.session);
  if (it == self->state.waiting.end() || it->second.empty())
    return false;
  auto& front = it->second.front();
  bool mine = front.forwarded ? front.read.xid == t.cxid : (front.write != 0 && front.write == t.zxid);
  if (!mine)
    return false;
  it->second.pop_front();
  return true;
}

void session_opened(self_ptr self, const txn& t) {
  auto& st = self->state;
  auto it = st.opening.find(t.zxid);
  if (it == st.opening.end()) {
    auto f = st.opening_forwarded.find(t.session);
    if (f == st.opening_forwarded.end())
      return;
    it = st.opening.emplace(t.zxid, std::move(f->second)).first;
    st.opening_forwarded.erase(f);
  }
  auto& db = *self->state.db;
  auto& info = *db.sessions().find(t.session);
  auto actor = self->spawn<caf::linked>(session, t.session, caf::actor_cast<caf::actor>(self));
  self->state.sessions[t.session] = actor;
  db.set_client_address(t.session, it->second.peer);
  db.set_certificate_subject(t.session, it->second.subject);
  protocol::connect_response resp;
  resp.session = t.session;
  resp.timeout_ms = info.timeout_ms;
  resp.password = info.password;
  resp.last_zxid = db.last_applied();
  log::info("server", "session ", log::hex(t.session), " opened for ", it->second.peer, " (timeout ",
            info.timeout_ms, " ms)");
  it->second.rp.deliver(std::move(resp), actor);
  self->state.opening.erase(it);
}

void apply_one(self_ptr self, const txn& t) {
  auto& st = self->state;
  auto out = st.db->apply(t, t.cxid);
  if (std::holds_alternative<txn_create_session>(t.body)) {
    session_opened(self, t);
    return;
  }
  if (auto* c = std::get_if<txn_close_session>(&t.body); c && st.expiring.erase(t.session) > 0) {
    log::info("server", "session ", log::hex(t.session), " expired; deleted ", c->ephemerals.size(),
              " ephemeral node(s)");
    if (auto it = st.sessions.find(t.session); it != st.sessions.end()) {
      self->send(it->second, atoms::expired::value);
      st.sessions.erase(it);
    }
    st.waiting.erase(t.session);
    out.ends_session = false;
    deliver(self, out, false);
    return;
  }
  if (is_client_write(self, t)) {
    if (out.ends_session)
      log::info("server", "session ", log::hex(t.session), " closed by its client");
    deliver(self, out, true);
    drain(self, t.session);
    return;
  }
  if (auto* d = std::get_if<txn_delete>(&t.body); d && out.resp.err == error_code::ok)
    log::info("server", "deleted ", d->path, " (empty container or expired TTL)");
  deliver(self, out, false);
}

void snapshot_step(self_ptr self);

void start_snapshot(self_ptr self) {
  auto& st = self->state;
  if (st.snapshotting)
    return;
  st.snapshotting = true;
  st.since_snapshot = 0;
  st.cursor.clear();
  st.snap_nodes = 0;
  auto& db = *st.db;
  persistence::snapshot_header h{st.storage.db_id, db.last_applied(), db.session_images()};
  log::info("snapshot", "starting a snapshot at zxid ", log::hex(h.start_zxid), " (", db.tree().node_count(),
            " znodes)");
  self->request(st.snapshotter, caf::infinite, atoms::snapshot::value, std::move(h))
      .then([=](bool ok) {
        if (ok) {
          snapshot_step(self);
        } else {
          log::error("snapshot", "cannot start a snapshot in ", self->state.storage.dir, "; will retry later");
          self->state.snapshotting = false;
        }
      });
}

void purge(self_ptr self) {
  auto& st = self->state;
  st.last_purge = wall_now();
  self->request(st.snapshotter, caf::infinite, atoms::purge::value, static_cast<uint64_t>(st.storage.snap_retain))
      .then([=](zxid_t oldest_kept) {
        if (oldest_kept > 0)
          self->send(self->state.log_writer, atoms::purge::value, oldest_kept);
      });
}

// Walks the tree a chunk at a time; writes go on between chunks (the snapshot is fuzzy).
void snapshot_step(self_ptr self) {
  auto& st = self->state;
  auto nodes = std::make_shared<std::vector<node_image>>();
  bool more = st.db->tree().visit_after(st.cursor, 2000, *nodes);
  st.snap_nodes += nodes->size();
  auto fail = [=](const std::string& why) {
    log::error("snapshot", "snapshot failed: ", why, "; will retry after more txns");
    self->state.snapshotting = false;
  };
  if (more || !nodes->empty()) {
    self->request(st.snapshotter, caf::infinite, atoms::chunk::value, nodes).then([=](bool ok) {
      if (!ok)
        return fail("cannot write to " + self->state.storage.dir);
      snapshot_step(self); // once the walk is done, this finds nothing and finishes
    });
    return;
  }
  auto& db = *st.db;
  persistence::snapshot_trailer trailer{db.last_applied(), st.snap_nodes, db.tree().digest()};
  self->request(st.snapshotter, caf::infinite, atoms::finish::value, trailer).then([=](std::string& path) {
    if (path.rfind("error: ", 0) == 0)
      return fail(path.substr(7));
    log::info("snapshot", "wrote ", path, " (", self->state.snap_nodes, " znodes, through zxid ",
              log::hex(self->state.db->last_applied()), ")");
    self->state.snapshotting = false;
    purge(self);
  });
}

// Applies the txns committed up to `upto` (standalone: durable is committed), in zxid order.
void apply_committed(self_ptr self, zxid_t upto) {
  auto& st = self->state;
  zxid_t last = 0;
  while (!st.in_flight.empty() && st.in_flight.front()->zxid <= upto) {
    auto t = std::move(st.in_flight.front());
    st.in_flight.pop_front();
    apply_one(self, *t);
    last = t->zxid;
    ++st.since_snapshot;
  }
  if (last != 0)
    self->send(st.log_writer, atoms::append::value, persistence::digest_check{last, st.db->tree().digest()});
  if (st.since_snapshot >= st.storage.snap_count)
    start_snapshot(self);
}

void on_durable(self_ptr self, zxid_t durable) {
  auto& st = self->state;
  if (st.zab) {
    st.zab->logged(durable);
    process_ready(self);
    return;
  }
  apply_committed(self, durable);
}

void on_log_failed(self_ptr self, const std::string& reason, bool fatal) {
  auto& st = self->state;
  if (fatal)
    CORRAL_FATAL("server", "the log could not be synced (", reason,
                 "); its state on disk is unknown. Restart the server: it recovers everything that was acknowledged");
  // In an ensemble the txns this server could not save were already proposed (or, on a follower,
  // decided): the others may commit them without this server's ack. Refusing them here would leave
  // this server's ZAB history and its disk disagreeing, and a later sync or election would build on
  // that lie (found by corral-torture: a leader whose disk filled lost a committed create). Stop;
  // recovery rebuilds the truth from the disk and the leader's sync supplies the rest.
  if (st.zab)
    CORRAL_FATAL("server", "cannot write the log (", reason, "); in an ensemble a txn this server cannot save may ",
                 "still commit on the others, so it stops rather than diverge. Free space on its disk and restart it; ",
                 "its peers go on serving meanwhile");
  log::error("server", "cannot write the log (", reason, "); rejecting ", st.in_flight.size(),
             " write(s). Acknowledged data is safe; writes work again once the disk accepts them.");
  for (auto& t : st.in_flight) {
    if (auto it = st.opening.find(t->zxid); it != st.opening.end()) {
      protocol::connect_response resp;
      resp.err = error_code::system_error;
      resp.detail = "the server cannot write to its disk: " + reason;
      it->second.rp.deliver(std::move(resp), caf::actor{});
      st.opening.erase(it);
      continue;
    }
    st.expiring.erase(t->session);
    if (!is_client_write(self, *t))
      continue;
    response resp;
    resp.xid = t->cxid;
    resp.zxid = st.db->last_applied();
    resp.err = error_code::system_error;
    resp.detail = "the write was not saved (" + reason + "); nothing changed, try again later";
    if (auto s = st.sessions.find(t->session); s != st.sessions.end())
      self->send(s->second, std::move(resp));
  }
  st.in_flight.clear();
  st.db->abandon_prepared(wall_now());
  self->send(st.log_writer, atoms::resume::value);
  std::vector<session_id> sessions;
  for (auto& [s, q] : st.waiting)
    sessions.push_back(s);
  for (auto s : sessions)
    drain(self, s);
}

// ---- requests -------------------------------------------------------------------------------

void on_request(self_ptr self, session_id s, request& r) {
  auto& st = self->state;
  auto& db = *st.db;
  if (!db.touch(s, wall_now())) {
    auto it = st.sessions.find(s);
    if (it == st.sessions.end())
      return;
    response resp;
    resp.xid = r.xid;
    resp.zxid = db.last_applied();
    resp.err = error_code::session_expired;
    resp.detail = "session " + log::hex(s) + " is closing";
    self->send(it->second, std::move(resp));
    return;
  }
  // A server whose tick is due (or that missed ticks while it was paused) first catches up: a leader
  // whose lease ran out steps down here, and the request is not answered from a stale tree.
  if (st.zab && std::chrono::steady_clock::now() - st.last_zab_tick >= std::chrono::milliseconds(st.zab_tick_ms)) {
    on_zab_tick(self);
    if (!st.serving) {
      if (auto it = st.sessions.find(s); it != st.sessions.end()) {
        response resp;
        resp.xid = r.xid;
        resp.err = error_code::connection_loss;
        resp.detail = "this server lost touch with its quorum; try another server";
        self->send(it->second, std::move(resp));
      }
      return;
    }
  }
  if (st.zab && !st.leading) {
    st.touched.insert(s);
    if (is_write(r.body) || std::holds_alternative<sync_request>(r.body)) {
      if (!st.serving) {
        response resp;
        resp.xid = r.xid;
        resp.err = error_code::connection_loss;
        resp.detail = "this server is not in touch with a leader; try another server";
        if (auto it = st.sessions.find(s); it != st.sessions.end())
          self->send(it->second, std::move(resp));
        return;
      }
      auto leader = st.zab->leader();
      state_machine_state::waiting_item item;
      item.read = r;
      if (std::holds_alternative<sync_request>(r.body)) {
        item.sync_token = st.next_token++;
        self->send(st.transport, atoms::peer_frame::value, leader,
                   protocol::peer_frame{protocol::sync_request_frame{item.sync_token}});
      } else {
        item.forwarded = true;
        auto* info = db.sessions().find(s);
        self->send(st.transport, atoms::peer_frame::value, leader,
                   protocol::peer_frame{protocol::forwarded_request{s, r, info ? info->auth : auth_list{}}});
      }
      st.waiting[s].push_back(std::move(item));
      return;
    }
  }
  if (is_write(r.body)) {
    auto t = db.prepare(s, r, wall_now());
    st.waiting[s].push_back({t.zxid, {}});
    submit(self, std::move(t));
    return;
  }
  if (auto it = st.waiting.find(s); it != st.waiting.end()) {
    it->second.push_back({0, std::move(r)}); // after this session's pending writes
    return;
  }
  answer_read(self, s, r);
}

protocol::server_stats stats_of(self_ptr self) {
  auto& st = self->state;
  auto& db = *st.db;
  protocol::server_stats s;
  if (st.zab) {
    auto role = st.zab->current_role();
    s.mode = role == zab::role::leading ? "leader" : role == zab::role::observing ? "observer" : "follower";
    s.followers = st.zab->learner_count();
  }
  s.serving = st.serving;
  s.zxid = db.last_applied();
  s.node_count = db.tree().node_count();
  s.sessions = db.sessions().size();
  s.ephemerals = db.tree().ephemeral_count();
  auto w = db.watches().summary();
  s.watch_sessions = w.sessions;
  s.watch_paths = w.paths;
  s.watches = w.watches;
  s.data_dir = st.storage.dir;
  s.uptime_ms = wall_now() - st.started_ms;
  return s;
}

// The figures above, plus the data directory's size from the snapshotter (it may block on the disk).
caf::result<protocol::server_stats> on_stats(self_ptr self) {
  auto rp = self->make_response_promise<protocol::server_stats>();
  auto s = stats_of(self);
  self->request(self->state.snapshotter, std::chrono::seconds(4), atoms::stats::value)
      .then([=](uint64_t bytes) mutable {
              s.data_dir_bytes = bytes;
              rp.deliver(s);
            },
            [=](caf::error&) mutable { rp.deliver(s); }); // the size stays 0 if the disk is that slow
  return rp;
}

caf::result<protocol::connect_response, caf::actor> on_open(self_ptr self, protocol::connect_request& req,
                                                              std::string& peer, std::string& subject) {
  auto& st = self->state;
  auto& db = *st.db;
  protocol::connect_response resp;
  resp.last_zxid = db.last_applied();
  if (req.last_zxid_seen > db.last_applied()) {
    resp.err = error_code::connection_loss;
    resp.detail = "client has seen zxid " + log::hex(req.last_zxid_seen) + " but this server is at " +
                  log::hex(db.last_applied()) + "; try another server";
    log::warn("server", "refusing client ", peer, ": ", resp.detail);
    return {std::move(resp), caf::actor{}};
  }
  if (!st.serving) {
    resp.err = error_code::connection_loss;
    resp.detail = "this server is not serving (an election or a sync is under way); try another server";
    return {std::move(resp), caf::actor{}};
  }
  if (req.session == 0 && st.zab && !st.leading) {
    // A learner picks the id (its server id is in the top byte) and asks the leader to create it.
    auto id = db.new_session_id();
    auto pw = random_password(st.rng);
    st.opening_forwarded.emplace(id, state_machine_state::opening_session{self->make_response_promise(), peer, subject});
    self->send(st.transport, atoms::peer_frame::value, st.zab->leader(),
               protocol::peer_frame{protocol::open_session_request{id, req.timeout_ms, pw}});
    return caf::delegated<protocol::connect_response, caf::actor>{};
  }
  if (req.session == 0) {
    auto t = db.prepare_open_session(req.timeout_ms, random_password(st.rng), wall_now());
    auto rp = self->make_response_promise();
    st.opening.emplace(t.zxid, state_machine_state::opening_session{rp, peer, subject});
    submit(self, std::move(t));
    return caf::delegated<protocol::connect_response, caf::actor>{};
  }
  auto it = st.sessions.find(req.session);
  if (it == st.sessions.end() && db.check_resume(req.session, req.password) == error_code::ok) {
    // The session lives in the ensemble's tree but moved here from another server.
    it = st.sessions.emplace(req.session, self->spawn<caf::linked>(session, req.session, caf::actor_cast<caf::actor>(self)))
             .first;
  }
  if (db.check_resume(req.session, req.password) != error_code::ok || it == st.sessions.end()) {
    resp.err = error_code::session_expired;
    resp.detail = "session " + log::hex(req.session) + " has expired or its password does not match";
    log::info("server", "refused to resume session ", log::hex(req.session), " from ", peer,
              ": expired or wrong password");
    return {std::move(resp), caf::actor{}};
  }
  db.touch(req.session, wall_now());
  db.set_client_address(req.session, peer);
  db.set_certificate_subject(req.session, subject);
  auto& info = *db.sessions().find(req.session);
  resp.session = req.session;
  resp.timeout_ms = info.timeout_ms;
  resp.password = info.password;
  log::info("server", "session ", log::hex(req.session), " resumed from ", peer);
  return {std::move(resp), it->second};
}

void run_timers(self_ptr self) {
  auto& st = self->state;
  auto& db = *st.db;
  auto now = wall_now();
  if (st.zab && !st.leading)
    return; // only the leader expires sessions and collects containers and TTL nodes
  for (auto& t : db.expire_sessions(now, now)) {
    st.expiring.insert(t.session);
    submit(self, std::move(t));
  }
  for (auto& t : db.collect_garbage(now))
    submit(self, std::move(t));
  if (st.storage.purge_interval_ms > 0 && now - st.last_purge >= st.storage.purge_interval_ms && !st.snapshotting)
    purge(self);
}


} // namespace sm

using namespace sm;

caf::behavior state_machine(caf::stateful_actor<state_machine_state>* self, std::shared_ptr<database> db,
                            storage_config storage, caf::actor log_writer, caf::actor snapshotter,
                            std::shared_ptr<ensemble_setup> ensemble) {
  auto tick = std::chrono::milliseconds(std::max<int64_t>(10, db->options().tick_ms / 2));
  auto& st = self->state;
  st.db = std::move(db);
  st.storage = std::move(storage);
  st.log_writer = log_writer;
  st.snapshotter = snapshotter;
  st.last_purge = wall_now();
  st.started_ms = wall_now();
  // Sessions that survived a restart: their actors wait for the clients to come back.
  for (auto& s : st.db->session_images())
    st.sessions[s.id] = self->spawn<caf::linked>(session, s.id, caf::actor_cast<caf::actor>(self));
  if (ensemble) {
    st.epochs_path = ensemble->epochs_path;
    st.epochs = ensemble->epochs;
    st.zab_tick_ms = ensemble->tick_ms;
    st.serving = false;
    // Entries after the snapshot that are not applied yet wait in in_flight for their commit.
    for (size_t i = ensemble->log.size() - ensemble->uncommitted; i < ensemble->log.size(); ++i)
      st.in_flight.push_back(ensemble->log[i].payload);
    st.zab = std::make_unique<zab::peer>(ensemble->zab, ensemble->epochs, ensemble->snapshot_zxid, ensemble->log,
                                         st.db->last_applied(), [self] {
                                           auto& s = self->state;
                                           return std::make_pair(s.db->last_applied(),
                                                                 std::shared_ptr<const void>(std::make_shared<std::string>(
                                                                     persistence::snapshot_bytes(*s.db, s.storage.db_id))));
                                         });
    self->delayed_send(self, std::chrono::milliseconds(st.zab_tick_ms), atoms::zab_tick::value);
  }
  if (st.storage.snapshot_at_start)
    start_snapshot(self);
  self->delayed_send(self, tick, atoms::tick::value);
  return {
      [=](atoms::open, protocol::connect_request& req, std::string& peer, std::string& subject) {
        return on_open(self, req, peer, subject);
      },
      [=](atoms::request, session_id s, request& r) { on_request(self, s, r); },
      [=](atoms::durable, zxid_t z) { on_durable(self, z); },
      [=](atoms::log_failed, std::string& reason, bool fatal) { on_log_failed(self, reason, fatal); },
      [=](atoms::detach, session_id s) { self->state.db->connection_lost(s); },
      [=](atoms::stats) { return on_stats(self); },
      [=](atoms::tick) {
        run_timers(self);
        self->delayed_send(self, tick, atoms::tick::value);
      },
      [=](atoms::snapshot) { start_snapshot(self); },
      // Ensemble.
      [=](atoms::connect, caf::actor& transport) {
        self->state.transport = transport;
        process_ready(self); // the first votes
      },
      [=](atoms::zab_tick) {
        on_zab_tick(self);
        // The next tick is due one interval after the last one counted (a request may have counted it).
        auto interval = std::chrono::milliseconds(self->state.zab_tick_ms);
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(self->state.last_zab_tick + interval -
                                                                          std::chrono::steady_clock::now());
        self->delayed_send(self, std::clamp(wait, std::chrono::milliseconds(1), interval), atoms::zab_tick::value);
      },
      [=](zab::message& m) {
        if (self->state.zab) {
          self->state.zab->step(m);
          process_ready(self);
        }
      },
      [=](atoms::connected, zab::server_id id) {
        if (self->state.zab) {
          self->state.zab->connected(id);
          process_ready(self);
        }
      },
      [=](atoms::gone, zab::server_id id) {
        if (self->state.zab) {
          self->state.zab->disconnected(id);
          process_ready(self);
        }
      },
      [=](atoms::peer_frame, zab::server_id from, protocol::peer_frame& f) { on_peer_frame(self, from, f); },
  };
}

} // namespace corral::server
