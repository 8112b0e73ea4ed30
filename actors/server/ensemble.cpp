// The state machine's ensemble mode: it drives the ZAB core (core/zab) for a server of an ensemble.
// Readies are handled in the core's order (epochs persisted before messages; truncation, snapshot,
// appends; commits applied; connections closed; messages sent), learners forward their clients'
// writes and session traffic to the leader, and role changes gate the clients. See docs/replication.md.
#include <algorithm>
#include <chrono>

#include "actors/logging.hpp"
#include "core/fatal.hpp"
#include "actors/server/state_machine_internal.hpp"
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
  auto e = persistence::write_file_atomically(st.epochs_path, "accepted=" + std::to_string(st.epochs.accepted_epoch) +
                                                                  "\ncurrent=" + std::to_string(st.epochs.current_epoch) + "\n");
  if (e.code != error_code::ok)
    CORRAL_FATAL("server", "cannot persist the epochs (", e.detail, "): an epoch must be on disk before it is acted on");
}

// SNAP: the leader sent its whole tree; it replaces ours, and the log starts over after it.
void install_snapshot(self_ptr self, const std::pair<zxid_t, std::shared_ptr<const void>>& snap) {
  auto& st = self->state;
  auto& bytes = *std::static_pointer_cast<const std::string>(snap.second);
  auto path = persistence::install_snapshot_bytes(st.storage.dir, st.storage.db_id, bytes);
  if (!path)
    CORRAL_FATAL("server", "cannot install the leader's snapshot: ", path.error().detail);
  auto db = std::make_shared<database>(st.db->options(), wall_now());
  auto loaded = persistence::read_snapshot(
      *path, st.storage.db_id, [&](const persistence::snapshot_header& h) {
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
  st.db = db;
  st.in_flight.clear();
  for (auto& s : db->session_images())
    if (st.sessions.count(s.id) == 0)
      st.sessions[s.id] = self->spawn<caf::linked>(session, s.id, caf::actor_cast<caf::actor>(self));
  // The log writer drops the old log, then reports the snapshot's zxid durable.
  self->send(st.log_writer, atoms::truncate::value, zxid_t{0}, snap.first);
  log::info("server", "installed the leader's snapshot at ", log::hex(snap.first), " (", db->tree().node_count(),
            " znodes)");
}

// This server stops serving: its client connections close, so every request still queued here
// (writes forwarded to the leader, syncs, this leader's own uncommitted writes, and the reads queued
// behind them) ends with ConnectionLoss, and each session starts with an empty queue when its client
// comes back. A queue left as it was would hold its session's later requests forever: an item whose
// txn never commits (or a read behind it) is never popped.
void fail_queued(self_ptr self, const std::string& why) {
  auto& st = self->state;
  for (auto& [s, q] : st.waiting) {
    auto actor = st.sessions.find(s);
    if (actor == st.sessions.end())
      continue;
    for (auto& item : q) { // answered only where the xid is known; the rest go with the connection
      if (!item.forwarded && item.sync_token == 0)
        continue;
      response resp;
      resp.xid = item.read.xid;
      resp.err = error_code::connection_loss;
      resp.detail = why;
      self->send(actor->second, std::move(resp));
    }
  }
  st.waiting.clear();
  for (auto& [id, o] : st.opening_forwarded) {
    protocol::connect_response resp;
    resp.err = error_code::connection_loss;
    resp.detail = why;
    o.rp.deliver(std::move(resp), caf::actor{});
  }
  st.opening_forwarded.clear();
}

void on_role(self_ptr self) {
  auto& st = self->state;
  auto& z = *st.zab;
  bool serving = z.serving();
  bool leading = serving && z.current_role() == zab::role::leading;
  if (leading && !st.leading) {
    // A new epoch: number txns from its base, and give every session a full timeout (this server did
    // not hear other servers' sessions while it followed).
    st.db->start_epoch(zab::make_zxid(z.epoch(), 0));
    st.db->refresh_sessions(wall_now());
    log::info("server", "leading epoch ", z.epoch(), " at zxid ", log::hex(st.db->last_applied()));
  } else if (!leading && st.leading) {
    st.db->start_epoch(st.db->last_applied()); // prepared changes may never commit
  }
  if (serving && !st.serving) {
    auto idle = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                      st.stopped_serving).count();
    if (leading)
      log::info("server", "serving as leader (epoch ", z.epoch(), "), ", idle, " ms after it stopped serving");
    else
      log::info("server", "serving, ", z.current_role() == zab::role::observing ? "observing" : "following",
                " server ", z.leader(), " (epoch ", z.epoch(), "), ", idle, " ms after it stopped serving");
  }
  if (!serving && st.serving) {
    st.stopped_serving = std::chrono::steady_clock::now();
    log::info("server", "not serving (", zab::role_name(z.current_role()), "); clients move to other servers");
    fail_queued(self, "this server lost its quorum; the request's outcome is unknown");
    for (auto& [s, a] : st.sessions)
      self->send(a, atoms::stop::value); // close the client connection, keep the session
  }
  st.serving = serving;
  st.leading = leading;
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
      while (!st.in_flight.empty() && st.in_flight.back()->zxid > *r.truncate_to)
        st.in_flight.pop_back();
      self->send(st.log_writer, atoms::truncate::value, *r.truncate_to, *r.truncate_to);
    }
    if (r.install_snapshot)
      install_snapshot(self, *r.install_snapshot);
    for (auto& e : r.to_log) {
      st.in_flight.push_back(e.payload);
      self->send(st.log_writer, atoms::append::value, e.payload);
    }
    if (r.commit_to != 0)
      apply_committed(self, r.commit_to);
    for (auto s : r.disconnect)
      self->send(st.transport, atoms::close::value, s);
    for (auto& m : r.messages)
      self->send(st.transport, std::move(m));
    if (r.became || r.serving_changed)
      on_role(self);
  }
}

