// corral-server: a standalone Corral server. Options come from a CAF config file in INI form
// (corral.conf in the working directory, or --config-file=PATH) and the command line
// (--corral.port=2281 ...), which overrides the file. --help lists every option with its default.
#include <csignal>
#include <set>
#include <fstream>
#include <iostream>

#include <boost/filesystem.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/logging.hpp"
#include "actors/server/server.hpp"
#include "security/sasl_digest.hpp"
#include "security/secret_file.hpp"

namespace {

struct server_config : caf::actor_system_config {
  std::string host = "127.0.0.1";
  uint16_t port = 2281;
  int32_t zk_port = 2181;
  int32_t secure_zk_port = -1;
  int32_t secure_port = -1;
  std::string tls_cert_file, tls_key_file, tls_ca_file;
  std::string tls_client_auth = "need";
  bool quorum_tls = false;
  uint64_t peer_max_unsent_bytes = 64ull << 20;
  std::string sasl_jaas_file;
  size_t zk_max_packet_bytes = 0xfffff;
  std::string four_letter_words = "srvr";
  std::string data_dir = "data";
  int64_t tick_ms = 2000;
  int32_t min_session_timeout_ms = 0;
  int32_t max_session_timeout_ms = 0;
  int32_t max_data_bytes = 1024 * 1024;
  std::string super_digest;
  bool ttl_nodes = false;
  bool container_nodes = true;
  int64_t container_check_interval_ms = 60000;
  size_t max_connections = 10000;
  size_t max_client_cnxns = 60;
  size_t global_outstanding_limit = 1000;
  uint64_t client_pause_unsent_bytes = 4ull << 20;
  uint64_t client_max_unsent_bytes = 64ull << 20;
  std::string log_level = "info";
  std::string log_file;
  std::string ready_file;
  bool unsafe_no_fsync = false;
  bool repair_log = false;
  uint64_t snap_count = 100000;
  size_t snap_retain = 3;
  int64_t purge_interval_ms = 3600000;
  uint64_t log_segment_bytes = 64ull << 20;
  uint64_t log_prealloc_bytes = 16ull << 20;
  uint64_t log_max_batch_bytes = 8ull << 20;
  int64_t server_id = 0;
  std::vector<std::string> ensemble;
  int64_t zab_tick_ms = 100;
  std::string peer_secret_file;

