// The state machine's ensemble mode: it drives the ZAB core (core/zab) for a server of an ensemble.
// Readies are handled in the core's order (epochs persisted before messages; truncation, snapshot,
// appends; commits applied; connections closed; messages sent), learners forward their clients'
// writes and session traffic to the leader, and role changes gate the clients. See docs/replication.md.
#include <algorithm>
#include <chrono>

#include "actors/logging.hpp"
#include "core/fatal.hpp"
#include "actors/server/state_machine_internal.hpp"
#include "persistence/epochs.hpp"
#include "persistence/files.hpp"
#include "persistence/snapshot.hpp"

namespace corral::server::sm {

void persist_epochs(self_ptr self, const zab::ready& r) {
  auto& st = self->state;
  if (!r.accepted_epoch && !r.current_epoch)
    return;
  if (r.accepted_epoch)
    st.epochs.accepted_epoch = *r.accepted_epoch;
  if (r.current_epoch)
    st.epochs.current_epoch = *r.current_epoch;
  // Before any message of this ready goes out (the core's contract).
  auto e = persistence::write_epochs(st.epochs_path, st.epochs);
  if (e.code != error_code::ok)
    CORRAL_FATAL("server", "cannot persist the epochs (", e.detail,
                 "): an epoch must be on disk before it is acted on");
}

// SNAP: the leader sent its whole tree; it replaces ours, and the log starts over after it.
void install_snapshot(self_ptr self, const std::pair<zxid_t, std::shared_ptr<const void>>& snap) {
  auto& st = self->state;
  auto& bytes = *std::static_pointer_cast<const std::string>(snap.second);
  auto path = persistence::install_snapshot_bytes(st.storage.dir, st.storage.db_id, bytes);
  if (!path)
    CORRAL_FATAL("server", "cannot install the leader's snapshot: ", path.error().detail);
  auto db = std::make_shared<database>(st.db().options(), wall_now());
  auto loaded = persistence::read_snapshot(
      *path, st.storage.db_id,
      [&](const persistence::snapshot_header& h) {
        for (auto& s : h.sessions)
          db->restore_session(s);
      },
      [&](std::vector<node_image>&& nodes) {
        for (auto& n : nodes)
          db->restore_node(n);
      });
  if (!loaded)
    CORRAL_FATAL("server", "cannot load the snapshot it just installed: ", loaded.error().detail);
  db->restored(loaded->header.start_zxid);
  db->refresh_sessions(wall_now());
  pipeline_effects effects;
  st.pipe->replace_database(db, effects);
  run(self, effects);
  for (auto& s : db->session_images())
    spawn_session(self, s.id);
  // The log writer drops the old log, then reports the snapshot's zxid durable.
  self->send(st.log_writer, atoms::truncate::value, zxid_t{0}, snap.first);
  log::info("server", "installed the leader's snapshot at ", log::hex(snap.first), " (", db->tree().node_count(),
            " znodes)");
}

// The ZAB core changed role or serving state: the pipeline follows (a new leader numbers txns in its
// epoch; a server that stops serving fails what it queued and closes its clients' connections).
void on_role(self_ptr self) {
  auto& st = self->state;
  auto& z = *st.zab;
  using mode = request_pipeline::mode;
  auto m = !z.serving() ? mode::not_serving : z.current_role() == zab::role::leading ? mode::leading : mode::following;
  auto before = st.pipe->current_mode();
  if (z.current_role() == zab::role::looking && st.last_role != zab::role::looking)
    st.looking_since = std::chrono::steady_clock::now();
  st.last_role = z.current_role();
  if (m == mode::not_serving && before == mode::read_only && z.current_role() == zab::role::looking)
    return; // still looking for a quorum: read-only sessions go on
  if (m == before)
    return;
  if (before == mode::read_only)
    log::info("server", "leaving read-only mode (", zab::role_name(z.current_role()),
              "): its read-only sessions end and their clients reconnect");
  if (m == mode::leading)
    log::info("server", "leading epoch ", z.epoch(), " at zxid ", log::hex(st.db().last_applied()));
  if (m != mode::not_serving && before == mode::not_serving) {
    auto idle =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - st.stopped_serving)
            .count();
    if (m == mode::leading)
      log::info("server", "serving as leader (epoch ", z.epoch(), "), ", idle, " ms after it stopped serving");
    else
      log::info("server", "serving, ", z.current_role() == zab::role::observing ? "observing" : "following", " server ",
                z.leader(), " (epoch ", z.epoch(), "), ", idle, " ms after it stopped serving");
  }
  if (m == mode::not_serving) {
    st.stopped_serving = std::chrono::steady_clock::now();
    log::info("server", "not serving (", zab::role_name(z.current_role()), "); clients move to other servers");
  }
  pipeline_effects effects;
  st.pipe->become(m, make_zxid(z.epoch(), 0), wall_now(), effects);
  run(self, effects);
}

// The servers of the active and the pending membership: the transport admits and dials them.
void send_peers(self_ptr self) {
  auto& z = *self->state.zab;
  std::map<zab::server_id, peer_address> peers;
  for (auto* m : {&z.active_config(), z.pending_config() ? &*z.pending_config() : nullptr})
    if (m != nullptr)
      for (auto& x : m->members)
        peers[x.id] = peer_address{x.id, x.host, x.quorum_port};
  std::vector<peer_address> list;
  for (auto& [id, p] : peers)
    list.push_back(p);
  self->send(self->state.transport, atoms::connect::value, std::move(list));
}

