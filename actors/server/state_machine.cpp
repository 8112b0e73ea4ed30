// The state machine actor: the server's one writer. It decodes nothing and decides little: the
// request ordering (per-session FIFO, what waits for which write, what a committed txn answers) is
// core/request_pipeline; this actor feeds it requests, durable or committed zxids and role changes
// (ensemble.cpp), carries out the effects it returns, and drives snapshots and timers.
#include <chrono>

#include "actors/errors.hpp"
#include "actors/logging.hpp"
#include "core/fatal.hpp"
#include "core/format.hpp"
#include "core/overload.hpp"
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

void spawn_session(self_ptr self, session_id s) {
  auto& st = self->state;
  if (st.sessions.count(s) > 0)
    return;
  auto link = std::make_shared<session_link>();
  auto actor = self->spawn<caf::linked>(session, s, caf::actor_cast<state_machine_actor>(self), st.reads, link);
  st.sessions.emplace(s, state_machine_state::session_entry{std::move(actor), std::move(link)});
}

// Tells the session actors whether this server may answer reads now, and until when (shared_reads.hpp).
void publish_read_state(self_ptr self) {
  auto& st = self->state;
  auto& r = *st.reads;
  r.db = &st.db();
  auto m = st.pipe->current_mode();
  using mode = request_pipeline::mode;
  r.serving.store(r.enabled && (m == mode::standalone || m == mode::leading || m == mode::following),
                  std::memory_order_relaxed);
  // An ensemble server's reads are good until its next tick is due: one that missed it (paused,
  // starved) passes reads through here, where the tick is caught up first (on_requests).
  auto until =
      st.zab ? (st.last_zab_tick + std::chrono::milliseconds(st.zab_tick_ms)).time_since_epoch().count() : INT64_MAX;
  r.lease_until_ns.store(until, std::memory_order_relaxed);
}

// One turn of this actor: it holds the write lock of the session actors' reads throughout, and
// tells them at its end what they may read (shared_reads.hpp). Every handler begins with one.
class turn {
public:
  explicit turn(self_ptr self) : self_(self) { self->state.reads->lock.lock(); }
  ~turn() {
    publish_read_state(self_);
    self_->state.reads->lock.unlock();
  }
  turn(const turn&) = delete;
  turn& operator=(const turn&) = delete;

private:
  self_ptr self_;
};

// `appends` collects a standalone server's txns for the log writer; run() sends them in one message.
// A leader's proposals: `proposed` says that run() must take ZAB's ready once its effects are done,
// so that a batch's proposals go to the log writer and to each follower as one message each (taken
// per txn, each txn was a message to the log writer and one to the transport per follower).
void submit(self_ptr self, const shared_txn& t, std::vector<shared_txn>& appends, bool& proposed) {
  auto& st = self->state;
  if (st.zab) {
    // The leader proposes; the entry comes back in the ready's to_log, like a learner's.
    // propose() refuses (0) only when this server stops leading (its epoch's zxid counter is spent):
    // the ready makes the pipeline leave the leading mode, which fails this txn's request. A
    // proposal cannot commit before the leader's own log says it is durable, so nothing is answered
    // late by taking the ready at the end of the run.
    auto z = st.zab->propose(t);
    if (z == 0)
      process_ready(self);
    else
      proposed = true;
    CORRAL_CHECK(z == 0 ? st.pipe->current_mode() != request_pipeline::mode::leading : z == t->zxid, "server",
                 "the database prepared zxid ", to_hex(t->zxid), " but ZAB proposed ", to_hex(z),
                 ": their numbering must agree (both restart at each epoch)");
    return;
  }
  st.pipe->logged(t);
  appends.push_back(t);
}

void answer_open(self_ptr self, uint64_t ticket, protocol::connect_response resp, session_actor sess) {
  auto& opening = self->state.opening;
  auto it = opening.find(ticket);
  if (it == opening.end())
    return;
  it->second.deliver(std::move(resp), std::move(sess));
  opening.erase(it);
}

