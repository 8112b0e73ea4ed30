// corral-server: a standalone Corral server. Options come from a CAF config file in INI form
// (corral.conf in the working directory, or --config-file=PATH) and the command line
// (--corral.port=2281 ...), which overrides the file. --help lists every option with its default.
#include <malloc.h>

#include <csignal>
#include <cstring>
#include <set>
#include <fstream>
#include <iostream>

#include <boost/filesystem.hpp>
#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/logging.hpp"
#include "actors/scheduler.hpp"
#include "actors/server/server.hpp"
#include "security/sasl_digest.hpp"
#include "security/secret_file.hpp"

namespace {

// "64 MiB" for whole MiB, else the number of bytes.
std::string bytes_text(uint64_t n) {
  if (n >= (1u << 20) && n % (1u << 20) == 0)
    return std::to_string(n >> 20) + " MiB";
  return std::to_string(n);
}

struct server_config : caf::actor_system_config {
  // Every option with a default is bound to a field of `opts` (or of its parts: the database's,
  // the log's, the snapshots', the flow limits'), whose initializers are the one place defaults are
  // written; --help prints them from there.
  corral::server::server_options opts;
  // Options that are read here and turned into something else.
  std::string tls_cert_file, tls_key_file, tls_ca_file;
  std::string tls_client_auth = "need";
  bool quorum_tls = false;
  std::string sasl_jaas_file;
  std::string log_level = "info";
  std::string log_file;
  std::string ready_file;
  bool unsafe_no_fsync = false;
  std::vector<std::string> ensemble;
  std::string peer_secret_file;

  // Adds an option whose help ends with its default, taken from the field it is bound to.
  struct adder {
    caf::config_option_adder group;
    template <class T>
    adder& add(T& field, const char* name, const std::string& what, bool bytes = false) {
      std::string def;
      if constexpr (std::is_same_v<T, bool>)
        def = field ? "true" : "false";
      else if constexpr (std::is_same_v<T, std::string>)
        def = field.empty() ? "none" : field;
      else if constexpr (std::is_same_v<T, std::vector<std::string>>)
        def = field.empty() ? "none" : std::to_string(field.size()) + " entries";
      else
        def = bytes ? bytes_text(static_cast<uint64_t>(field)) : std::to_string(field);
      auto text = what + " (default " + def + ")"; // the option copies both strings
      group.add(field, caf::string_view{name, std::strlen(name)}, caf::string_view{text.data(), text.size()});
      return *this;
    }
  };