void process_ready(self_ptr self) {
  auto& st = self->state;
  for (;;) {
    auto r = st.zab->take_ready();
    if (r.empty())
      return;
    for (auto& n : r.notes)
      log::info("zab", n);
    persist_epochs(self, r);
    if (r.truncate_to) {
      log::info("server", "truncating the log after ", log::hex(*r.truncate_to),
                ": the leader never had the txns after it (they were never committed)");
      pipeline_effects effects;
      st.pipe->truncate(*r.truncate_to, effects);
      run(self, effects);
      self->send(st.log_writer, atoms::truncate::value, *r.truncate_to, *r.truncate_to);
    }
    if (r.install_snapshot)
      install_snapshot(self, *r.install_snapshot);
    if (!r.to_log.empty()) {
      std::vector<shared_txn> appends;
      appends.reserve(r.to_log.size());
      for (auto& e : r.to_log) {
        st.pipe->logged(e.payload);
        appends.push_back(e.payload);
      }
      self->send(st.log_writer, atoms::append::value, std::move(appends));
    }
    if (r.commit_to != 0)
      apply_committed(self, r.commit_to);
    for (auto s : r.disconnect)
      self->send(st.transport, atoms::close::value, s);
    if (!r.messages.empty())
      self->send(st.transport, std::move(r.messages));
    if (r.configs_changed && st.transport)
      send_peers(self); // after the messages: the roster does not close connections, it admits
    if (r.became || r.serving_changed)
      on_role(self);
  }
}

void on_peer_frame(self_ptr self, zab::server_id from, protocol::peer_frame& f) {
  auto& st = self->state;
  auto now = wall_now();
  effects_lease lease(self);
  auto& effects = lease.v;
  if (auto* fwd = std::get_if<protocol::forwarded_request>(&f)) {
    st.pipe->forwarded_write(fwd->session, fwd->req, fwd->auth, now, effects);
  } else if (auto* open = std::get_if<protocol::open_session_request>(&f)) {
    st.pipe->forwarded_open(open->id, open->timeout_ms, open->password, now, effects);
  } else if (auto* touches = std::get_if<protocol::session_touches>(&f)) {
    st.pipe->touches(touches->sessions, now);
  } else if (auto* sync = std::get_if<protocol::sync_request_frame>(&f)) {
    // After the COMMITs already sent on this connection, so the learner has applied them when it reads this.
    self->send(st.transport, atoms::peer_frame::value, from,
               protocol::peer_frame{protocol::sync_reply_frame{sync->token, st.zab->committed()}});
  } else if (auto* reply = std::get_if<protocol::sync_reply_frame>(&f)) {
    st.pipe->sync_reply(reply->token, effects);
  }
  run(self, effects);
}

// A server that has looked for a quorum for read_only_after_ms serves read-only sessions (ZooKeeper's
// read-only mode) until its ZAB core leaves looking.
void maybe_read_only(self_ptr self) {
  auto& st = self->state;
  using mode = request_pipeline::mode;
  if (st.read_only_after_ms < 0 || st.pipe->current_mode() != mode::not_serving ||
      st.zab->current_role() != zab::role::looking)
    return;
  if (!st.zab->is_member(st.zab->cfg().id))
    return; // a server removed from the ensemble serves nothing, not even stale reads
  auto waited =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - st.looking_since)
          .count();
  if (waited < st.read_only_after_ms)
    return;
  log::warn("server", "no quorum for ", waited,
            " ms: read-only mode, serving reads to clients that allow read-only sessions until a quorum forms "
            "(check that the other servers run and can reach this one's quorum port)");
  pipeline_effects effects;
  st.pipe->become(mode::read_only, 0, wall_now(), effects);
  run(self, effects);
}

void on_zab_tick(self_ptr self) {
  auto& st = self->state;
  // One tick per tick interval that has passed (at least one, at most 1000): after a pause the core
  // sees at once how long its peers have been silent, and a leader that was paused past the sync
  // limit steps down before it answers anything.
  // The ticks are counted against the clock (the last tick's time moves on by whole intervals), so
  // a request that catches up early does not make the timer's next tick an extra one.
  auto now = std::chrono::steady_clock::now();
  auto interval = std::chrono::milliseconds(std::max<int64_t>(st.zab_tick_ms, 1));
  auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - st.last_zab_tick).count();
  auto due = std::min<int64_t>(elapsed / interval.count(), 1000);
  if (due == 0)
    return;
  st.last_zab_tick = due == 1000 ? now : st.last_zab_tick + due * interval;
  if (due > 2)
    log::warn("server", "missed ", due - 1, " replication ticks (", elapsed,
              " ms since the last one): the process was paused or starved of CPU");
  for (int64_t i = 0; i < due; ++i)
    st.zab->tick();
  process_ready(self);
  maybe_read_only(self);
  auto touched = st.pipe->take_touched();
  if (st.pipe->current_mode() == request_pipeline::mode::following && !touched.empty()) {
    self->send(st.transport, atoms::peer_frame::value, st.zab->leader(),
               protocol::peer_frame{protocol::session_touches{std::move(touched)}});
  }
}

} // namespace corral::server::sm
