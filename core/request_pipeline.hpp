// The server's request ordering in plain C++: which request waits for which, where each one goes
// (answered here, written here, forwarded to the leader) and what every applied txn answers.
//
// The state_machine actor (actors/server) owns one and is its only caller in the server; unit tests
// drive it directly (tests/unit/request_pipeline_test.cpp). The caller passes in what happened
// (a request, a connect, txns sent to the log, a commit point, a role change, a reply from the
// leader, a failed log) and then carries out the returned effects in order: sending to sessions, to
// the log or the ZAB core, to the leader. Deterministic: no clock, no I/O, no threads.
//
// Rules it keeps (ZooKeeper's):
//  - A session's requests are answered in the order they arrived. A read is answered at once unless
//    the session has something in flight (a write, a sync, a forwarded write); then it waits behind it.
//  - A txn's watch events come before the response that reflects it (effects are in that order).
//  - Nothing is answered before its txn is durable (standalone) or committed (ensemble).
//  - Only a serving server answers. When it stops serving, every queued request ends with
//    ConnectionLoss (its outcome is unknown) and every client connection closes; a queue never holds
//    an item whose txn may never be applied here.
//  - A server cut off from its quorum may serve read-only sessions of its own (mode read_only): it
//    answers reads and refuses writes; its sessions end when it leaves that mode.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "core/database.hpp"

namespace corral {

using shared_txn = std::shared_ptr<const txn>;

// What the pipeline asks its caller to do, in order.
namespace effect {
struct respond { // send a response to the session's client (dropped if the session has no actor here)
  session_id session = 0;
  response resp;
};
struct notify { // send a watch event to the session's client
  session_id session = 0;
  watch_event event;
};
struct close_session { // the client closed the session: end its actor
  session_id session = 0;
};
struct expire_session { // the session expired: tell its client, end its actor
  session_id session = 0;
};
struct submit { // standalone: append to the log; leader: propose (either way it comes back in logged())
  shared_txn txn;
};
struct forward_write { // learner: send the write to the leader with the session's identities
  session_id session = 0;
  request req;
  auth_list auth;
};
struct forward_sync { // learner: ask the leader for its commit point; the reply goes to sync_reply()
  uint64_t token = 0;
};
struct forward_open { // learner: ask the leader to create this session
  session_id session = 0;
  int32_t timeout_ms = 0;
  std::string password;
};
struct opened { // a connect succeeded (a new session, or one resumed here): answer the client
  uint64_t ticket = 0;
  session_id session = 0;
  int32_t timeout_ms = 0;
  std::string password;
  zxid_t last_zxid = 0;
  bool read_only = false; // a read-only session (the ConnectResponse says so)
};
struct refused { // a connect failed: answer the client with the error
  uint64_t ticket = 0;
  error_code err = error_code::ok;
  std::string detail;
  zxid_t last_zxid = 0;
};
struct disconnect_all {}; // this server stopped serving: close every client connection, keep the sessions
struct note {             // a line for the operator's log
  bool warning = false;
  std::string text;
};
} // namespace effect

using pipeline_effect = std::variant<effect::respond, effect::notify, effect::close_session, effect::expire_session,
                                     effect::submit, effect::forward_write, effect::forward_sync, effect::forward_open,
                                     effect::opened, effect::refused, effect::disconnect_all, effect::note>;
using pipeline_effects = std::vector<pipeline_effect>;

// A client's connect, as the pipeline needs it.
struct open_request {
  session_id session = 0; // 0: a new session
  std::string password;   // to resume
  int32_t timeout_ms = 0;
  zxid_t last_zxid_seen = 0;
  std::string peer;         // the client's address (its ip identity for ACLs)
  std::string subject;      // its TLS certificate subject ("" : none)
  std::string new_password; // for a new session: the caller's random password
  bool read_only = false;   // the client accepts a read-only session (its ConnectRequest's flag)
};

class request_pipeline {
public:
  enum class mode {
    standalone,  // writes go to this server's log; it answers everything
    leading,     // an ensemble's serving leader: writes are proposed here
    following,   // a serving follower or observer: writes and syncs go to the leader
    not_serving, // an ensemble server in an election or a sync: refuses everything
    // An ensemble server that has looked for a quorum for a while (ZooKeeper's read-only mode):
    // answers reads from its tree to clients that allow read-only sessions, with sessions of its own
    // (database's local sessions); refuses writes and syncs with NotReadOnly. Leaving it ends those
    // sessions and closes their connections: their clients reconnect to a server with a quorum.
    read_only,
  };

  request_pipeline(std::shared_ptr<database> db, mode m);

  database& db() { return *db_; }
  const std::shared_ptr<database>& db_ptr() const { return db_; }
  mode current_mode() const { return mode_; }
  bool serving() const { return mode_ != mode::not_serving; }