  server_config() {
    auto& db = opts.db;
    auto& flow = opts.flow;
    adder{caf::config_option_adder{custom_options_, "corral"}}
        .add(opts.host, "host", "address to listen on")
        .add(opts.port, "port", "native-protocol client port; 0 picks a free one")
        .add(opts.zk_port, "zk-port",
             "ZooKeeper-protocol client port, for ZooKeeper's own clients; 0 picks a free one; -1 turns it off")
        .add(opts.secure_zk_port, "secure-zk-port",
             "ZooKeeper-protocol port over TLS, as ZooKeeper's secureClientPort; -1: off; 0 picks a free one")
        .add(opts.secure_port, "secure-port", "native-protocol port over TLS; -1: off; 0 picks a free one")
        .add(tls_cert_file, "tls-cert-file", "PEM certificate (chain) the secure ports present")
        .add(tls_key_file, "tls-key-file", "PEM private key of that certificate (chmod 600)")
        .add(tls_ca_file, "tls-ca-file", "PEM CA certificates that client certificates must chain to")
        .add(tls_client_auth, "tls-client-auth",
             "client certificates on the secure ports: need, want (verified if presented) or none, as "
             "ZooKeeper's ssl.clientAuth; a verified certificate's subject is the client's x509 identity")
        .add(quorum_tls, "quorum-tls",
             "mutual TLS between the servers of an ensemble, as ZooKeeper's sslQuorum, with the corral.tls-* "
             "files: each server's certificate must chain to corral.tls-ca-file and name its corral.ensemble address")
        .add(opts.peer_max_unsent_bytes, "peer-max-unsent-bytes",
             "bytes waiting for a slow follower or observer before the leader drops it and it resyncs", true)
        .add(sasl_jaas_file, "sasl-jaas-file",
             "SASL DIGEST-MD5 for ZooKeeper's clients: a JAAS file (chmod 600) whose Server section lists "
             "user_NAME=\"password\", as ZooKeeper's DigestLoginModule; the user is the session's sasl identity")
        .add(opts.zk_max_packet_bytes, "zk-max-packet-bytes",
             "largest ZooKeeper-protocol packet accepted, as ZooKeeper's jute.maxbuffer")
        .add(opts.four_letter_words, "four-letter-words",
             "four-letter words answered on the ZooKeeper port, comma-separated, or * for all, as ZooKeeper's "
             "4lw.commands.whitelist")
        .add(opts.data_dir, "data-dir", "directory for the server's data")
        .add(db.tick_ms, "tick-ms", "basic time unit in ms; session timeouts are 2..20 ticks")
        .add(db.min_session_timeout_ms, "min-session-timeout-ms", "lowest negotiated session timeout; 0: 2 ticks")
        .add(db.max_session_timeout_ms, "max-session-timeout-ms", "highest negotiated session timeout; 0: 20 ticks")
        .add(db.max_data_bytes, "max-data-bytes", "largest znode data accepted, bytes")
        .add(db.super_digest, "super-digest", "superuser as user:base64(sha1(user:password))")
        .add(db.ttl_enabled, "ttl-nodes", "allow TTL nodes (off by default, as in ZooKeeper)")
        .add(db.containers_enabled, "container-nodes", "allow container nodes")
        .add(db.enforce_quota, "enforce-quota",
             "refuse writes past a hard quota (setquota -N/-B) with QuotaExceeded, as ZooKeeper's "
             "zookeeper.enforceQuota=true; soft quotas are only logged")
        .add(db.container_check_ms, "container-check-interval-ms",
             "how often empty containers and expired TTL nodes are removed")
        .add(flow.max_connections, "max-connections", "client connections accepted at once")
        .add(flow.max_per_address, "max-client-cnxns",
             "client connections from one address at once, as ZooKeeper's maxClientCnxns; 0: no limit")
        .add(flow.global_outstanding, "global-outstanding-limit",
             "unanswered requests of all clients before the server stops reading until it catches up, as "
             "ZooKeeper's globalOutstandingLimit")
        .add(flow.pause_unsent, "client-pause-unsent-bytes",
             "answers waiting to be sent to one client before the server stops reading its requests", true)
        .add(flow.max_unsent, "client-max-unsent-bytes",
             "answers and events waiting to be sent to one client before it is dropped", true)
        .add(flow.max_unread, "client-max-unread-bytes",
             "bytes received from one client while the server is not taking its requests (its limits, or the "
             "global one) before the server stops reading its socket",
             true)
        .add(log_level, "log-level", "debug, info, warn, error or off")
        .add(log_file, "log-file", "append the log to this file instead of stderr")
        .add(ready_file, "ready-file", "once listening, write the port to this file (for scripts and tests)")
        .add(opts.snapshots.every_txns, "snap-count",
             "txns between snapshots, at least (more for a big tree: half its znode count)")
        .add(opts.snapshots.retain, "snap-retain", "snapshots kept, with the log they need")
        .add(opts.snapshots.purge_interval_ms, "purge-interval-ms",
             "how often old snapshots and log segments are removed (they also go after each snapshot)")
        .add(opts.log.segment_bytes, "log-segment-bytes", "start a new log segment beyond this size", true)
        .add(opts.log.prealloc_bytes, "log-prealloc-bytes", "grow log segments in chunks this large", true)
        .add(opts.log.max_batch_bytes, "log-max-batch-bytes",
             "most bytes one write + fsync covers (group commit; 1 = one fsync per record)", true)
        .add(opts.server_id, "server-id", "this server's id in the ensemble (1..254; 0: standalone)")
        .add(ensemble, "ensemble",
             "every server: [\"1=127.0.0.1:2281:2891\", \"2=...\", \"4=host:client:quorum:observer;zk_port\"] "
             "(the ZooKeeper port after ';' is optional); empty: standalone")
        .add(opts.zab_tick_ms, "zab-tick-ms",
             "replication tick in ms: heartbeats each tick, elections after 10-20, followers lost after 10")
        .add(opts.reconfig_enabled, "reconfig-enabled",
             "allow reconfig (adding and removing servers live) to the superuser and to clients with write "
             "permission on /zookeeper/config (ZooKeeper's reconfigEnabled, off by default there)")
        .add(opts.read_only_mode, "read-only-mode",
             "a server that finds no quorum for 2 s serves reads to clients that allow read-only sessions "
             "(ZooKeeper's readonlymode.enabled; only such clients see it)")
        .add(opts.parallel_reads, "parallel-reads",
             "sessions answer reads themselves, on every core, beside the one writer (off: every request goes "
             "through the state machine actor)")
        .add(peer_secret_file, "peer-secret-file",
             "a file (chmod 600) holding a secret of 16+ bytes shared by every server; peers prove they know it "
             "(HMAC challenge-response) before they are admitted; none: peers admitted by address only")
        .add(opts.repair_log, "repair-log",
             "start even if the log is corrupt, cutting it at the damage (loses what follows)")
        .add(unsafe_no_fsync, "unsafe-no-fsync", "UNSAFE: do not fsync the log; a crash can lose acknowledged writes");
    corral::use_quiet_scheduler(*this); // work sharing, one worker per core (actors/scheduler.hpp)
  }