// Responses and events gathered per session over one run of effects, sent as one message each.
class outbox {
public:
  void add(self_ptr self, session_id s, std::variant<response, watch_event> item) {
    auto& sessions = self->state.sessions;
    auto entry = sessions.find(s);
    if (entry == sessions.end())
      return; // no actor here (a session of another server's client, or one that ended)
    if (std::holds_alternative<watch_event>(item)) // under the write lock: see shared_reads.hpp
      entry->second.link->events_sent.fetch_add(1, std::memory_order_relaxed);
    auto [it, fresh] = index_.try_emplace(s, batches_.size());
    if (fresh)
      batches_.emplace_back(s, session_output{});
    batches_[it->second].second.items.push_back(std::move(item));
  }
  // Sends what is gathered (before anything else goes to a session, so that order holds).
  void flush(self_ptr self) {
    auto& sessions = self->state.sessions;
    for (auto& [s, batch] : batches_)
      if (auto it = sessions.find(s); it != sessions.end())
        self->send(it->second.actor, std::move(batch));
    batches_.clear();
    index_.clear();
  }

private:
  std::vector<std::pair<session_id, session_output>> batches_;
  std::unordered_map<session_id, size_t> index_;
};

// Carries out what the pipeline asked for, in its order (events before responses).
void run(self_ptr self, pipeline_effects& effects) {
  auto& st = self->state;
  outbox out;
  // A batch of writes from one socket read becomes one message to the log writer: with one each,
  // the writer's mailbox took as many messages as the batch had writes (89 per fsync at 4x64). An
  // ensemble's txns go the same way, a ready's at a time (ensemble.cpp).
  std::vector<shared_txn> appends;
  bool proposed = false;
  auto to_leader = [&](auto&& frame) {
    self->send(st.transport, atoms::peer_frame::value, st.zab->leader(),
               protocol::peer_frame{std::forward<decltype(frame)>(frame)});
  };
  auto end_session = [&](session_id s, auto atom) {
    out.flush(self);
    if (auto it = st.sessions.find(s); it != st.sessions.end()) {
      self->send(it->second.actor, atom);
      st.sessions.erase(it);
    }
  };
  for (auto& e : effects)
    std::visit(overload{
                   [&](effect::respond& x) { out.add(self, x.session, std::move(x.resp)); },
                   [&](effect::notify& x) { out.add(self, x.session, std::move(x.event)); },
                   [&](effect::close_session& x) { end_session(x.session, atoms::close::value); },
                   [&](effect::expire_session& x) { end_session(x.session, atoms::expired::value); },
                   [&](effect::submit& x) {
                     out.flush(self); // a leader's proposal may commit at once and answer sessions itself
                     submit(self, x.txn, appends, proposed);
                   },
                   [&](effect::forward_write& x) {
                     to_leader(protocol::forwarded_request{x.session, std::move(x.req), std::move(x.auth)});
                   },
                   [&](effect::forward_sync& x) { to_leader(protocol::sync_request_frame{x.token}); },
                   [&](effect::forward_open& x) {
                     to_leader(protocol::open_session_request{x.session, x.timeout_ms, std::move(x.password)});
                   },
                   [&](effect::opened& x) {
                     spawn_session(self, x.session);
                     protocol::connect_response resp;
                     resp.session = x.session;
                     resp.timeout_ms = x.timeout_ms;
                     resp.password = std::move(x.password);
                     resp.last_zxid = x.last_zxid;
                     resp.read_only = x.read_only;
                     answer_open(self, x.ticket, std::move(resp), st.sessions[x.session].actor);
                   },
                   [&](effect::refused& x) {
                     protocol::connect_response resp;
                     resp.err = x.err;
                     resp.detail = std::move(x.detail);
                     resp.last_zxid = x.last_zxid;
                     answer_open(self, x.ticket, std::move(resp), session_actor{});
                   },
                   [&](effect::disconnect_all&) {
                     out.flush(self);
                     for (auto& [s, entry] : st.sessions)
                       self->send(entry.actor, atoms::stop::value); // close the client connection, keep the session
                   },
                   [&](effect::note& x) {
                     if (x.warning)
                       log::warn("server", x.text);
                     else
                       log::info("server", x.text);
                   },
               },
               e);
  if (!appends.empty())
    self->send(st.log_writer, atoms::append::value, std::move(appends));
  out.flush(self);
  effects.clear();
  if (proposed)
    process_ready(self);
}

