// The disk actors: log_writer (group commit) and snapshotter. Both run on threads of their own
// (spawned detached), because they block on the disk and nothing else may.
#include "actors/logging.hpp"
#include "core/fatal.hpp"
#include "actors/server/actors.hpp"
#include "persistence/files.hpp"
#include "persistence/snapshot.hpp"

namespace corral::server {

void log_writer(caf::blocking_actor* self, caf::actor sm, std::shared_ptr<persistence::log_appender> app) {
  bool rejecting = false; // after a failed write, until the state machine has caught up
  bool running = true;
  bool has_txns = false;
  auto on_txn = [&](atoms::append, shared_txn& t) {
    if (rejecting)
      return;
    app->add(*t);
    has_txns = true;
  };
  auto on_digest = [&](atoms::append, persistence::digest_check& d) {
    if (!rejecting)
      app->add(d);
  };
  auto on_resume = [&](atoms::resume) { rejecting = false; };
  auto on_purge = [&](atoms::purge, zxid_t through) {
    for (auto& f : app->purge_through(through))
      log::info("log", "purged ", f);
  };
  auto on_truncate = [&](atoms::truncate, zxid_t after, zxid_t report) {
    // Anything batched so far is older than the cut's reason; commit it first, then cut.
    bool fatal = false;
    if (auto e = app->commit(fatal); e.code != error_code::ok && fatal)
      CORRAL_FATAL("log", "cannot sync the log before truncating it (", e.detail, ")");
    if (auto e = app->truncate_after(after); e.code != error_code::ok)
      CORRAL_FATAL("log", "cannot truncate the log (", e.detail, ")");
    self->send(sm, atoms::durable::value, report);
  };
  auto on_stop = [&](atoms::stop) { running = false; };
  auto on_exit = [&](caf::exit_msg&) { running = false; };
  while (running) {
    self->receive(on_txn, on_digest, on_resume, on_purge, on_truncate, on_stop, on_exit);
    // Group commit: take everything already queued into this batch.
    for (bool more = true; more && running && !app->batch_full();)
      self->receive(
          on_txn, on_digest, on_resume, on_purge, on_truncate, on_stop, on_exit,
          caf::after(std::chrono::seconds(0)) >> [&] { more = false; });
    if (app->batch_entries() == 0)
      continue;
    bool fatal = false;
    auto e = app->commit(fatal);
    if (e.code != error_code::ok) {
      rejecting = true;
      has_txns = false;
      self->send(sm, atoms::log_failed::value, e.detail, fatal);
      continue;
    }
    if (has_txns)
      self->send(sm, atoms::durable::value, app->last_zxid());
    has_txns = false;
  }
}

caf::behavior snapshotter(caf::stateful_actor<snapshotter_state>* self, std::string dir, bool sync) {
  self->state.dir = std::move(dir);
  self->state.sync = sync;
  return {
      [=](atoms::snapshot, persistence::snapshot_header& h) -> caf::result<bool> {
        self->state.writer =
            std::make_unique<persistence::snapshot_writer>(self->state.dir, h.start_zxid, self->state.sync);
        auto e = self->state.writer->add(h);
        return e.code == error_code::ok;
      },
      [=](atoms::chunk, node_chunk& nodes) -> caf::result<bool> {
        if (!self->state.writer)
          return false;
        return self->state.writer->add(std::move(*nodes)).code == error_code::ok;
      },
      [=](atoms::finish, persistence::snapshot_trailer& t) -> caf::result<std::string> {
        if (!self->state.writer)
          return std::string("error: no snapshot under way");
        auto e = self->state.writer->finish(t);
        auto path = self->state.writer->final_path();
        self->state.writer.reset(); // removes the temporary file if finishing failed
        if (e.code != error_code::ok)
          return "error: " + e.detail;
        return path;
      },
      // The bytes in the data directory (for the four-letter words): a directory walk, so here and
      // not on a scheduler thread.
      [=](atoms::stats) -> uint64_t { return persistence::directory_bytes(self->state.dir); },
      // Keeps the newest `keep` snapshots; answers the oldest kept one's start zxid (the log before
      // it is no longer needed), or -1 if there is none.
      [=](atoms::purge, uint64_t keep) -> caf::result<zxid_t> {
        for (auto& f : persistence::purge_snapshots(self->state.dir, keep))
          log::info("snapshot", "purged ", f);
        auto snaps = persistence::list_snapshots(self->state.dir);
        return snaps.empty() ? zxid_t{-1} : snaps.back().start_zxid;
      },
  };
}

} // namespace corral::server
