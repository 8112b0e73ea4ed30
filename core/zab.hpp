// ZAB, ZooKeeper's atomic broadcast, as a deterministic state machine (in the manner of etcd's raft
// library): no threads, no clock, no disk, no network. The caller feeds it ticks, messages and
// confirmations that its log writes are durable; it answers with a `ready`: epochs to persist, log
// entries to append or truncate, a snapshot to install, the zxid up to which entries are committed
// (apply them), messages to send, and role changes. The actors in actors/ do the I/O; the simulation
// tests in tests/unit/zab_test.cpp drive it through lossy networks, partitions and crashes.
//
// Phases: fast leader election (votes ordered by (epoch, last zxid, server id)); discovery (the leader
// learns a quorum's accepted epochs and proposes a higher one); synchronization (each learner is
// brought level by DIFF, TRUNC or SNAP; the leader is established once a quorum acks NEWLEADER);
// broadcast (proposals pipelined, committed in zxid order once a quorum of voters has logged them).
//
// Membership changes (ZooKeeper's reconfig): a txn_reconfig entry carries the next membership. From
// the moment a server logs one until it commits, every quorum this server counts (votes, epoch
// acks, NEWLEADER acks, proposal acks, the leader's lease) must be a quorum of the active voters and
// of the next ones; once it commits, of the next ones only. One is pending at a time (the leader
// refuses a second: ReconfigInProgress). A new leader with one in its log finishes it: the log is
// committed whole when the epoch is established, by a quorum of both. A leader that is no longer a
// voter then steps down; a learner whose role changed rejoins in its new role; a removed server
// stops taking part. The caller learns of changes through ready::configs_changed.
//
// The caller's contract, for every ready, in this order:
//   1. persist accepted_epoch / current_epoch (fsync) before sending any of the ready's messages;
//   2. truncate the log to truncate_to, then install the snapshot, then append to_log;
//   3. apply committed entries up to commit_to, in zxid order;
//   4. send the messages;
//   5. when the appended entries (and any truncation or installed snapshot) are durable, call
//      logged(last zxid): acks are sent only then, and a learner adopts a new epoch only then.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "core/txn.hpp"