void on_peer_frame(self_ptr self, zab::server_id from, protocol::peer_frame& f) {
  auto& st = self->state;
  auto& db = *st.db;
  auto now = wall_now();
  if (auto* fwd = std::get_if<protocol::forwarded_request>(&f)) {
    if (!st.leading)
      return; // the learner fails it when it notices the leader is gone
    db.set_auth(fwd->session, fwd->auth);
    db.touch(fwd->session, now);
    submit(self, db.prepare(fwd->session, fwd->req, now));
  } else if (auto* open = std::get_if<protocol::open_session_request>(&f)) {
    if (st.leading)
      submit(self, db.prepare_open_session_as(open->id, open->timeout_ms, open->password, now));
  } else if (auto* touches = std::get_if<protocol::session_touches>(&f)) {
    if (st.leading)
      for (auto s : touches->sessions)
        db.touch(s, now);
  } else if (auto* sync = std::get_if<protocol::sync_request_frame>(&f)) {
    // After the COMMITs already sent on this connection, so the learner has applied them when it reads this.
    self->send(st.transport, atoms::peer_frame::value, from,
               protocol::peer_frame{protocol::sync_reply_frame{sync->token, st.zab->committed()}});
  } else if (auto* reply = std::get_if<protocol::sync_reply_frame>(&f)) {
    for (auto& [s, q] : st.waiting) {
      if (q.empty() || q.front().sync_token != reply->token)
        continue;
      auto r = std::move(q.front().read);
      q.pop_front();
      answer_read(self, s, r);
      drain(self, s);
      break;
    }
  }
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
  if (!st.leading && st.serving && !st.touched.empty()) {
    std::vector<session_id> touched(st.touched.begin(), st.touched.end());
    st.touched.clear();
    self->send(st.transport, atoms::peer_frame::value, st.zab->leader(),
               protocol::peer_frame{protocol::session_touches{std::move(touched)}});
  }
}

} // namespace corral::server::sm
