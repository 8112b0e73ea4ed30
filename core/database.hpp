// The server's state machine in plain C++: the tree, the session table and the watch table, plus the
// request processor that turns requests into txns. Deterministic: the caller passes in the time and
// does all I/O. Used by the state_machine actor (one thread at a time) and by unit tests directly.
//
// Writes take two steps, as in ZooKeeper: prepare() validates a request against the tree plus the
// changes of txns prepared but not yet applied (so proposals can be pipelined) and assigns the zxid;
// apply() changes the tree and reports the response and the watch events. Failed writes become error
// txns with a zxid of their own, as ZooKeeper does.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/data_tree.hpp"
#include "core/sasl.hpp"
#include "core/session_table.hpp"
#include "core/txn.hpp"
#include "core/types.hpp"
#include "core/watch_table.hpp"

namespace corral {

struct database_options {
  int64_t tick_ms = 2000;
  int32_t min_session_timeout_ms = 0; // 0: 2 ticks
  int32_t max_session_timeout_ms = 0; // 0: 20 ticks
  int32_t max_data_bytes = 1024 * 1024;
  bool ttl_enabled = false;
  bool containers_enabled = true;
  // Hard quotas (setquota -N / -B) refuse writes that would pass them with QuotaExceeded, as
  // ZooKeeper does with zookeeper.enforceQuota=true (its default is false: a limit nobody enforces).
  bool enforce_quota = true;
  int64_t container_check_ms = 60000;
  std::string super_digest;    // "super:base64hash"; empty: no superuser
  int64_t server_id = 0;       // top byte of session ids
  sasl_server_factory sasl;    // SASL (ZooKeeper's op 102); empty: refused with AuthFailed
  std::string starting_config; // an ensemble's starting membership as text (data_tree::set_starting_config)
};

using delivery = watch_table::delivery;

// What an ensemble's leader knows about its membership when it prepares a reconfig (from its ZAB
// core): the active membership, the one pending if a reconfig has not committed, and whether a
// quorum of a membership's voters follows it. Absent (a null pointer): a standalone server.
struct membership_view {
  bool enabled = true; // corral.reconfig-enabled
  membership active;
  std::optional<membership> pending;
  std::function<bool(const membership&)> quorum_synced;
};

// What one request or txn produced: the answer for its session and the events for every session.
struct outcome {
  session_id session = 0;
  response resp;
  std::vector<delivery> events;
  bool ends_session = false; // close or expiry: the session is gone after this
};

// The watch a read asks for, when the caller adds it itself (database::read_shared).
struct watch_wish {
  std::string path;
  bool child = false; // getChildren's; else getData's or exists'
};

// A session as a snapshot stores it.
struct session_image {
  session_id id = 0;
  int32_t timeout_ms = 0;
  std::string password;
};

class database {
public:
  explicit database(database_options opts, int64_t now_ms = 0);

  // ---- sessions -------------------------------------------------------------------------------
  int32_t negotiate_timeout(int32_t requested_ms) const;
  // Prepares the createSession txn for a new session; apply() makes it live.
  txn prepare_open_session(int32_t requested_timeout_ms, std::string password, int64_t wall_ms);
  // In an ensemble a learner picks the id (its server id is in the top byte) and the leader prepares.
  session_id new_session_id() { return next_session_++; }
  txn prepare_open_session_as(session_id id, int32_t requested_timeout_ms, std::string password, int64_t wall_ms);
  // A forwarded request carries its session's identities: the leader prepares with them.
  void set_auth(session_id id, auth_list auth);
  // In an ensemble a new leader's txns are numbered from its epoch's base (epoch << 32): every txn it
  // prepares is proposed at once and in order, so the database's numbering and ZAB's agree.
  void start_epoch(zxid_t base) {
    pending_.clear();
    pending_order_.clear();
    next_zxid_ = base;
  }
  // Ok if `id` is live and `password` matches; SessionExpired otherwise.
  error_code check_resume(session_id id, const std::string& password) const;
  // Keeps the session alive; false if it is unknown or being closed.
  bool touch(session_id id, int64_t now_ms) { return sessions_.touch(id, now_ms); }
  // The session's connection went away: its watches go (the client re-arms them on reconnect).
  void connection_lost(session_id id) {
    watches_.remove_session(id);
    sasl_.erase(id); // a SASL exchange belongs to its connection
  }
  void set_client_address(session_id id, const std::string& ip);
  // The identity a client proves on its connection with a TLS certificate ("x509" scheme, the
  // subject in RFC 2253 form); replaces the previous connection's; "" removes it.
  void set_certificate_subject(session_id id, const std::string& subject);
  const session_table& sessions() const { return sessions_; }