namespace corral::zab {

using server_id = int64_t;

struct entry {
  zxid_t zxid = 0;
  std::shared_ptr<const txn> payload;
};

using corral::epoch_of; // zxid arithmetic lives in core/types.hpp
using corral::make_zxid;

enum class role { looking, following, leading, observing };
const char* role_name(role r);

struct vote {
  server_id leader = 0;
  zxid_t zxid = 0;
  uint64_t epoch = 0; // the candidate's current epoch
  friend bool operator==(const vote& a, const vote& b) {
    return a.leader == b.leader && a.zxid == b.zxid && a.epoch == b.epoch;
  }
};
// Election order: higher epoch, then higher zxid, then higher server id.
bool better(const vote& a, const vote& b);

// ---- messages ----------------------------------------------------------------------------------
struct notification {
  vote v;
  uint64_t round = 0;
  role sender_role = role::looking;
  membership config; // the sender's active membership: a server that missed reconfigs learns it here
};
struct follower_info {
  uint64_t accepted_epoch = 0;
  zxid_t last_zxid = 0;
  bool observer = false;
  uint64_t attempt = 0; // the learner's election round: repeats of one attempt are duplicates
};
struct leader_info {
  uint64_t new_epoch = 0;
};
// The learner's log, summarised so that the leader can find where their histories part: the zxid
// its snapshot covers, and the last zxid of each epoch it holds entries of.
struct ack_epoch {
  uint64_t current_epoch = 0;
  zxid_t last_zxid = 0;
  zxid_t log_start = 0;
  std::vector<zxid_t> epoch_ends;
};
// Synchronization and NEWLEADER in one message (ZooKeeper's DIFF, TRUNC or SNAP, then NEWLEADER),
// called catch_up here so as not to be confused with the client's sync or an fsync: what to drop,
// what to install, what to log, what is committed, and the new epoch to adopt.
struct catch_up {
  enum class kind { diff, trunc, snap };
  kind how = kind::diff;
  zxid_t trunc_to = 0;
  zxid_t snap_zxid = 0;
  std::shared_ptr<const void> snapshot;
  std::vector<entry> entries;
  zxid_t commit = 0;
  uint64_t new_epoch = 0;
  membership active; // the leader's active membership (committed): the learner adopts it if newer
};
// A follower has logged everything up to zxid (cumulative).
struct ack {
  zxid_t zxid = 0;
};
// The learner has logged the catch_up and adopted its epoch (ZooKeeper acks NEWLEADER with an ACK
// of zxid (epoch, 0); a message of its own cannot be mistaken for a proposal's ack).
struct ack_newleader {
  uint64_t epoch = 0;
};
struct up_to_date {
  zxid_t commit = 0;
};
struct proposal {
  entry e;
};
struct commit {
  zxid_t zxid = 0;
};
struct inform {
  entry e; // a committed txn, for observers
};
struct ping {
  zxid_t commit = 0;
};
struct pong {};

using body = std::variant<notification, follower_info, leader_info, ack_epoch, catch_up, ack, up_to_date, proposal,
                          commit, inform, ping, pong, ack_newleader>;

struct message {
  server_id from = 0;
  server_id to = 0;
  uint64_t epoch = 0; // the leader epoch the sender works in (0 during election); stale ones are dropped
  body what;
};
const char* message_name(const body& b);

// ---- configuration and persistent state ---------------------------------------------------------
struct config {
  server_id id = 0;
  std::vector<server_id> voters; // the membership this server starts with
  std::vector<server_id> observers;
  zxid_t config_version = 0; // its version: the zxid of the reconfig that made it (0: the static one)
  // The same with the servers' addresses (the server passes this; the simulation tests use the ids
  // above). When set, voters, observers and config_version are ignored.
  std::optional<membership> initial;
  int election_timeout_ticks = 3; // looking this long: send the votes again (randomised up to 2x);
                                  // ZooKeeper's first notification timeout is 200 ms
  int init_limit_ticks = 20;      // discovery and synchronization must finish within this
  int sync_limit_ticks = 10;      // a follower silent this long is lost; a leader silent this long too
  // A leader that has not heard from a majority of voters for this many ticks steps down; kept below
  // sync_limit_ticks (see leader_lease_ticks()) so that it stops answering before its followers can
  // have elected another leader.
  int lease_margin_ticks = 3;
  // The leader pings an up-to-date learner every this many ticks (ZooKeeper: every half tickTime).
  // Each ping wakes both servers; pinging every tick made an idle ensemble cost over 1% of a core
  // per server. At most half the lease (ping_interval_ticks()), so that an answer to the last ping
  // renews it in time (the lease's safety does not depend on it: a follower's answer shows it heard
  // this leader at most that long ago, however often it is asked).
  int ping_every_ticks = 3;
  size_t history_limit = 100000; // entries the leader keeps for DIFF; older learners get SNAP
  uint64_t seed = 1;
  uint32_t max_counter = 0xfffffffeu; // the zxid counter's last value; then a new epoch (tests lower it)
};

struct persistent_state {
  uint64_t accepted_epoch = 0;
  uint64_t current_epoch = 0;
};

// What the caller must do (see the contract above).
struct ready {
  std::optional<uint64_t> accepted_epoch;
  std::optional<uint64_t> current_epoch;
  std::optional<zxid_t> truncate_to;
  std::optional<std::pair<zxid_t, std::shared_ptr<const void>>> install_snapshot;
  std::vector<entry> to_log;
  zxid_t commit_to = 0; // 0: nothing new
  std::vector<message> messages;
  std::vector<server_id> disconnect; // close these connections (stale messages on them must not arrive)
  std::optional<role> became;
  bool serving_changed = false; // serving() flipped
  // What happened in elections and role changes, one line each (who voted for whom in which round,
  // why a leader stepped down or a follower gave up on its leader): the caller logs them, and the
  // log's timestamps say how long each phase took.
  std::vector<std::string> notes;
  // The active or the pending membership changed (peer::active_config(), peer::pending_config()):
  // the caller admits and connects to the servers of both.
  bool configs_changed = false;
  bool empty() const {
    return !accepted_epoch && !current_epoch && !truncate_to && !install_snapshot && to_log.empty() && commit_to == 0 &&
           messages.empty() && disconnect.empty() && !became && !serving_changed && notes.empty() && !configs_changed;
  }
};

// The caller's state, for a leader that must send a learner a snapshot: its applied zxid and an
// opaque image of its tree at that zxid.
using snapshot_source = std::function<std::pair<zxid_t, std::shared_ptr<const void>>()>;

class peer {
public:
  // `log` holds the entries after the last snapshot (as recovery found them), `snapshot_zxid` the
  // zxid that snapshot covers; `applied` is how far the caller's state machine has applied.
  peer(config cfg, persistent_state ps, zxid_t snapshot_zxid, std::vector<entry> log, zxid_t applied,
       snapshot_source take_snapshot);