void snapshot_step(self_ptr self);

// A snapshot ended (written or failed): its chunk memory goes back, so that it does not stay
// resident between snapshots.
void end_snapshot(self_ptr self) {
  auto& st = self->state;
  st.snapshotting = false;
  st.chunks.reset();
  st.chunk_buffer.reset();
}

void start_snapshot(self_ptr self) {
  auto& st = self->state;
  if (st.snapshotting)
    return;
  st.snapshotting = true;
  st.since_snapshot = 0;
  st.snapshot_due = st.storage.snapshots.txns_before_snapshot(st.db().tree().node_count(), st.rng());
  st.cursor.clear();
  st.snap_nodes = 0;
  auto& db = st.db();
  persistence::snapshot_header h{st.storage.db_id, db.last_applied(), db.session_images()};
  log::info("snapshot", "starting a snapshot at zxid ", log::hex(h.start_zxid), " (", db.tree().node_count(),
            " znodes)");
  self->request(st.snapshotter, caf::infinite, atoms::snapshot::value, std::move(h))
      .then([=]() { snapshot_step(self); },
            [=](caf::error& e) {
              log::error("snapshot", "cannot start a snapshot in ", self->state.storage.dir, " (",
                         from_caf_error(e).detail, "); will retry after more txns");
              end_snapshot(self);
            });
}

void purge(self_ptr self) {
  auto& st = self->state;
  st.last_purge = wall_now();
  self->request(st.snapshotter, caf::infinite, atoms::purge::value, static_cast<uint64_t>(st.storage.snapshots.retain))
      .then(
          [=](std::optional<zxid_t> oldest_kept) {
            if (oldest_kept)
              self->send(self->state.log_writer, atoms::purge::value, *oldest_kept);
          },
          [=](caf::error& e) {
            log::warn("snapshot", "could not purge old snapshots (", from_caf_error(e).detail,
                      "); they stay until the next purge");
          });
}

// Walks the tree a chunk at a time; writes go on between chunks (the snapshot is fuzzy).
void snapshot_step(self_ptr self) {
  auto& st = self->state;
  if (!st.chunks)
    st.chunks = std::make_unique<persistence::chunk_encoder>();
  auto nodes = st.chunk_buffer ? std::move(st.chunk_buffer) : std::make_shared<word_buffer>();
  auto count = st.chunks->encode(st.db().tree(), st.cursor, persistence::chunk_nodes, *nodes);
  st.snap_nodes += count;
  auto fail = [=](caf::error& e) {
    log::error("snapshot", "snapshot failed in ", self->state.storage.dir, ": ", from_caf_error(e).detail,
               "; will retry after more txns");
    end_snapshot(self);
  };
  if (count != 0) {
    self->request(st.snapshotter, caf::infinite, atoms::chunk::value, nodes)
        .then(
            [=](node_chunk& back) {
              self->state.chunk_buffer = std::move(back);
              snapshot_step(self); // once the walk is done, this finds nothing and finishes
            },
            fail);
    return;
  }
  auto& db = st.db();
  persistence::snapshot_trailer trailer{db.last_applied(), st.snap_nodes, db.tree().digest()};
  self->request(st.snapshotter, caf::infinite, atoms::finish::value, trailer)
      .then(
          [=](std::string& path) {
            log::info("snapshot", "wrote ", path, " (", self->state.snap_nodes, " znodes, through zxid ",
                      log::hex(self->state.db().last_applied()), ")");
            end_snapshot(self);
            purge(self);
          },
          fail);
}

// Applies the txns committed up to `upto` (standalone: durable is committed), in zxid order.
void apply_committed(self_ptr self, zxid_t upto) {
  auto& st = self->state;
  effects_lease effects(self);
  auto applied = st.pipe->commit(upto, effects.v);
  run(self, effects.v);
  if (applied == 0)
    return;
  self->send(st.log_writer, atoms::append::value,
             persistence::digest_check{st.db().last_applied(), st.db().tree().digest()});
  st.since_snapshot += applied;
  if (st.since_snapshot >= st.snapshot_due)
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
  pipeline_effects effects;
  st.pipe->log_failed(reason, wall_now(), effects);
  run(self, effects);
  self->send(st.log_writer, atoms::resume::value);
}