  // ---- read-only sessions -------------------------------------------------------------------
  // A server cut off from its quorum serves read-only clients with sessions of its own (ZooKeeper's
  // local sessions): made here without a txn, never in a snapshot, never expired by a leader, and
  // ended all at once when the server leaves read-only mode (request_pipeline's read_only).
  session_id open_local_session(int32_t requested_timeout_ms, std::string password, int64_t now_ms);
  bool is_local_session(session_id id) const { return local_sessions_.count(id) > 0; }
  void end_local_session(session_id id);
  // The local sessions not touched within their timeout by `now_ms`, ended.
  std::vector<session_id> expire_local_sessions(int64_t now_ms);
  std::vector<session_id> local_sessions() const { return {local_sessions_.begin(), local_sessions_.end()}; }

  // ---- requests -------------------------------------------------------------------------------
  // Reads and session-local requests (auth, watches, ping): answered at once.
  outcome read(session_id s, const request& r);
  // Reads that may be answered from several threads at once, beside the thread that changes the
  // database (the server's session actors do, actors/server/shared_reads.hpp): getData, exists,
  // getChildren(2), getACL and getAllChildrenNumber. True if `r` is one of them.
  static bool is_shared_read(const request_body& r);
  // Answers such a read and changes nothing, so that callers may run it in parallel while nothing
  // else changes the database (their lock's job). The watch it sets, if any, is returned in `wish`
  // for the caller to add with add_watch() under a lock of its own, before anything changes the
  // tree. The session's identities are read from the session table.
  outcome read_shared(session_id s, const request& r, std::optional<watch_wish>& wish);
  void add_watch(session_id s, const watch_wish& w) {
    if (w.child)
      watches_.add_child(w.path, s);
    else
      watches_.add_data(w.path, s);
  }
  // Writes: the txn to log and apply. Always a txn: a failed write is an error txn. A reconfig
  // needs the leader's `view` (null: a standalone server, answered ReconfigDisabled).
  txn prepare(session_id s, const request& r, int64_t wall_ms, const membership_view* view = nullptr);
  // Applies a txn in zxid order; for the session that sent it, the response to request `xid`.
  outcome apply(const txn& t, int32_t xid = 0);

  // Convenience for a standalone server and tests: prepare + apply, or read.
  outcome handle(session_id s, const request& r, int64_t wall_ms);

  // ---- time -----------------------------------------------------------------------------------
  // Close txns for sessions that expired by `now_ms`.
  std::vector<txn> expire_sessions(int64_t now_ms, int64_t wall_ms);
  // Delete txns for empty containers and expired TTL nodes.
  std::vector<txn> collect_garbage(int64_t wall_ms);

  // Soft quota limits passed by writes prepared since the last call, one line each, for the log.
  std::vector<std::string> take_quota_warnings() { return std::exchange(quota_warnings_, {}); }

  // ---- durability --------------------------------------------------------------------------
  // The txns prepared since the last apply will never be applied (their log write failed): forget
  // their changes and reuse their zxids.
  void abandon_prepared(int64_t now_ms);
  std::vector<session_image> session_images() const;
  // Recovery: sessions and nodes from a snapshot, then `restored(zxid)`, then apply() of the log's txns.
  void restore_session(const session_image& s);
  void restore_node(const node_image& n) { tree_.restore(n); }
  void restored(zxid_t last_zxid);
  // After recovery: every session gets a full timeout from now.
  void refresh_sessions(int64_t now_ms) { sessions_.refresh_all(now_ms); }

