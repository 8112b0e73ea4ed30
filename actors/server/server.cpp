#include "actors/server/server.hpp"

#include "actors/errors.hpp"
#include "actors/logging.hpp"
#include "actors/server/actors.hpp"
#include "persistence/epochs.hpp"
#include "persistence/files.hpp"
#include "persistence/recovery.hpp"

#include <sstream>

#include <boost/filesystem.hpp>

namespace corral::server {

namespace {

caf::error fail(const std::string& why) {
  log::error("server", why);
  return caf::make_error(caf::sec::runtime_error, why);
}

zookeeper_front_end zookeeper_settings(const server_options& opts) {
  zookeeper_front_end zk;
  zk.max_packet = opts.zk_max_packet_bytes;
  zk.four_letter_words.clear();
  std::stringstream words(opts.four_letter_words);
  for (std::string w; std::getline(words, w, ',');) {
    w.erase(0, w.find_first_not_of(" \t"));
    w.erase(w.find_last_not_of(" \t") + 1);
    if (!w.empty())
      zk.four_letter_words.insert(w);
  }
  auto& db = opts.db;
  zk.conf = {
      {"clientPort", std::to_string(opts.zk_port)},
      {"secureClientPort", std::to_string(opts.secure_zk_port)},
      {"nativeClientPort", std::to_string(opts.port)},
      {"dataDir", opts.data_dir},
      {"dataLogDir", opts.data_dir},
      {"tickTime", std::to_string(db.tick_ms)},
      {"maxClientCnxns", std::to_string(opts.flow.max_per_address)},
      {"globalOutstandingLimit", std::to_string(opts.flow.global_outstanding)},
      {"minSessionTimeout", std::to_string(db.min_session_timeout_ms ? db.min_session_timeout_ms : 2 * db.tick_ms)},
      {"maxSessionTimeout", std::to_string(db.max_session_timeout_ms ? db.max_session_timeout_ms : 20 * db.tick_ms)},
      {"serverId", std::to_string(opts.server_id)},
      {"jute.maxbuffer", std::to_string(opts.zk_max_packet_bytes)}};
  for (auto& m : opts.ensemble) { // as /zookeeper/config has it (core/membership.hpp)
    auto line = server_line(m);
    auto eq = line.find('=');
    zk.conf.push_back({line.substr(0, eq), line.substr(eq + 1)});
  }
  return zk;
}

} // namespace

namespace {

// What start() needs from the data directory: the tree and sessions recovered from the snapshot and
// the log, where the log continues, and (in an ensemble) the epochs.
struct recovered {
  uint64_t db_id = 0;
  persistence::recovery_result rec;
  std::shared_ptr<database> db;
  std::string epochs_path;
  zab::persistent_state epochs;
};

// The log's options as the appender uses them (a batch is at least one record).
persistence::log_options log_options_of(const server_options& opts) {
  auto lopts = opts.log;
  lopts.max_batch_bytes = std::max<uint64_t>(1, lopts.max_batch_bytes);
  return lopts;
}

// corral.ensemble as a membership (version 0).
membership ensemble_of(const server_options& opts) {
  membership m;
  m.members = opts.ensemble;
  m.sort_by_id();
  return m;
}

// Step 1: open the data directory and recover it (refusing corruption, with the reason).
caf::expected<recovered> recover_data(const server_options& opts) {
  auto t0 = std::chrono::steady_clock::now();
  auto id = persistence::open_data_dir(opts.data_dir);
  if (!id)
    return fail(id.error().detail);
  bool ensemble = !opts.ensemble.empty();
  persistence::recovery_options ropts;
  ropts.repair = opts.repair_log;
  ropts.only_committed = ensemble;
  ropts.keep_replayed = ensemble;
  ropts.now_ms = wall_now();
  // A txn batch and the digest checks written unsynced before it may be torn together.
  ropts.torn_window = 2 * (log_options_of(opts).max_batch_bytes + persistence::max_record_bytes);
  log::info("server", "recovering from ", opts.data_dir);
  auto db_options = opts.db;
  if (ensemble) // what /zookeeper/config reads as until a reconfig writes it
    db_options.starting_config = config_text(ensemble_of(opts));
  auto rec = persistence::recover(opts.data_dir, *id, db_options, ropts);
  if (!rec)
    return fail("cannot recover " + opts.data_dir + ": " + rec.error().detail);
  for (auto& note : rec->notes)
    log::warn("recovery", note);
  recovered out;
  out.db_id = *id;
  out.db = std::shared_ptr<database>(std::move(rec->db));
  out.db->refresh_sessions(wall_now());
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  log::info("server", "recovered ", out.db->tree().node_count(), " znodes and ", out.db->sessions().size(),
            " sessions at zxid ", log::hex(out.db->last_applied()), " in ", ms, " ms (",
            rec->snapshot.empty() ? std::string("no snapshot") : rec->snapshot, " + ", rec->replayed,
            " txns from the log)");
  // An ensemble server's epochs, read before anything is started that a failure would have to stop.
  out.epochs_path = (boost::filesystem::path(opts.data_dir) / persistence::epochs_file_name).string();
  if (ensemble) {
    auto read = persistence::read_epochs(out.epochs_path);
    if (!read)
      return fail(read.error().detail);
    out.epochs = *read;
  }
  out.rec = std::move(*rec);
  return out;
}

// The membership a server of an ensemble starts with: the one its tree holds (/zookeeper/config,
// written by the last reconfig it applied), or corral.ensemble if no reconfig ever happened. After a
// reconfig the data directory, not the configuration file, says who is in the ensemble, as
// ZooKeeper's dynamic configuration file does.
membership starting_membership(const server_options& opts, const recovered& r) {
  auto from_options = ensemble_of(opts);
  auto* n = r.db->tree().find(config_path);
  if (n == nullptr || n->data.empty())
    return from_options;
  auto stored = parse_config_text(n->data.str());
  if (!stored) {
    log::warn("server", "cannot read the membership in ", config_path, " (", stored.error().detail,
              "); starting with corral.ensemble");
    return from_options;
  }
  if (stored->members != from_options.members)
    log::info("server", "starting with membership ", log::hex(stored->version),
              " from the data directory (a reconfig changed it); corral.ensemble names the servers it started with");
  return *stored;
}

// Step 2 (ensemble): what the ZAB core starts from.
std::shared_ptr<ensemble_setup> make_ensemble_setup(const server_options& opts, const recovered& r,
                                                    const membership& initial) {
  auto setup = std::make_shared<ensemble_setup>();
  setup->zab.id = opts.server_id;
  setup->zab.initial = initial;
  setup->zab.seed = static_cast<uint64_t>(wall_now());
  // A learner that missed more than a snapshot's worth of txns gets a snapshot (SNAP).
  setup->zab.history_limit = std::max<uint64_t>(opts.snapshots.every_txns, 100);
  setup->epochs_path = r.epochs_path;
  setup->epochs = r.epochs;
  setup->snapshot_zxid = r.rec.snapshot_zxid;
  for (auto& t : r.rec.replayed_txns)
    setup->log.push_back(zab::entry{t.zxid, std::make_shared<const txn>(t)});
  for (auto& t : r.rec.uncommitted_tail)
    setup->log.push_back(zab::entry{t.zxid, std::make_shared<const txn>(t)});
  setup->uncommitted = r.rec.uncommitted_tail.size();
  setup->tick_ms = opts.zab_tick_ms;
  // ZooKeeper starts its read-only server max(2 s, one tick) after it began looking.
  setup->read_only_after_ms = opts.read_only_mode ? std::max<int64_t>(2000, 2 * opts.zab_tick_ms) : -1;
  setup->reconfig_enabled = opts.reconfig_enabled;
  return setup;
}

// Step 3 (ensemble): the peer transport listens on the quorum port and connects to the others.
caf::error start_quorum(caf::actor_system& sys, const server_options& opts, const membership& initial,
                        running_server& srv) {
  auto me = std::find_if(opts.ensemble.begin(), opts.ensemble.end(), [&](auto& m) { return m.id == opts.server_id; });
  transport_options topts;
  topts.self = opts.server_id;
  topts.listen_host = me->host;
  topts.listen_port = me->quorum_port;
  topts.secret = opts.peer_secret;
  topts.max_unsent_bytes = static_cast<size_t>(opts.peer_max_unsent_bytes);
  topts.tls_server = opts.quorum_tls_server;
  topts.tls_client = opts.quorum_tls_client;
  srv.transport = spawn_peer_transport(sys, topts, srv.state_machine);
  caf::scoped_actor self{sys};
  caf::error failure;
  self->request(srv.transport, std::chrono::seconds(10), atoms::open::value)
      .receive([](uint16_t) {}, [&](caf::error& e) { failure = std::move(e); });
  if (failure)
    return fail("cannot listen on the quorum port " + me->host + ":" + std::to_string(me->quorum_port) + ": " +
                from_caf_error(failure).detail);
  std::vector<peer_address> peers;
  for (auto& m : initial.members)
    peers.push_back({m.id, m.host, m.quorum_port});
  caf::anon_send(srv.transport, atoms::connect::value, peers);
  caf::anon_send(srv.state_machine, atoms::connect::value, srv.transport);
  log::info("server", "server ", opts.server_id, " of an ensemble of ", initial.members.size(), "; quorum port ",
            me->quorum_port, opts.quorum_tls_server ? " over mutual TLS" : "",
            opts.peer_secret.empty() && !opts.quorum_tls_server
                ? " (peers admitted by address only: set corral.peer-secret-file or corral.quorum-tls to "
                  "authenticate them)"
                : (opts.peer_secret.empty() ? " (peers authenticated by certificate)"
                                            : " (peers authenticated with the shared secret)"));
  return {};
}

// Step 4: the client listener and its ports (native, ZooKeeper's, and the TLS ones if set).
caf::error open_client_ports(caf::actor_system& sys, const server_options& opts, running_server& srv) {
  size_t max_frame =
      opts.max_frame_bytes != 0 ? opts.max_frame_bytes : static_cast<size_t>(opts.db.max_data_bytes) + 64 * 1024;
  srv.listener = sys.middleman().spawn_broker(client_listener, srv.state_machine, max_frame, opts.flow,
                                              zookeeper_settings(opts), opts.tls);
  caf::scoped_actor self{sys};
  auto listen = [&](uint16_t port, bool zookeeper, const char* option, bool secure = false) -> caf::expected<uint16_t> {
    caf::error failure;
    uint16_t bound = 0;
    self->request(srv.listener, std::chrono::seconds(10), atoms::open::value, opts.host, port, zookeeper, secure)
        .receive([&](uint16_t p) { bound = p; }, [&](caf::error& e) { failure = std::move(e); });
    if (failure)
      return fail("cannot listen on " + opts.host + ":" + std::to_string(port) + ": " + from_caf_error(failure).detail +
                  "; is another server running there? choose another --corral." + option);
    return bound;
  };
  auto native = listen(opts.port, false, "port");
  if (!native) {
    return native.error();
  }
  srv.port = *native;
  log::info("server", "listening on ", opts.host, ":", srv.port, " (native protocol)");
  // The ports that can be off (-1): each bound port goes into `bound`.
  struct optional_port {
    int32_t port;
    bool zookeeper, secure;
    const char *option, *what;
    int32_t& bound;
  };
  optional_port ports[] = {
      {opts.zk_port, true, false, "zk-port (or -1 to turn the ZooKeeper port off)", "ZooKeeper protocol", srv.zk_port},
      {opts.secure_zk_port, true, true, "secure-zk-port", "ZooKeeper protocol over TLS", srv.secure_zk_port},
      {opts.secure_port, false, true, "secure-port", "native protocol over TLS", srv.secure_port},
  };
  for (auto& p : ports) {
    if (p.port < 0)
      continue;
    auto r = listen(static_cast<uint16_t>(p.port), p.zookeeper, p.option, p.secure);
    if (!r)
      return r.error();
    p.bound = *r;
    log::info("server", "listening on ", opts.host, ":", p.bound, " (", p.what, ")");
  }
  return {};
}

} // namespace

caf::expected<running_server> start(caf::actor_system& sys, const server_options& opts) {
  auto r = recover_data(opts);
  if (!r)
    return r.error();
  if (!opts.log.sync)
    log::warn("server", "fsync is OFF (corral.unsafe-no-fsync): acknowledged writes can be lost in a crash");
  auto appender = std::make_shared<persistence::log_appender>(opts.data_dir, r->db_id, log_options_of(opts));
  if (auto e = appender->open(r->rec.scan); e.code != error_code::ok)
    return fail("cannot open the log for writing: " + e.detail);
  running_server srv;
  storage_config storage;
  storage.dir = opts.data_dir;
  storage.db_id = r->db_id;
  storage.snapshots = opts.snapshots;
  storage.snapshot_at_start = r->rec.replayed > 0;
  srv.snapshotter = sys.spawn<caf::detached>(snapshotter, opts.data_dir, opts.log.sync);
  // The writer needs the state machine's handle and the state machine the writer's: the writer's
  // first message names the state machine (nothing reaches the writer before it).
  srv.log_writer = sys.spawn<caf::detached>(log_writer, appender);
  bool ensemble = !opts.ensemble.empty();
  auto initial = ensemble ? starting_membership(opts, *r) : membership{};
  auto reads = std::make_shared<shared_reads>();
  reads->enabled = opts.parallel_reads;
  reads->touch_interval_ms = std::max<int64_t>(1, opts.db.tick_ms / 2);
  srv.state_machine = sys.spawn(state_machine, r->db, storage, srv.log_writer, srv.snapshotter,
                                ensemble ? make_ensemble_setup(opts, *r, initial) : nullptr, reads);
  caf::anon_send(srv.log_writer, atoms::connect::value, log_events{srv.state_machine});
  auto e = ensemble ? start_quorum(sys, opts, initial, srv) : caf::error{};
  if (!e)
    e = open_client_ports(sys, opts, srv);
  if (e) {
    stop(sys, srv);
    return e;
  }
  return srv;
}

void stop(caf::actor_system& sys, running_server& srv) {
  // Brokers that own a listening socket keep the system alive until told to exit.
  caf::anon_send_exit(srv.listener, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(srv.state_machine, caf::exit_reason::user_shutdown);
  caf::anon_send(srv.log_writer, atoms::stop::value);
  caf::anon_send_exit(srv.snapshotter, caf::exit_reason::user_shutdown);
  if (srv.transport)
    caf::anon_send_exit(srv.transport, caf::exit_reason::user_shutdown);
}

} // namespace corral::server