// ---- requests -------------------------------------------------------------------------------

void on_requests(self_ptr self, session_id s, std::vector<request>& rs) {
  auto& st = self->state;
  // A server whose tick is due (or that missed ticks while it was paused) first catches up: a leader
  // whose lease ran out steps down here, and the request is not answered from a stale tree.
  if (st.zab && std::chrono::steady_clock::now() - st.last_zab_tick >= std::chrono::milliseconds(st.zab_tick_ms))
    on_zab_tick(self);
  effects_lease effects(self);
  auto now = wall_now();
  for (auto& r : rs)
    st.pipe->handle(s, std::move(r), now, effects.v);
  run(self, effects.v);
}

protocol::server_stats stats_of(self_ptr self) {
  auto& st = self->state;
  auto& db = st.db();
  protocol::server_stats s;
  if (st.zab) {
    auto role = st.zab->current_role();
    s.mode = role == zab::role::leading ? "leader" : role == zab::role::observing ? "observer" : "follower";
    if (st.pipe->current_mode() == request_pipeline::mode::read_only)
      s.mode = "read-only"; // as ZooKeeper's srvr and mntr say it
    s.followers = st.zab->learner_count();
  }
  s.serving = st.pipe->serving();
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
      .then(
          [=](uint64_t bytes) mutable {
            s.data_dir_bytes = bytes;
            rp.deliver(s);
          },
          [=](caf::error&) mutable { rp.deliver(s); }); // the size stays 0 if the disk is that slow
  return rp;
}

caf::result<protocol::connect_response, session_actor> on_open(self_ptr self, protocol::connect_request& req,
                                                               std::string& peer, std::string& subject) {
  auto& st = self->state;
  auto ticket = st.next_ticket++;
  auto promise = self->make_response_promise<protocol::connect_response, session_actor>();
  st.opening.emplace(ticket, promise);
  open_request o;
  o.session = req.session;
  o.password = req.password;
  o.timeout_ms = req.timeout_ms;
  o.last_zxid_seen = req.last_zxid_seen;
  o.peer = std::move(peer);
  o.subject = std::move(subject);
  o.read_only = req.read_only;
  if (req.session == 0)
    o.new_password = random_password(st.rng);
  pipeline_effects effects;
  st.pipe->open(ticket, o, wall_now(), effects);
  run(self, effects); // answers at once, or once the session's txn is applied
  return promise;
}

void run_timers(self_ptr self) {
  auto& st = self->state;
  auto now = wall_now();
  pipeline_effects effects;
  st.pipe->timers(now, effects);
  run(self, effects);
  if (st.storage.snapshots.purge_interval_ms > 0 && now - st.last_purge >= st.storage.snapshots.purge_interval_ms &&
      !st.snapshotting)
    purge(self);
}

} // namespace sm

using namespace sm;