  // Corral's own options (CAF's --help shows only its global ones; --long-help shows CAF's too).
  std::string help() const {
    std::string out = "usage: corral-server [--config-file=PATH] [--corral.OPTION=VALUE ...]\n"
                      "Options are read from corral.conf (INI form, section [corral]) and the command line.\n\n";
    for (auto& opt : custom_options_) {
      if (opt.category() != "corral")
        continue;
      std::string name = "--corral." + std::string(opt.long_name().begin(), opt.long_name().end());
      out += "  " + name + std::string(name.size() < 40 ? 40 - name.size() : 1, ' ') +
             std::string(opt.description().begin(), opt.description().end()) + "\n";
    }
    out += "\nCAF's own options (scheduler, middleman, ...): corral-server --long-help\n";
    return out;
  }
};

corral::server::server_options to_options(const server_config& cfg) {
  auto o = cfg.opts;
  o.log.sync = !cfg.unsafe_no_fsync;
  for (auto& text : cfg.ensemble)
    if (auto m = corral::parse_member(text))
      o.ensemble.push_back(*m);
  // In an ensemble, session ids carry the server id in their top byte, and the client port is the
  // one the ensemble names for this server.
  o.db.server_id = o.server_id;
  // The ZooKeeper port too, if the ensemble names it (";ZK_PORT"). Only what the ensemble names goes
  // into /zookeeper/config, so that every server reads it the same.
  for (auto& m : o.ensemble)
    if (m.id == o.server_id) {
      o.host = m.host;
      o.port = m.client_port;
      if (m.zk_port > 0)
        o.zk_port = m.zk_port;
    }
  return o;
}

// Checks what the options cannot express as types; returns a message or "".
std::string check(const server_config& cfg) {
  if (cfg.opts.db.tick_ms < 1 || cfg.opts.db.tick_ms > 60000)
    return "corral.tick-ms must be between 1 and 60000";
  if (cfg.opts.db.max_data_bytes < 0 || cfg.opts.db.max_data_bytes > 64 * 1024 * 1024)
    return "corral.max-data-bytes must be between 0 and 67108864";
  if (cfg.opts.db.max_session_timeout_ms != 0 &&
      cfg.opts.db.max_session_timeout_ms < cfg.opts.db.min_session_timeout_ms)
    return "corral.max-session-timeout-ms is below corral.min-session-timeout-ms";
  if (cfg.opts.log.prealloc_bytes < 4096 || cfg.opts.log.segment_bytes < 4096)
    return "corral.log-prealloc-bytes and corral.log-segment-bytes must be at least 4096";
  if (!cfg.ensemble.empty()) {
    bool me = false;
    std::set<int64_t> ids;
    for (auto& text : cfg.ensemble) {
      auto m = corral::parse_member(text);
      if (!m)
        return "corral.ensemble: " + m.error().detail;
      if (!ids.insert(m->id).second)
        return "corral.ensemble names server " + std::to_string(m->id) + " twice";
      me = me || m->id == cfg.opts.server_id;
    }
    if (!me)
      return "corral.server-id " + std::to_string(cfg.opts.server_id) + " is not in corral.ensemble";
    if (cfg.opts.zab_tick_ms < 5 || cfg.opts.zab_tick_ms > 10000)
      return "corral.zab-tick-ms must be between 5 and 10000";
  }
  if (cfg.opts.flow.global_outstanding < 1)
    return "corral.global-outstanding-limit must be at least 1";
  if (cfg.opts.flow.pause_unsent < 64 * 1024 || cfg.opts.flow.max_unsent <= cfg.opts.flow.pause_unsent)
    return "corral.client-pause-unsent-bytes must be at least 65536 and below corral.client-max-unsent-bytes";
  if (cfg.opts.snapshots.every_txns < 1)
    return "corral.snap-count must be at least 1";
  if (cfg.opts.snapshots.retain < 1)
    return "corral.snap-retain must be at least 1";
  if (!cfg.opts.db.super_digest.empty() && cfg.opts.db.super_digest.find(':') == std::string::npos)
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
  if (cfg.opts.secure_zk_port >= 0 || cfg.opts.secure_port >= 0) {
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
      return corral::error_info{
          corral::error_code::bad_arguments,
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
    std::ofstream(cfg.ready_file + ".tmp") << srv->port << "\n"
                                           << srv->zk_port << "\n"
                                           << srv->secure_zk_port << "\n"
                                           << srv->secure_port << "\n";
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
  // glibc raises its mmap threshold each time a large block is freed, and its heap-trim threshold
  // to twice that: after a snapshot's 1 MiB write buffer, several MiB of freed memory stay resident
  // in each malloc arena. A fixed threshold keeps glibc's default trimming (100k znodes: 286-289 bytes
  // of RSS each instead of 312; setData throughput unchanged; docs/benchmarks.md).
  mallopt(M_MMAP_THRESHOLD, 4 << 20);
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
    corral::log::info("server", "corral-server starting (data dir ", cfg.opts.data_dir, ", tick ", cfg.opts.db.tick_ms,
                      " ms)");
    rc = run(sys, cfg, std::move(opts), signals);
  }
  corral::log::info("server", "stopped");
  return rc;
}