  server_config() {
    opt_group{custom_options_, "corral"}
        .add(host, "host", "address to listen on (default 127.0.0.1)")
        .add(port, "port", "native-protocol client port (default 2281; 0 picks a free one)")
        .add(zk_port, "zk-port", "ZooKeeper-protocol client port, for ZooKeeper's own clients (default 2181; 0 picks a free one; -1 turns it off)")
        .add(secure_zk_port, "secure-zk-port",
             "ZooKeeper-protocol port over TLS, as ZooKeeper's secureClientPort (default -1: off; 0 picks a free one)")
        .add(secure_port, "secure-port", "native-protocol port over TLS (default -1: off; 0 picks a free one)")
        .add(tls_cert_file, "tls-cert-file", "PEM certificate (chain) the secure ports present")
        .add(tls_key_file, "tls-key-file", "PEM private key of that certificate (chmod 600)")
        .add(tls_ca_file, "tls-ca-file", "PEM CA certificates that client certificates must chain to")
        .add(tls_client_auth, "tls-client-auth",
             "client certificates on the secure ports: need, want (verified if presented) or none (default need, "
             "as ZooKeeper's ssl.clientAuth); a verified certificate's subject is the client's x509 identity")
        .add(quorum_tls, "quorum-tls",
             "mutual TLS between the servers of an ensemble, as ZooKeeper's sslQuorum, with the corral.tls-* "
             "files: each server's certificate must chain to corral.tls-ca-file and name its corral.ensemble "
             "address (default false)")
        .add(peer_max_unsent_bytes, "peer-max-unsent-bytes",
             "bytes waiting for a slow follower or observer before the leader drops it and it resyncs "
             "(default 64 MiB)")
        .add(sasl_jaas_file, "sasl-jaas-file",
             "SASL DIGEST-MD5 for ZooKeeper's clients: a JAAS file (chmod 600) whose Server section lists "
             "user_NAME=\"password\", as ZooKeeper's DigestLoginModule; the user is the session's sasl identity")
        .add(zk_max_packet_bytes, "zk-max-packet-bytes", "largest ZooKeeper-protocol packet accepted (default 1048575, ZooKeeper's jute.maxbuffer)")
        .add(four_letter_words, "four-letter-words", "four-letter words answered on the ZooKeeper port, comma-separated, or * for all (default srvr, as ZooKeeper's 4lw.commands.whitelist)")
        .add(data_dir, "data-dir", "directory for the server's data (default ./data)")
        .add(tick_ms, "tick-ms", "basic time unit in ms; session timeouts are 2..20 ticks (default 2000)")
        .add(min_session_timeout_ms, "min-session-timeout-ms", "lowest negotiated session timeout (default 2 ticks)")
        .add(max_session_timeout_ms, "max-session-timeout-ms", "highest negotiated session timeout (default 20 ticks)")
        .add(max_data_bytes, "max-data-bytes", "largest znode data accepted, bytes (default 1048576)")
        .add(super_digest, "super-digest", "superuser as user:base64(sha1(user:password)); empty: none")
        .add(ttl_nodes, "ttl-nodes", "allow TTL nodes (default false, as in ZooKeeper)")
        .add(container_nodes, "container-nodes", "allow container nodes (default true)")
        .add(container_check_interval_ms, "container-check-interval-ms",
             "how often empty containers and expired TTL nodes are removed (default 60000)")
        .add(max_connections, "max-connections", "client connections accepted at once (default 10000)")
        .add(max_client_cnxns, "max-client-cnxns",
             "client connections from one address at once, as ZooKeeper's maxClientCnxns (default 60; 0: no limit)")
        .add(global_outstanding_limit, "global-outstanding-limit",
             "unanswered requests of all clients before the server stops reading until it catches up, as "
             "ZooKeeper's globalOutstandingLimit (default 1000)")
        .add(client_pause_unsent_bytes, "client-pause-unsent-bytes",
             "answers waiting to be sent to one client before the server stops reading its requests (default 4 MiB)")
        .add(client_max_unsent_bytes, "client-max-unsent-bytes",
             "answers and events waiting to be sent to one client before it is dropped (default 64 MiB)")
        .add(log_level, "log-level", "debug, info, warn, error or off (default info)")
        .add(log_file, "log-file", "append the log to this file instead of stderr")
        .add(ready_file, "ready-file", "once listening, write the port to this file (for scripts and tests)")
        .add(snap_count, "snap-count", "txns between snapshots (default 100000)")
        .add(snap_retain, "snap-retain", "snapshots kept, with the log they need (default 3)")
        .add(purge_interval_ms, "purge-interval-ms", "how often old snapshots and log segments are removed (default 3600000; they also go after each snapshot)")
        .add(log_segment_bytes, "log-segment-bytes", "start a new log segment beyond this size (default 64 MiB)")
        .add(log_prealloc_bytes, "log-prealloc-bytes", "grow log segments in chunks this large (default 16 MiB)")
        .add(log_max_batch_bytes, "log-max-batch-bytes",
             "most bytes one write + fsync covers (group commit; default 8 MiB; 1 = one fsync per record)")
        .add(server_id, "server-id", "this server's id in the ensemble (1..254; 0: standalone)")
        .add(ensemble, "ensemble",
             "every server: [\"1=127.0.0.1:2281:2891\", \"2=...\", \"4=host:client:quorum:observer\"] (empty: standalone)")
        .add(zab_tick_ms, "zab-tick-ms",
             "replication tick in ms: heartbeats each tick, elections after 10-20, followers lost after 10 (default 100)")
        .add(peer_secret_file, "peer-secret-file",
             "a file (chmod 600) holding a secret of 16+ bytes shared by every server; peers prove they know it "
             "(HMAC challenge-response) before they are admitted (default: none, peers admitted by address only)")
        .add(repair_log, "repair-log", "start even if the log is corrupt, cutting it at the damage (loses what follows; default false)")
        .add(unsafe_no_fsync, "unsafe-no-fsync", "UNSAFE: do not fsync the log; a crash can lose acknowledged writes (default false)");
    // Two cores are the expected machine: do not start more workers than that by default.
    set("scheduler.max-threads", 2);
  }

