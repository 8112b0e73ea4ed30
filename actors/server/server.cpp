#include "actors/server/server.hpp"

#include "actors/logging.hpp"
#include "actors/server/actors.hpp"
#include "persistence/recovery.hpp"

namespace corral::server {

namespace {

caf::error fail(const std::string& why) {
  log::error("server", why);
  return caf::make_error(caf::sec::runtime_error, why);
}

} // namespace

caf::expected<running_server> start(caf::actor_system& sys, const server_options& opts) {
  running_server srv;
  auto t0 = std::chrono::steady_clock::now();
  auto id = persistence::open_data_dir(opts.data_dir);
  if (!id)
    return fail(id.error().detail);
  persistence::recovery_options ropts;
  ropts.repair = opts.repair_log;
  ropts.now_ms = wall_now();
  persistence::log_options lopts;
  lopts.sync = opts.sync;
  lopts.segment_bytes = opts.log_segment_bytes;
  lopts.prealloc_bytes = opts.log_prealloc_bytes;
  lopts.max_batch_bytes = std::max<uint64_t>(1, opts.log_max_batch_bytes);
  // A txn batch and the digest checks written unsynced before it may be torn together.
  ropts.torn_window = 2 * (lopts.max_batch_bytes + persistence::max_record_bytes);
  log::info("server", "recovering from ", opts.data_dir);
  auto rec = persistence::recover(opts.data_dir, *id, opts.db, ropts);
  if (!rec)
    return fail("cannot recover " + opts.data_dir + ": " + rec.error().detail);
  for (auto& note : rec->notes)
    log::warn("recovery", note);
  auto db = std::shared_ptr<database>(std::move(rec->db));
  db->refresh_sessions(wall_now());
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  log::info("server", "recovered ", db->tree().node_count(), " znodes and ", db->sessions().size(),
            " sessions at zxid ", log::hex(db->last_applied()), " in ", ms, " ms (",
            rec->snapshot.empty() ? std::string("no snapshot") : rec->snapshot, " + ", rec->replayed,
            " txns from the log)");
  if (!opts.sync)
    log::warn("server", "fsync is OFF (corral.unsafe-no-fsync): acknowledged writes can be lost in a crash");
  auto appender = std::make_shared<persistence::log_appender>(opts.data_dir, *id, lopts);
  if (auto e = appender->open(rec->scan); e.code != error_code::ok)
    return fail("cannot open the log for writing: " + e.detail);
  storage_config storage;
  storage.dir = opts.data_dir;
  storage.db_id = *id;
  storage.snap_count = opts.snap_count;
  storage.snap_retain = opts.snap_retain;
  storage.purge_interval_ms = opts.purge_interval_ms;
  storage.snapshot_at_start = rec->replayed > 0;
  srv.snapshotter = sys.spawn<caf::detached>(snapshotter, opts.data_dir, opts.sync);
  // The writer needs the state machine's handle and the state machine the writer's: the writer
  // waits for its first message, which names the state machine.
  srv.log_writer = sys.spawn<caf::detached>(
      [appender](caf::blocking_actor* self) {
        caf::actor sm;
        self->receive([&](atoms::connect, caf::actor& a) { sm = a; });
        log_writer(self, sm, appender);
      });
  srv.state_machine = sys.spawn(state_machine, db, storage, srv.log_writer, srv.snapshotter);
  caf::anon_send(srv.log_writer, atoms::connect::value, srv.state_machine);
  size_t max_frame = opts.max_frame_bytes != 0 ? opts.max_frame_bytes
                                               : static_cast<size_t>(opts.db.max_data_bytes) + 64 * 1024;
  srv.listener = sys.middleman().spawn_broker(client_listener, srv.state_machine, max_frame,
                                              opts.max_connections);
  caf::scoped_actor self{sys};
  caf::error failure;
  self->request(srv.listener, std::chrono::seconds(10), atoms::open::value, opts.host, opts.port)
      .receive([&](uint16_t port) { srv.port = port; }, [&](caf::error& e) { failure = std::move(e); });
  if (failure) {
    stop(sys, srv);
    return fail("cannot listen on " + opts.host + ":" + std::to_string(opts.port) + ": " + sys.render(failure) +
                "; is another server running there? choose another --corral.port");
  }
  log::info("server", "listening on ", opts.host, ":", srv.port, " (native protocol)");
  return srv;
}

void stop(caf::actor_system& sys, running_server& srv) {
  // Brokers that own a listening socket keep the system alive until told to exit.
  caf::anon_send_exit(srv.listener, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(srv.state_machine, caf::exit_reason::user_shutdown);
  caf::anon_send(srv.log_writer, atoms::stop::value);
  caf::anon_send_exit(srv.snapshotter, caf::exit_reason::user_shutdown);
}

} // namespace corral::server
