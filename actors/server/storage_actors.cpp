// The disk actors: log_writer (group commit) and snapshotter. Both run on threads of their own
// (spawned detached), because they block on the disk and nothing else may.
#include "actors/errors.hpp"
#include "actors/logging.hpp"
#include "core/fatal.hpp"
#include "actors/server/actors.hpp"
#include "persistence/files.hpp"
#include "persistence/snapshot.hpp"

namespace corral::server {

namespace {

using writer_self = log_writer_self::stateful_pointer<log_writer_state>;

// Syncs the batch and reports it durable (or failed) to the state machine.
void commit(writer_self self) {
  auto& st = self->state;
  if (st.app->batch_entries() == 0)
    return;
  bool fatal = false;
  auto e = st.app->commit(fatal);
  if (e.code != error_code::ok) {
    st.rejecting = true;
    st.has_txns = false;
    self->send(st.sm, atoms::log_failed::value, e.detail, fatal);
    return;
  }
  if (st.has_txns)
    self->send(st.sm, atoms::durable::value, st.app->last_zxid());
  st.has_txns = false;
}

// Group commit: the first record of a batch sends the writer a `commit` behind everything already
// in its mailbox, so every record queued before it joins the batch and is synced with one fsync
// (and a full batch is synced at once). Records that arrive while it syncs form the next batch.
void batched(writer_self self) {
  auto& st = self->state;
  if (st.app->batch_full()) {
    commit(self);
    return;
  }
  if (!st.commit_queued) {
    st.commit_queued = true;
    self->send(self, atoms::commit::value);
  }
}

} // namespace

log_writer_self::behavior_type log_writer(log_writer_self::stateful_pointer<log_writer_state> self,
                                          std::shared_ptr<persistence::log_appender> app) {
  self->state.app = std::move(app);
  return {
      [=](atoms::connect, log_events& sm) { self->state.sm = std::move(sm); },
      [=](atoms::append, std::vector<shared_txn>& ts) {
        if (self->state.rejecting || ts.empty())
          return;
        for (auto& t : ts)
          self->state.app->add(*t);
        self->state.has_txns = true;
        batched(self);
      },
      [=](atoms::append, persistence::digest_check& d) {
        if (self->state.rejecting)
          return;
        self->state.app->add(d);
        batched(self);
      },
      [=](atoms::commit) {
        self->state.commit_queued = false;
        commit(self);
      },
      [=](atoms::resume) { self->state.rejecting = false; },
      [=](atoms::purge, zxid_t through) {
        for (auto& f : self->state.app->purge_through(through))
          log::info("log", "purged ", f);
      },
      [=](atoms::truncate, zxid_t after, zxid_t report) {
        // Anything batched so far is older than the cut's reason; commit it first, then cut.
        auto& appender = *self->state.app;
        bool fatal = false;
        if (auto e = appender.commit(fatal); e.code != error_code::ok && fatal)
          CORRAL_FATAL("log", "cannot sync the log before truncating it (", e.detail, ")");
        if (auto e = appender.truncate_after(after); e.code != error_code::ok)
          CORRAL_FATAL("log", "cannot truncate the log (", e.detail, ")");
        self->send(self->state.sm, atoms::durable::value, report);
      },
      [=](atoms::stop) {
        commit(self); // what was acknowledged as queued is synced before the writer goes
        self->quit();
      },
  };
}

snapshotter_actor::behavior_type snapshotter(snapshotter_actor::stateful_pointer<snapshotter_state> self,
                                             std::string dir, bool sync) {
  self->state.dir = std::move(dir);
  self->state.sync = sync;
  auto no_snapshot = [] { return to_caf_error(error_code::system_error, "no snapshot is under way"); };
  return {
      [=](atoms::snapshot, persistence::snapshot_header& h) -> caf::result<void> {
        auto& st = self->state;
        st.writer = std::make_unique<persistence::snapshot_writer>(st.dir, h.start_zxid, st.sync);
        if (auto e = st.writer->add(h); e.code != error_code::ok) {
          st.writer.reset();
          return to_caf_error(e);
        }
        return caf::unit;
      },
      [=](atoms::chunk, node_chunk& nodes) -> caf::result<node_chunk> {
        auto& st = self->state;
        if (!st.writer)
          return no_snapshot();
        if (auto e = st.writer->add_chunk(kj::ArrayPtr<const capnp::word>(nodes->data(), nodes->size()));
            e.code != error_code::ok) {
          st.writer.reset(); // removes the temporary file
          return to_caf_error(e);
        }
        return std::move(nodes); // back to the state machine for the next chunk
      },
      [=](atoms::finish, persistence::snapshot_trailer& t) -> caf::result<std::string> {
        auto& st = self->state;
        if (!st.writer)
          return no_snapshot();
        auto e = st.writer->finish(t);
        auto path = st.writer->final_path();
        st.writer.reset(); // removes the temporary file if finishing failed
        if (e.code != error_code::ok)
          return to_caf_error(e);
        return path;
      },
      [=](atoms::purge, uint64_t keep) -> std::optional<zxid_t> {
        for (auto& f : persistence::purge_snapshots(self->state.dir, keep))
          log::info("snapshot", "purged ", f);
        auto snaps = persistence::list_snapshots(self->state.dir);
        if (snaps.empty())
          return std::nullopt;
        return snaps.back().start_zxid;
      },
      // The bytes in the data directory (for the four-letter words): a directory walk, so here and
      // not on a scheduler thread.
      [=](atoms::stats) -> uint64_t { return persistence::directory_bytes(self->state.dir); },
  };
}

} // namespace corral::server