  // Corral's own options (CAF's --help shows only its global ones; --long-help shows CAF's too).
  std::string help() const {
    std::string out = "usage: corral-server [--config-file=PATH] [--corral.OPTION=VALUE ...]\n"
                      "Options are read from corral.conf (INI form, section [corral]) and the command line.\n\n";
    for (auto& opt : custom_options_) {
      if (opt.category() != "corral")
        continue;
      std::string name = "--corral." + std::string(opt.long_name().begin(), opt.long_name().end());
      out += "  " + name + std::string(name.size() < 40 ? 40 - name.size() : 1, ' ')
             + std::string(opt.description().begin(), opt.description().end()) + "\n";
    }
    out += "\nCAF's own options (scheduler, middleman, ...): corral-server --long-help\n";
    return out;
  }
};

corral::server::server_options to_options(const server_config& cfg) {
  corral::server::server_options o;
  o.host = cfg.host;
  o.port = cfg.port;
  o.zk_port = cfg.zk_port;
  o.secure_zk_port = cfg.secure_zk_port;
  o.secure_port = cfg.secure_port;
  o.zk_max_packet_bytes = cfg.zk_max_packet_bytes;
  o.four_letter_words = cfg.four_letter_words;
  o.data_dir = cfg.data_dir;
  o.max_connections = cfg.max_connections;
  o.max_client_cnxns = cfg.max_client_cnxns;
  o.global_outstanding_limit = cfg.global_outstanding_limit;
  o.client_pause_unsent_bytes = cfg.client_pause_unsent_bytes;
  o.client_max_unsent_bytes = cfg.client_max_unsent_bytes;
  o.db.tick_ms = cfg.tick_ms;
  o.db.min_session_timeout_ms = cfg.min_session_timeout_ms;
  o.db.max_session_timeout_ms = cfg.max_session_timeout_ms;
  o.db.max_data_bytes = cfg.max_data_bytes;
  o.db.super_digest = cfg.super_digest;
  o.db.ttl_enabled = cfg.ttl_nodes;
  o.db.containers_enabled = cfg.container_nodes;
  o.db.container_check_ms = cfg.container_check_interval_ms;
  o.sync = !cfg.unsafe_no_fsync;
  o.repair_log = cfg.repair_log;
  o.snap_count = cfg.snap_count;
  o.snap_retain = cfg.snap_retain;
  o.purge_interval_ms = cfg.purge_interval_ms;
  o.log_segment_bytes = cfg.log_segment_bytes;
  o.log_prealloc_bytes = cfg.log_prealloc_bytes;
  o.log_max_batch_bytes = cfg.log_max_batch_bytes;
  o.server_id = cfg.server_id;
  o.zab_tick_ms = cfg.zab_tick_ms;
  o.peer_max_unsent_bytes = cfg.peer_max_unsent_bytes;
  for (auto& text : cfg.ensemble) {
    corral::server::server_options::member m;
    std::string why;
    if (corral::server::parse_member(text, m, why))
      o.ensemble.push_back(m);
  }
  // In an ensemble, session ids carry the server id in their top byte, and the client port is the
  // one the ensemble names for this server.
  o.db.server_id = cfg.server_id;
  for (auto& m : o.ensemble)
    if (m.id == cfg.server_id) {
      o.host = m.host;
      o.port = m.client_port;
    }
  return o;
}

// Checks what the options cannot express as types; returns a message or "".
std::string check(const server_config& cfg) {
  if (cfg.tick_ms < 1 || cfg.tick_ms > 60000)
    return "corral.tick-ms must be between 1 and 60000";
  if (cfg.max_data_bytes < 0 || cfg.max_data_bytes > 64 * 1024 * 1024)
    return "corral.max-data-bytes must be between 0 and 67108864";
  if (cfg.max_session_timeout_ms != 0 && cfg.max_session_timeout_ms < cfg.min_session_timeout_ms)
    return "corral.max-session-timeout-ms is below corral.min-session-timeout-ms";
  if (cfg.log_prealloc_bytes < 4096 || cfg.log_segment_bytes < 4096)
    return "corral.log-prealloc-bytes and corral.log-segment-bytes must be at least 4096";
  if (!cfg.ensemble.empty()) {
    bool me = false;
    std::set<int64_t> ids;
    for (auto& text : cfg.ensemble) {
      corral::server::server_options::member m;
      std::string why;
      if (!corral::server::parse_member(text, m, why))
        return "corral.ensemble: " + why;
      if (!ids.insert(m.id).second)
        return "corral.ensemble names server " + std::to_string(m.id) + " twice";
      me = me || m.id == cfg.server_id;
    }
    if (!me)
      return "corral.server-id " + std::to_string(cfg.server_id) + " is not in corral.ensemble";
    if (cfg.zab_tick_ms < 5 || cfg.zab_tick_ms > 10000)
      return "corral.zab-tick-ms must be between 5 and 10000";
  }
  if (cfg.global_outstanding_limit < 1)
    return "corral.global-outstanding-limit must be at least 1";
  if (cfg.client_pause_unsent_bytes < 64 * 1024 || cfg.client_max_unsent_bytes <= cfg.client_pause_unsent_bytes)
    return "corral.client-pause-unsent-bytes must be at least 65536 and below corral.client-max-unsent-bytes";
  if (cfg.snap_count < 1)
    return "corral.snap-count must be at least 1";
  if (cfg.snap_retain < 1)
    return "corral.snap-retain must be at least 1";
  if (!cfg.super_digest.empty() && cfg.super_digest.find(':') == std::string::npos)
    return "corral.super-digest must look like user:base64hash";
  return "";
}

// The secure ports' TLS context, from the corral.tls-* options; a clear error if a file is missing,
// unreadable, exposed or does not fit.
corral::result<std::shared_ptr<corral::security::tls_context>> make_tls(const server_config& cfg) {
  using corral::security::client_auth;
  if (cfg.tls_cert_file.empty() || cfg.tls_key_file.empty())
    return corral::error_info{corral::error_code::bad_arguments,
                              "corral.secure-zk-port and corral.secure-port need corral.tls-cert-file and "
                              "corral.tls-key-file"};
  client_auth auth;
  if (cfg.tls_client_auth == "need")
    auth = client_auth::need;
  else if (cfg.tls_client_auth == "want")
    auth = client_auth::want;
  else if (cfg.tls_client_auth == "none")
    auth = client_auth::none;
  else
    return corral::error_info{corral::error_code::bad_arguments,
                              "corral.tls-client-auth must be need, want or none, not '" + cfg.tls_client_auth + "'"};
  return corral::security::tls_context::server({cfg.tls_cert_file, cfg.tls_key_file, cfg.tls_ca_file}, auth);
}

// Everything the security options name, read and checked into `opts`: the peers' shared secret,
// the secure ports' and the quorum's TLS contexts, the SASL users.
corral::result<bool> load_security(const server_config& cfg, corral::server::server_options& opts) {
  namespace sec = corral::security;
  if (!cfg.peer_secret_file.empty()) {
    auto secret = sec::read_secret_file(cfg.peer_secret_file, "corral.peer-secret-file");
    if (!secret)
      return secret.error();
    opts.peer_secret = std::move(*secret);
  }
  if (cfg.secure_zk_port >= 0 || cfg.secure_port >= 0) {
    auto ctx = make_tls(cfg);
    if (!ctx)
      return ctx.error();
    opts.tls = std::move(*ctx);
  }
  if (!cfg.sasl_jaas_file.empty()) {
    auto users = sec::read_jaas_server_users(cfg.sasl_jaas_file);
    if (!users)
      return users.error();
    opts.db.sasl = sec::digest_md5_factory(std::make_shared<sec::sasl_users>(std::move(*users)));
  }
  if (cfg.quorum_tls) {
    sec::tls_files files{cfg.tls_cert_file, cfg.tls_key_file, cfg.tls_ca_file};
    if (files.cert.empty() || files.key.empty() || files.ca.empty())
      return corral::error_info{corral::error_code::bad_arguments,
                                "corral.quorum-tls needs corral.tls-cert-file, corral.tls-key-file and corral.tls-ca-file"};
    auto server = sec::tls_context::server(files, sec::client_auth::need);
    if (!server)
      return server.error();
    auto client = sec::tls_context::client(files);
    if (!client)
      return client.error();
    opts.quorum_tls_server = *server;
    opts.quorum_tls_client = *client;
  }
  return true;
}

int run(caf::actor_system& sys, const server_config& cfg, corral::server::server_options opts, sigset_t& signals) {
  boost::system::error_code ec;
  boost::filesystem::create_directories(opts.data_dir, ec);
  if (ec) {
    corral::log::error("server", "cannot create data directory ", opts.data_dir, ": ", ec.message(),
                       "; choose another with --corral.data-dir");
    return 1;
  }
  auto srv = corral::server::start(sys, opts);
  if (!srv)
    return 1; // start() logged why
  if (!cfg.ready_file.empty()) {
    // The native port, the ZooKeeper port, the secure ZooKeeper port, the secure native port (-1: off).
    std::ofstream(cfg.ready_file + ".tmp") << srv->port << "\n" << srv->zk_port << "\n" << srv->secure_zk_port
                                           << "\n" << srv->secure_port << "\n";
    boost::filesystem::rename(cfg.ready_file + ".tmp", cfg.ready_file, ec);
  }
  int sig = 0;
  sigwait(&signals, &sig);
  corral::log::info("server", "received ", strsignal(sig), ", shutting down");
  corral::server::stop(sys, *srv);
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  // Block the stop signals in every thread (CAF's threads inherit this mask); main waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  // A file-size limit must fail the write (EFBIG, handled like a full disk), not kill the server.
  std::signal(SIGXFSZ, SIG_IGN);
  std::signal(SIGPIPE, SIG_IGN);
  server_config cfg;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h" || a == "-?") {
      std::cout << cfg.help();
      return 0;
    }
  }
  if (auto err = cfg.parse(argc, argv, "corral.conf")) {
    std::cerr << "corral-server: bad option: " << caf::actor_system_config::render(err)
              << " (see corral-server --help)\n";
    return 2;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  if (auto msg = check(cfg); !msg.empty()) {
    std::cerr << "corral-server: " << msg << "\n";
    return 2;
  }
  // Secrets, keys and certificates are read before anything starts: a missing or exposed file stops
  // the server here.
  auto opts = to_options(cfg);
  if (auto ok = load_security(cfg, opts); !ok) {
    std::cerr << "corral-server: " << ok.error().detail << "\n";
    return 2;
  }
  if (!corral::log::set_level(cfg.log_level)) {
    std::cerr << "corral-server: unknown log level '" << cfg.log_level << "'\n";
    return 2;
  }
  if (!cfg.log_file.empty())
    corral::log::set_file(cfg.log_file);
  cfg.load<caf::io::middleman>();
  int rc;
  {
    caf::actor_system sys{cfg};
    corral::log::info("server", "corral-server starting (data dir ", cfg.data_dir, ", tick ", cfg.tick_ms, " ms)");
    rc = run(sys, cfg, std::move(opts), signals);
  }
  corral::log::info("server", "stopped");
  return rc;
}