state_machine_self::behavior_type state_machine(self_ptr self, std::shared_ptr<database> db, storage_config storage,
                                                log_writer_actor log_writer, snapshotter_actor snapshotter,
                                                std::shared_ptr<ensemble_setup> ensemble,
                                                std::shared_ptr<shared_reads> reads) {
  auto tick = std::chrono::milliseconds(std::max<int64_t>(10, db->options().tick_ms / 2));
  auto& st = self->state;
  st.pipe = std::make_unique<request_pipeline>(std::move(db), ensemble ? request_pipeline::mode::not_serving
                                                                       : request_pipeline::mode::standalone);
  st.storage = std::move(storage);
  st.reads = std::move(reads);
  publish_read_state(self); // not serving yet in an ensemble; nothing reads before the first turn
  st.log_writer = log_writer;
  st.snapshotter = snapshotter;
  st.last_purge = wall_now();
  st.started_ms = wall_now();
  st.snapshot_due = st.storage.snapshots.txns_before_snapshot(st.db().tree().node_count(), st.rng());
  // Sessions that survived a restart: their actors wait for the clients to come back.
  for (auto& s : st.db().session_images())
    spawn_session(self, s.id);
  if (ensemble) {
    st.epochs_path = ensemble->epochs_path;
    st.epochs = ensemble->epochs;
    st.zab_tick_ms = ensemble->tick_ms;
    st.read_only_after_ms = ensemble->read_only_after_ms;
    // Entries after the snapshot that are not applied yet wait in the pipeline for their commit.
    for (size_t i = ensemble->log.size() - ensemble->uncommitted; i < ensemble->log.size(); ++i)
      st.pipe->logged(ensemble->log[i].payload);
    st.zab = std::make_unique<zab::peer>(
        ensemble->zab, ensemble->epochs, ensemble->snapshot_zxid, ensemble->log, st.db().last_applied(), [self] {
          auto& s = self->state;
          return std::make_pair(s.db().last_applied(), std::shared_ptr<const void>(std::make_shared<std::string>(
                                                           persistence::snapshot_bytes(s.db(), s.storage.db_id))));
        });
    self->delayed_send(self, std::chrono::milliseconds(st.zab_tick_ms), atoms::zab_tick::value);
    st.pipe->set_membership_view([self, enabled = ensemble->reconfig_enabled] {
      auto& z = *self->state.zab;
      return membership_view{enabled, z.active_config(), z.pending_config(),
                             [self](const membership& m) { return self->state.zab->quorum_synced(m); }};
    });
  }
  if (st.storage.snapshot_at_start)
    start_snapshot(self);
  self->delayed_send(self, tick, atoms::tick::value);
  return {
      [=](atoms::open, protocol::connect_request& req, std::string& peer, std::string& subject) {
        turn t(self);
        return on_open(self, req, peer, subject);
      },
      [=](atoms::request, session_id s, std::vector<request>& rs) {
        turn t(self);
        on_requests(self, s, rs);
      },
      [=](atoms::durable, zxid_t z) {
        turn t(self);
        on_durable(self, z);
      },
      [=](atoms::log_failed, std::string& reason, bool fatal) {
        turn t(self);
        on_log_failed(self, reason, fatal);
      },
      [=](atoms::detach, session_id s) {
        turn t(self);
        self->state.db().connection_lost(s);
      },
      [=](atoms::touch, session_id s) {
        turn t(self);
        self->state.pipe->touch(s, wall_now());
      },
      [=](atoms::stats) {
        turn t(self);
        return on_stats(self);
      },
      [=](atoms::tick) {
        turn t(self);
        run_timers(self);
        self->delayed_send(self, tick, atoms::tick::value);
      },
      // Ensemble.
      [=](atoms::connect, transport_actor& transport) {
        turn t(self);
        self->state.transport = transport;
        process_ready(self); // the first votes
      },
      [=](atoms::zab_tick) {
        turn t(self);
        on_zab_tick(self);
        // The next tick is due one interval after the last one counted (a request may have counted it).
        auto interval = std::chrono::milliseconds(self->state.zab_tick_ms);
        auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(self->state.last_zab_tick + interval -
                                                                          std::chrono::steady_clock::now());
        self->delayed_send(self, std::clamp(wait, std::chrono::milliseconds(1), interval), atoms::zab_tick::value);
      },
      [=](zab::message& m) {
        turn t(self);
        if (self->state.zab) {
          self->state.zab->step(m);
          process_ready(self);
        }
      },
      [=](atoms::connected, zab::server_id id) {
        turn t(self);
        if (self->state.zab) {
          self->state.zab->connected(id);
          process_ready(self);
        }
      },
      [=](atoms::gone, zab::server_id id) {
        turn t(self);
        if (self->state.zab) {
          self->state.zab->disconnected(id);
          process_ready(self);
        }
      },
      [=](atoms::peer_frame, zab::server_id from, protocol::peer_frame& f) {
        turn t(self);
        on_peer_frame(self, from, f);
      },
  };
}

} // namespace corral::server