  void tick();
  void step(const message& m);
  // The connection to `other` broke (and any messages on it are lost).
  void disconnected(server_id other);
  // A connection to `other` came up: a looking server tells it its vote at once.
  void connected(server_id other);
  // The caller's log is durable up to `zxid`.
  void logged(zxid_t zxid);
  // Leader, established: assigns a zxid and starts the broadcast. Fails (0) when not leading, and at
  // the end of an epoch's 32-bit counter, where it steps down so that a new epoch begins.
  zxid_t propose(std::shared_ptr<const txn> t);
  // The zxid the next propose() will assign (leader, established).
  zxid_t next_zxid() const { return make_zxid(ps_.current_epoch, counter_ + 1); }

  ready take_ready();

  role current_role() const { return role_; }
  // True when this server may answer reads and accept writes: a leader established in its epoch, or
  // a learner that is up to date with one.
  bool serving() const { return serving_; }
  server_id leader() const { return leader_; }
  uint64_t epoch() const { return ps_.current_epoch; }
  zxid_t last_zxid() const { return last_logged_; }
  zxid_t committed() const { return commit_; }
  // Learners connected to this leader (0 unless leading).
  size_t learner_count() const { return role_ == role::leading ? learners_.size() : 0; }
  const config& cfg() const { return cfg_; }
  // A voter of the active membership or of the pending one; a member (voter or observer) of either.
  bool is_voter(server_id s) const;
  bool is_member(server_id s) const;
  // The committed membership, and the one a logged reconfig entry proposes until it commits.
  const membership& active_config() const { return active_; }
  const std::optional<membership>& pending_config() const { return pending_; }
  // Leader: whether this server and the followers synced with it are a quorum of `m`'s voters.
  // A reconfig must be proposed only then (ZooKeeper answers NewConfigNoQuorum otherwise): the new
  // voters a quorum needs must already follow, so that they know from the proposal that they vote.
  bool quorum_synced(const membership& m) const;

private:
  // Where a learner is in joining this leader; it only moves forward (a learner that starts over
  // is a new learner). Proposals go to it from catch_up_sent, its acks count from newleader_acked.
  enum class phase {
    info_seen,        // its FOLLOWERINFO arrived; the epoch is not proposed yet
    leader_info_sent, // LEADERINFO (the new epoch) sent; waiting for its ACKEPOCH
    epoch_acked,      // it acked the epoch; it gets its catch_up once a quorum has acked
    catch_up_sent,    // DIFF/TRUNC/SNAP + NEWLEADER sent; proposals and commits follow it
    newleader_acked,  // it logged the catch_up: its acks count towards commits
    up_to_date,       // UPTODATE sent: it serves clients; it gets pings
  };
  struct learner {
    role kind = role::following;
    phase at = phase::info_seen;
    uint64_t accepted_epoch = 0;
    zxid_t last_zxid = 0;
    zxid_t log_start = 0;
    std::vector<zxid_t> epoch_ends;
    int silent_ticks = 0;
    int unpinged_ticks = 0; // ticks since the last ping
    uint64_t attempt = 0;
  };