  const data_tree& tree() const { return tree_; }
  const watch_table& watches() const { return watches_; }
  zxid_t last_applied() const { return last_applied_; }
  zxid_t last_prepared() const { return next_zxid_; }
  const database_options& options() const { return opts_; }

private:
  friend class read_ops; // database.cpp: one function per read request
  // What the processor knows about a path: the tree's node, changed by txns not yet applied.
  struct record {
    bool exists = false;
    int32_t version = 0;
    int32_t cversion = 0; // creates so far: the next sequential number
    int32_t aversion = 0;
    int64_t ephemeral_owner = 0;
    int32_t child_count = 0;
    std::shared_ptr<const acl_list> acl; // shared with the tree's ACL table or other records: never copied
    zxid_t zxid = 0;                     // the txn that made this record; 0: read from the tree
    uint32_t refs = 0;                   // entries of pending_order_ naming it (pending_ only)
  };
  using saved_records = std::vector<std::pair<std::string, std::optional<record>>>;

  record lookup(const std::string& path) const;
  void put(const std::string& path, record rec, saved_records* undo);
  void unput(const std::string& path, const std::optional<record>& before);
  result<txn_op> prepare_op(session_id s, const multi_op& op, zxid_t zxid, saved_records* undo);
  result<txn_op> prepare_create(session_id s, const create_request& c, zxid_t zxid, saved_records* undo);
  result<txn_op> prepare_delete(session_id s, const delete_request& d, zxid_t zxid, saved_records* undo);
  result<txn_op> prepare_set_data(session_id s, const set_data_request& r, zxid_t zxid, saved_records* undo);
  result<txn_op> prepare_set_acl(session_id s, const set_acl_request& r, zxid_t zxid, saved_records* undo);
  error_info check_quota(const std::string& path, int64_t count, int64_t bytes);
  result<txn_op> prepare_check(session_id s, const check_request& r);
  txn_body prepare_multi(session_id s, const multi_request& m, zxid_t zxid);
  txn_body prepare_close(session_id s, zxid_t zxid);
  txn_body prepare_reconfig(session_id s, const reconfig_request& r, const membership_view* view, zxid_t zxid);
  void forget_records(zxid_t applied);

  const auth_list& auth_of(session_id s) const;
  bool permitted(session_id s, const acl_list& acl, int32_t perm) const;
  outcome read_op_result(session_id s, const read_op& op);
  void add_auth(session_id s, const auth_request& a, outcome& out);
  void sasl_step(session_id s, const sasl_request& a, outcome& out);
  void set_connection_identity(session_id id, const std::string& scheme, const std::string& value);
  void deliver_triggers(const apply_result& r, zxid_t zxid, outcome& out);
  txn make_txn(session_id s, int64_t wall_ms, txn_body body);

  database_options opts_;
  data_tree tree_;
  session_table sessions_;
  watch_table watches_;
  std::unordered_map<session_id, std::unique_ptr<sasl_server>> sasl_; // exchanges under way
  // What txns prepared and not yet applied did to each path, and which path each put changed, in
  // order: forget_records drops a record once every txn that put it is applied. The order names
  // the map's element (elements stay put when the map rehashes), not a copy of its path.
  using pending_map = std::unordered_map<std::string, record>;
  pending_map pending_;
  std::deque<std::pair<zxid_t, pending_map::value_type*>> pending_order_;
  zxid_t next_zxid_ = 0;
  std::vector<std::string> quota_warnings_;
  zxid_t last_applied_ = 0;
  session_id next_session_ = 0;
  std::set<session_id> local_sessions_; // read-only sessions (a subset of sessions_)
  int64_t last_container_check_ = 0;
};

} // namespace corral