  // A client's request on session `s`.
  void handle(session_id s, request r, int64_t now_ms, pipeline_effects& out);
  // A client's connect; answered now or later by an `opened` or `refused` effect with this ticket.
  void open(uint64_t ticket, const open_request& req, int64_t now_ms, pipeline_effects& out);

  // `t` went to the log (standalone) or was accepted for it (ensemble), in zxid order.
  void logged(shared_txn t);
  // The txns logged up to `upto` are durable (standalone) or committed (ensemble): apply them in
  // zxid order and answer them. Returns how many were applied.
  size_t commit(zxid_t upto, pipeline_effects& out);
  // Standalone: the log could not write what it was given. Every txn not yet durable fails (nothing
  // changed), and what waited behind it is answered.
  void log_failed(const std::string& reason, int64_t now_ms, pipeline_effects& out);
  // Ensemble: the log was cut back to `after` (the txns after it were never committed).
  void truncate(zxid_t after, pipeline_effects& out);
  // Ensemble: the leader's snapshot replaced the tree; nothing logged before it will be applied.
  void replace_database(std::shared_ptr<database> db, pipeline_effects& out);

  // Ensemble role changes. `epoch_base` is the new epoch's first zxid when becoming the leader.
  void become(mode m, zxid_t epoch_base, int64_t now_ms, pipeline_effects& out);

  // The leader's side of a learner's traffic.
  void forwarded_write(session_id s, const request& r, const auth_list& auth, int64_t now_ms, pipeline_effects& out);
  void forwarded_open(session_id s, int32_t timeout_ms, const std::string& password, int64_t now_ms,
                      pipeline_effects& out);
  void touches(const std::vector<session_id>& sessions, int64_t now_ms);
  // A session that answered reads without this pipeline is alive (as if a request had come): on a
  // learner the leader hears of it with the other touched sessions.
  void touch(session_id s, int64_t now_ms);
  // The learner's side: the leader answered the sync with this token.
  void sync_reply(uint64_t token, pipeline_effects& out);
  // Learner: the sessions that sent requests since the last call (the leader keeps them alive).
  std::vector<session_id> take_touched();

  // Ensemble: where a reconfig learns the membership (the ZAB core's view); unset, a reconfig is
  // answered as a standalone server answers it.
  void set_membership_view(std::function<membership_view()> view) { membership_view_ = std::move(view); }

  // Periodic: the leader (or a standalone server) expires sessions and collects containers and TTLs.
  void timers(int64_t now_ms, pipeline_effects& out);

  // For tests and stats.
  size_t queued(session_id s) const;
  size_t in_flight() const { return in_flight_.size(); }

private:
  // What a session's later requests wait behind, in arrival order.
  struct local_write { // prepared here; answered when the txn with this zxid is applied
    zxid_t zxid = 0;
    int32_t xid = 0;
  };
  struct remote_write { // forwarded to the leader; answered when its txn (this session, this xid) is applied
    int32_t xid = 0;
  };
  struct pending_sync { // answered when the leader's reply with this token arrives
    uint64_t token = 0;
    request req;
  };
  struct pending_read {
    request req;
  };
  using queued_item = std::variant<local_write, remote_write, pending_sync, pending_read>;
  struct pending_open {
    uint64_t ticket = 0;
    std::string peer;
    std::string subject;
  };

  void answer_read(session_id s, const request& r, pipeline_effects& out);
  void handle_read_only(session_id s, const request& r, pipeline_effects& out);
  void open_read_only(uint64_t ticket, const open_request& req, int64_t now_ms, pipeline_effects& out);
  void resume(uint64_t ticket, const open_request& req, int64_t now_ms, pipeline_effects& out);
  void end_read_only_sessions(pipeline_effects& out);
  void drain(session_id s, pipeline_effects& out);
  bool pop_client_write(const txn& t);
  void apply_one(const txn& t, pipeline_effects& out);
  void session_opened(const txn& t, pipeline_effects& out);
  void submit(txn t, pipeline_effects& out);
  txn prepare(session_id s, const request& r, int64_t now_ms);
  void fail_all(const std::string& why, pipeline_effects& out);
  static void deliver(outcome& o, bool respond, pipeline_effects& out);

  std::shared_ptr<database> db_;
  mode mode_;
  std::deque<shared_txn> in_flight_; // logged and not yet applied, in zxid order
  std::unordered_map<session_id, std::deque<queued_item>> waiting_;
  std::unordered_map<zxid_t, pending_open> opening_;               // new sessions prepared here, by zxid
  std::unordered_map<session_id, pending_open> opening_forwarded_; // learner: asked of the leader, by session
  std::unordered_set<session_id> expiring_;                        // close txns in flight that are expiries
  std::unordered_set<session_id> touched_;                         // learner: active since the last report
  uint64_t next_token_ = 1;
  std::function<membership_view()> membership_view_;
};

const char* mode_name(request_pipeline::mode m);

} // namespace corral