  void send(server_id to, body b);
  notification my_notification() const;
  void broadcast_votes();
  void start_election(const std::string& why);
  void note(std::string line) { ready_.notes.push_back(std::move(line)); }
  int leader_lease_ticks() const { return std::max(1, cfg_.sync_limit_ticks - cfg_.lease_margin_ticks); }
  // ping_every_ticks, but at most half the lease, so that one lost ping does not end it.
  int ping_interval_ticks() const {
    return std::clamp(cfg_.ping_every_ticks, 1, std::max(1, leader_lease_ticks() / 2));
  }
  void decide(const vote& v);
  void become(role r);
  void set_serving(bool s);
  void on_notification(server_id from, const notification& n);
  void on_follower_info(server_id from, const follower_info& fi);
  void on_ack_epoch(server_id from, const ack_epoch& ae);
  void on_ack(server_id from, const ack& a);
  void on_ack_newleader(server_id from);
  void on_leader_message(const message& m);
  void on_catch_up(const catch_up& s);
  void finish_catch_up();
  static void advance(learner& l, phase to);
  void leader_propose_epoch();
  void catch_up_learner(server_id to, learner& l);
  void leader_try_commit();
  void leader_try_establish();
  void leader_try_adopt_epoch();
  void leader_step_down(const std::string& why);
  void follower_apply_commit(zxid_t z);
  void append_log(const entry& e);
  std::vector<zxid_t> epoch_ends() const;
  zxid_t common_prefix(const learner& l) const;
  void trim_history();
  // A quorum of the active voters and, while a reconfig is pending, of the next ones too.
  bool quorum_of(const std::set<server_id>& s) const;
  // Membership changes: an entry was logged (or cut), the commit point moved past a pending one.
  void saw_entry(const entry& e);
  void recompute_pending();
  void maybe_activate();
  void activate(membership m);
  // After an input that activated a membership (never in the middle of one, so that the handler
  // that committed it does not go on in a role this server just left).
  void follow_membership();
  void on_message(const message& m);
  void on_logged(zxid_t zxid);
  std::set<server_id> members() const; // of the active and the pending membership, self excluded

  // Each field says how it lives: [persistent] is on disk (the caller persists it from the ready),
  // [grows] only grows for the life of the process, [election] resets when an election starts,
  // [epoch] resets when this server starts leading or following an epoch.
  config cfg_;                        // fixed at start (its voters and observers: the first active_)
  membership active_;                 // [grows] the committed membership (its version only grows)
  std::optional<membership> pending_; // a logged reconfig entry's membership, until it commits or is cut
  bool membership_changed_ = false;   // activate() ran: follow_membership() is due
  persistent_state ps_;               // [persistent] [grows] both epochs (checked by check_invariants)
  snapshot_source take_snapshot_;     // fixed at start
  ready ready_;                       // what the caller has not taken yet
  role role_ = role::looking;         // [election]
  bool serving_ = false;              // [election] set once established (leader) or up to date (learner)
  server_id leader_ = 0;              // [election] who this server follows or itself; 0 while looking
  uint64_t rng_;                      // election timeouts' jitter

  // Log and commit state: a mirror of the caller's log.
  std::deque<entry> history_; // entries after history_start_, in zxid order (TRUNC and SNAP cut it)
  zxid_t history_start_ = 0;  // entries up to here are only in snapshots
  zxid_t last_logged_ = 0;    // last entry handed to the caller's log
  zxid_t durable_ = 0;        // last entry the caller says is durable (<= last_logged_)
  zxid_t commit_ = 0;         // [grows] last committed zxid known here (<= last_logged_)

  // Election. [election]
  uint64_t round_ = 0; // [grows] the election round (logical clock)
  vote vote_;
  std::map<server_id, vote> received_;
  std::map<server_id, std::pair<vote, role>> settled_; // votes of servers that are leading/following
  void check_invariants();
  uint64_t seen_accepted_ = 0, seen_current_ = 0; // [grows] epochs as last checked
  int looking_ticks_ = 0;
  int election_timeout_ = 0;
  bool decision_pending_ = false;

  // Leader. [epoch]
  std::map<server_id, learner> learners_;
  uint64_t new_epoch_ = 0;
  bool epoch_proposed_ = false;
  bool established_ = false;  // a quorum acked NEWLEADER: the epoch may commit and serve
  bool handing_over_ = false; // a membership without this server as a voter is active: steps down next tick
  bool epoch_quorum_ = false; // a quorum acked the new epoch
  std::set<server_id> epoch_acks_;
  std::set<server_id> newleader_acks_;
  uint32_t counter_ = 0; // the zxid counter within the epoch
  int phase_ticks_ = 0;  // ticks since leading began (init_limit applies until established)

  // Learner. [epoch]
  int leader_silence_ = 0;       // ticks since the leader was last heard
  bool got_leader_info_ = false; // until then, FOLLOWERINFO is sent again each tick
  bool up_to_date_ = false;      // UPTODATE came: the leader's silence is measured by sync_limit now
  // Adopt the catch_up's epoch and ack NEWLEADER once the log is durable up to here.
  std::optional<zxid_t> pending_newleader_ack_;
  uint64_t pending_epoch_ = 0;
};

} // namespace corral::zab
