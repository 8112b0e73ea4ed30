#include "core/overload.hpp"
#include "core/zab.hpp"

#include "core/fatal.hpp"
#include "core/format.hpp"

#include <algorithm>
#include <cassert>

namespace corral::zab {

const char* role_name(role r) {
  switch (r) {
    case role::looking: return "LOOKING";
    case role::following: return "FOLLOWING";
    case role::leading: return "LEADING";
    case role::observing: return "OBSERVING";
  }
  return "?";
}

const char* message_name(const body& b) {
  static const char* names[] = {"NOTIFICATION", "FOLLOWERINFO", "LEADERINFO",    "ACKEPOCH", "CATCHUP/NEWLEADER",
                                "ACK",          "UPTODATE",     "PROPOSAL",      "COMMIT",   "INFORM",
                                "PING",         "PONG",         "ACK(NEWLEADER)"};
  static_assert(sizeof(names) / sizeof(names[0]) == std::variant_size_v<body>);
  return names[b.index()];
}

bool better(const vote& a, const vote& b) {
  if (a.epoch != b.epoch)
    return a.epoch > b.epoch;
  if (a.zxid != b.zxid)
    return a.zxid > b.zxid;
  return a.leader > b.leader;
}

peer::peer(config cfg, persistent_state ps, zxid_t snapshot_zxid, std::vector<entry> log, zxid_t applied,
           snapshot_source take_snapshot)
    : cfg_(std::move(cfg)), ps_(ps), take_snapshot_(std::move(take_snapshot)),
      rng_(cfg_.seed * 0x9E3779B97F4A7C15ull + static_cast<uint64_t>(cfg_.id) + 1) {
  history_start_ = snapshot_zxid;
  for (auto& e : log)
    if (e.zxid > history_start_)
      history_.push_back(std::move(e));
  last_logged_ = durable_ = history_.empty() ? snapshot_zxid : history_.back().zxid;
  commit_ = applied;
  if (cfg_.initial) {
    active_ = *cfg_.initial;
  } else {
    active_.version = cfg_.config_version;
    for (auto id : cfg_.voters)
      active_.members.push_back(member{id, "", 0, 0, -1, false});
    for (auto id : cfg_.observers)
      active_.members.push_back(member{id, "", 0, 0, -1, true});
    active_.sort_by_id();
  }
  // The caller's state has every entry up to `applied` (its membership is the one it passed); a
  // reconfig entry after it is pending.
  recompute_pending();
  start_election("starting up");
}

bool peer::is_voter(server_id s) const { return active_.is_voter(s) || (pending_ && pending_->is_voter(s)); }

bool peer::is_member(server_id s) const {
  return active_.find(s) != nullptr || (pending_ && pending_->find(s) != nullptr);
}

namespace {

// The voters of `m` in `acked` are a majority of its voters.
template <class Acked>
bool quorum_in(const membership& m, Acked&& acked) {
  size_t voters = 0, n = 0;
  for (auto& x : m.members)
    if (!x.observer) {
      ++voters;
      n += acked(x.id) ? 1 : 0;
    }
  return n >= voters / 2 + 1;
}

const membership* config_in(const entry& e) {
  auto* r = e.payload ? std::get_if<txn_reconfig>(&e.payload->body) : nullptr;
  return r ? &r->next : nullptr;
}

std::string describe(const membership& m) {
  std::string v, o;
  for (auto& x : m.members)
    (x.observer ? o : v) += (x.observer ? o : v).empty() ? std::to_string(x.id) : ", " + std::to_string(x.id);
  return to_hex(m.version) + " (voters {" + v + "}, observers {" + o + "})";
}

} // namespace

bool peer::quorum_of(const std::set<server_id>& s) const {
  auto in = [&](server_id id) { return s.count(id) > 0; };
  return quorum_in(active_, in) && (!pending_ || quorum_in(*pending_, in));
}

bool peer::quorum_synced(const membership& m) const {
  return quorum_in(m, [&](server_id id) {
    if (id == cfg_.id)
      return true;
    // Followers only: an observer does not get proposals, so if a leader fails before the reconfig
    // commits, an observer that the reconfig makes a voter does not know it votes, and a quorum
    // that needs it could never form (ZooKeeper counts its forwarding followers alone too).
    auto it = learners_.find(id);
    return it != learners_.end() && it->second.kind == role::following && it->second.at >= phase::newleader_acked;
  });
}

std::set<server_id> peer::members() const {
  std::set<server_id> out;
  for (auto& x : active_.members)
    out.insert(x.id);
  if (pending_)
    for (auto& x : pending_->members)
      out.insert(x.id);
  out.erase(cfg_.id);
  return out;
}

// ---- membership --------------------------------------------------------------------------------

// A reconfig entry newer than the active membership was logged: quorums count both from now on.
void peer::saw_entry(const entry& e) {
  auto* m = config_in(e);
  if (m == nullptr || m->version <= active_.version || (pending_ && m->version <= pending_->version))
    return;
  pending_ = *m;
  ready_.configs_changed = true;
  note("reconfig " + describe(*m) + " logged: quorums need the voters of " + describe(active_) + " and of it until " +
       "it commits");
}

// The pending membership is the newest reconfig entry left in the history after the active one.
void peer::recompute_pending() {
  std::optional<membership> p;
  for (auto& e : history_)
    if (auto* m = config_in(e); m != nullptr && m->version > active_.version)
      p = *m;
  if (p == pending_)
    return;
  if (pending_ && !p)
    note("reconfig " + describe(*pending_) + " is gone from the log (it never committed)");
  pending_ = std::move(p);
  ready_.configs_changed = true;
}

void peer::maybe_activate() {
  if (pending_ && pending_->version <= commit_)
    activate(*pending_);
}

void peer::activate(membership m) {
  note("configuration " + describe(m) + " is active (it was " + describe(active_) + ")");
  active_ = std::move(m);
  pending_.reset();
  ready_.configs_changed = true;
  membership_changed_ = true; // followed once the input that activated it is fully handled
}

// After a membership change: a leader that no longer votes hands over, a learner whose role changed
// rejoins in its new one, a removed server stops taking part.
void peer::follow_membership() {
  if (!std::exchange(membership_changed_, false))
    return;
  bool member = is_member(cfg_.id);
  bool voter = is_voter(cfg_.id);
  auto version = to_hex(active_.version);
  if (role_ == role::leading && !voter) {
    // It stops serving now and steps down at its next tick, so that the commits of this ready
    // reach the followers first (stepping down closes their connections).
    note("configuration " + version + (member ? " makes this server an observer" : " removes this server") +
         ": handing over to a new leader");
    handing_over_ = true;
    set_serving(false);
  } else if (role_ == role::following && !voter)
    start_election("configuration " + version + (member ? " makes this server an observer" : " removes this server"));
  else if (role_ == role::observing && (voter || !member))
    start_election("configuration " + version + (voter ? " makes this server a voter" : " removes this server"));
}

void peer::send(server_id to, body b) {
  uint64_t e = role_ == role::leading && epoch_proposed_ ? new_epoch_ : ps_.current_epoch;
  ready_.messages.push_back(message{cfg_.id, to, e, std::move(b)});
}

ready peer::take_ready() {
  check_invariants();
  return std::exchange(ready_, ready{});
}

// Always on: each is a few comparisons per ready, and the simulation (zab_test) runs them after
// every step of every seed.
void peer::check_invariants() {
  CORRAL_CHECK(commit_ <= last_logged_, "zab", "server ", cfg_.id, " commits ", to_hex(commit_), " past its log's end ",
               to_hex(last_logged_));
  CORRAL_CHECK(ps_.current_epoch <= ps_.accepted_epoch, "zab", "server ", cfg_.id, " is in epoch ", ps_.current_epoch,
               " but accepted only ", ps_.accepted_epoch);
  CORRAL_CHECK(ps_.accepted_epoch >= seen_accepted_ && ps_.current_epoch >= seen_current_, "zab", "server ", cfg_.id,
               "'s epochs went back: accepted ", seen_accepted_, " -> ", ps_.accepted_epoch, ", current ",
               seen_current_, " -> ", ps_.current_epoch);
  seen_accepted_ = ps_.accepted_epoch;
  seen_current_ = ps_.current_epoch;
  if (history_.size() >= 2) // the ends only: append_log checks each step
    CORRAL_CHECK(history_.front().zxid < history_.back().zxid, "zab", "server ", cfg_.id, "'s history is out of order");
}

void peer::become(role r) {
  role_ = r;
  ready_.became = r;
  set_serving(false);
}

void peer::set_serving(bool s) {
  if (serving_ != s) {
    serving_ = s;
    ready_.serving_changed = true;
  }
}

// ---- election --------------------------------------------------------------------------------

notification peer::my_notification() const { return notification{vote_, round_, role_, active_}; }

void peer::broadcast_votes() {
  if (!is_member(cfg_.id))
    return; // not a member: takes no part until it is added (and restarted with the new membership)
  auto n = my_notification();
  for (auto s : members())
    send(s, n);
}

void peer::start_election(const std::string& why) {
  // Whatever connections this role held go: messages still on them belong to the old role.
  if ((role_ == role::following || role_ == role::observing) && leader_ != 0)
    ready_.disconnect.push_back(leader_);
  if (role_ == role::leading)
    for (auto& [s, l] : learners_)
      ready_.disconnect.push_back(s);
  become(role::looking);
  leader_ = 0;
  established_ = false;
  epoch_proposed_ = false;
  epoch_quorum_ = false;
  up_to_date_ = false;
  learners_.clear();
  epoch_acks_.clear();
  newleader_acks_.clear();
  pending_newleader_ack_.reset();
  handing_over_ = false;
  ++round_;
  vote_ = vote{cfg_.id, last_logged_, ps_.current_epoch};
  note("looking (" + why + "): round " + std::to_string(round_) + ", voting for itself with last zxid " +
       to_hex(last_logged_) + ", epoch " + std::to_string(ps_.current_epoch));
  received_.clear();
  settled_.clear();
  decision_pending_ = false;
  looking_ticks_ = 0;
  rng_ ^= rng_ << 13;
  rng_ ^= rng_ >> 7;
  rng_ ^= rng_ << 17;
  election_timeout_ =
      cfg_.election_timeout_ticks + static_cast<int>(rng_ % static_cast<uint64_t>(cfg_.election_timeout_ticks + 1));
  if (is_voter(cfg_.id)) {
    received_[cfg_.id] = vote_;
    if (quorum_of({cfg_.id})) {
      decide(vote_);
      return;
    }
  }
  if (!is_member(cfg_.id))
    note("this server is not in configuration " + describe(active_) +
         ": it takes no part (add it with reconfig, or restart it with the ensemble's current membership)");
  broadcast_votes();
}

// "{1, 3}" for a log line.
static std::string ids(const std::set<server_id>& s) {
  std::string out = "{";
  for (auto id : s)
    out += (out.size() > 1 ? ", " : "") + std::to_string(id);
  return out + "}";
}

void peer::decide(const vote& v) {
  {
    std::set<server_id> with;
    for (auto& [s, r] : received_)
      if (r == v)
        with.insert(s);
    for (auto& [s, vr] : settled_)
      if (vr.first == v)
        with.insert(s);
    note("round " + std::to_string(round_) + ": decided on server " + std::to_string(v.leader) + " (last zxid " +
         to_hex(v.zxid) + ") with " + ids(with));
  }
  vote_ = v;
  leader_ = v.leader;
  decision_pending_ = false;
  phase_ticks_ = 0;
  leader_silence_ = 0;
  got_leader_info_ = false;
  if (!is_voter(cfg_.id)) {
    become(role::observing);
    send(leader_, follower_info{ps_.accepted_epoch, last_logged_, true, round_});
    return;
  }
  if (v.leader == cfg_.id) {
    become(role::leading);
    counter_ = 0;
    if (quorum_of({cfg_.id}))
      leader_propose_epoch();
    return;
  }
  become(role::following);
  send(leader_, follower_info{ps_.accepted_epoch, last_logged_, false, round_});
}

void peer::on_notification(server_id from, const notification& n) {
  if (n.config.version > active_.version) {
    // A server that missed reconfigs (it was down, or started with an old membership) learns the
    // committed membership from any server's vote, as ZooKeeper's notifications carry it.
    note("server " + std::to_string(from) + " has configuration " + describe(n.config) + ", newer than " +
         describe(active_) + ": taking it");
    activate(n.config);
    recompute_pending();
    if (role_ == role::looking) {
      broadcast_votes();
      if (!is_voter(cfg_.id))
        received_.clear();
    }
  }
  if (role_ != role::looking) {
    // Settled: tell a looking server (or an observer) who leads, so it can join.
    if (n.sender_role == role::looking)
      send(from, my_notification());
    return;
  }
  bool from_voter = is_voter(from);
  bool me_voter = is_voter(cfg_.id);
  if (n.sender_role != role::looking) {
    if (!from_voter)
      return;
    settled_[from] = {n.v, n.sender_role};
    std::set<server_id> agree;
    for (auto& [s, vr] : settled_)
      if (vr.first == n.v)
        agree.insert(s);
    auto leader_it = settled_.find(n.v.leader);
    bool leader_confirmed = leader_it != settled_.end() && leader_it->second.second == role::leading;
    if (quorum_of(agree) && leader_confirmed && n.v.leader != cfg_.id) {
      round_ = std::max(round_, n.round);
      decide(n.v);
    }
    return;
  }
  if (!from_voter || !me_voter)
    return; // observers neither vote nor count votes of looking servers
  vote mine{cfg_.id, last_logged_, ps_.current_epoch};
  if (n.round > round_) {
    round_ = n.round;
    received_.clear();
    vote_ = better(n.v, mine) ? n.v : mine;
    note("round " + std::to_string(round_) + " (joined, from server " + std::to_string(from) + "): voting for server " +
         std::to_string(vote_.leader));
    broadcast_votes();
  } else if (n.round < round_) {
    send(from, my_notification()); // help it catch up
    return;
  } else if (better(n.v, vote_)) {
    vote_ = n.v;
    note("round " + std::to_string(round_) + ": server " + std::to_string(from) +
         " has a better vote, now voting for server " + std::to_string(vote_.leader) + " (last zxid " +
         to_hex(vote_.zxid) + ")");
    broadcast_votes();
  } else if (!(n.v == vote_)) {
    // Ours is better and the sender has not heard it: the vote we sent it may have come while it
    // still followed the old leader (it answered with that leader instead of counting ours). Tell
    // it again now, or the election waits for the resend timeout.
    send(from, my_notification());
  }
  received_[from] = n.v;
  received_[cfg_.id] = vote_;
  std::set<server_id> agree;
  for (auto& [s, v] : received_)
    if (v == vote_)
      agree.insert(s);
  // Wait one tick before deciding, in case a better vote is still on its way (ZooKeeper's finalize wait).
  decision_pending_ = quorum_of(agree);
}

// ---- leader: discovery and synchronization -----------------------------------------------------

void peer::leader_propose_epoch() {
  uint64_t highest = ps_.accepted_epoch;
  for (auto& [s, l] : learners_)
    highest = std::max(highest, l.accepted_epoch);
  new_epoch_ = highest + 1;
  ps_.accepted_epoch = new_epoch_;
  ready_.accepted_epoch = new_epoch_;
  epoch_proposed_ = true;
  epoch_acks_ = {cfg_.id};
  for (auto& [s, l] : learners_) {
    send(s, leader_info{new_epoch_});
    advance(l, phase::leader_info_sent);
  }
  if (quorum_of({cfg_.id})) {
    epoch_quorum_ = true;
    leader_try_adopt_epoch();
  }
}

// The leader takes the new epoch as its current one only once its own log is durable: an epoch
// persisted over a log that a crash can still shorten would win elections it must not win.
void peer::leader_try_adopt_epoch() {
  if (!epoch_quorum_ || ps_.current_epoch == new_epoch_ || durable_ < last_logged_)
    return;
  ps_.current_epoch = new_epoch_;
  ready_.current_epoch = new_epoch_;
  leader_try_establish();
}

// The epoch begins once a quorum holds the leader's whole history durably: the learners that acked
// NEWLEADER, and the leader itself only when its own log is durable (it may hold entries it received
// as a follower that are not on disk yet; counting them would commit what a crash can lose).
void peer::leader_try_establish() {
  if (established_ || ps_.current_epoch != new_epoch_ || !epoch_proposed_)
    return;
  auto acks = newleader_acks_;
  if (durable_ >= last_logged_)
    acks.insert(cfg_.id);
  if (!quorum_of(acks))
    return;
  established_ = true;
  note("leading epoch " + std::to_string(ps_.current_epoch) + ": a majority " + ids(acks) + " holds its history");
  commit_ = last_logged_;
  ready_.commit_to = commit_;
  set_serving(true);
  for (auto& [s, x] : learners_)
    if (x.at == phase::newleader_acked) {
      send(s, up_to_date{commit_});
      advance(x, phase::up_to_date);
    }
  // A reconfig the old leader left pending is committed with the rest of the history.
  maybe_activate();
}

void peer::on_follower_info(server_id from, const follower_info& fi) {
  if (role_ != role::leading)
    return;
  if (!is_member(from))
    return; // not a member: it may join once a reconfig that adds it is logged here
  if (auto it = learners_.find(from); it != learners_.end()) {
    if (it->second.attempt == fi.attempt)
      return;            // a repeat of an attempt already under way
    learners_.erase(it); // the learner started over: whatever it had with us is void
  }
  learner l;
  l.kind = fi.observer ? role::observing : role::following;
  l.attempt = fi.attempt;
  l.accepted_epoch = fi.accepted_epoch;
  l.last_zxid = fi.last_zxid;
  learners_[from] = l;
  if (epoch_proposed_) {
    send(from, leader_info{new_epoch_});
    advance(learners_[from], phase::leader_info_sent);
    return;
  }
  std::set<server_id> seen{cfg_.id};
  for (auto& [s, x] : learners_)
    seen.insert(s);
  if (quorum_of(seen))
    leader_propose_epoch();
}

void peer::on_ack_epoch(server_id from, const ack_epoch& ae) {
  auto it = learners_.find(from);
  if (role_ != role::leading || it == learners_.end() || it->second.at != phase::leader_info_sent)
    return;
  auto& l = it->second;
  if (!established_ && is_voter(from) &&
      (ae.current_epoch > ps_.current_epoch ||
       (ae.current_epoch == ps_.current_epoch && ae.last_zxid > last_logged_))) {
    // Someone in the quorum knows more than the leader: the election was stale.
    leader_step_down("a follower is ahead of the leader");
    return;
  }
  l.last_zxid = ae.last_zxid;
  l.log_start = ae.log_start;
  l.epoch_ends = ae.epoch_ends;
  advance(l, phase::epoch_acked);
  if (is_voter(from))
    epoch_acks_.insert(from);
  if (!epoch_quorum_) {
    if (!quorum_of(epoch_acks_))
      return;
    epoch_quorum_ = true;
    newleader_acks_.clear();
  }
  for (auto& [s, x] : learners_)
    if (x.at == phase::epoch_acked)
      catch_up_learner(s, x);
  leader_try_adopt_epoch();
}

std::vector<zxid_t> peer::epoch_ends() const {
  std::vector<zxid_t> out;
  for (auto& e : history_) {
    if (!out.empty() && epoch_of(out.back()) == epoch_of(e.zxid))
      out.back() = e.zxid;
    else
      out.push_back(e.zxid);
  }
  return out;
}

// Where the learner's log and the leader's part. Two logs that hold the same zxid agree up to it
// (one leader per epoch, and every log holds a prefix of each epoch's proposals), so per epoch the
// shorter of the two ends is common; the learner's snapshot point is committed, hence common too.
zxid_t peer::common_prefix(const learner& l) const {
  zxid_t common = std::min(l.log_start, last_logged_);
  auto mine = epoch_ends();
  for (auto f_end : l.epoch_ends) {
    auto k = epoch_of(f_end);
    auto it = std::find_if(mine.begin(), mine.end(), [&](zxid_t z) { return epoch_of(z) == k; });
    if (it != mine.end())
      common = std::max(common, std::min(f_end, *it));
    else if (history_start_ != 0 && epoch_of(history_start_) == k && f_end >= history_start_)
      common = std::max(common, history_start_);
  }
  return common;
}

void peer::catch_up_learner(server_id to, learner& l) {
  catch_up s;
  s.new_epoch = new_epoch_;
  zxid_t common = common_prefix(l);
  zxid_t from = common;
  if (common < history_start_) {
    s.how = catch_up::kind::snap;
  } else if (common == l.last_zxid) {
    s.how = catch_up::kind::diff;
  } else {
    s.how = catch_up::kind::trunc; // the learner holds txns the leader never had: cut them first
    s.trunc_to = common;
  }
  if (s.how == catch_up::kind::snap) {
    s.how = catch_up::kind::snap;
    auto [z, img] = take_snapshot_();
    s.snap_zxid = z;
    s.snapshot = std::move(img);
    from = z;
  }
  for (auto& e : history_)
    if (e.zxid > from)
      s.entries.push_back(e);
  s.commit = established_ ? commit_ : std::min(commit_, last_logged_);
  s.active = active_;
  send(to, std::move(s));
  advance(l, phase::catch_up_sent);
  l.last_zxid = last_logged_;
}

// A learner's phase only moves forward, one step at a time (a learner that starts over is erased
// and comes back as a new one).
void peer::advance(learner& l, phase to) {
  CORRAL_CHECK(static_cast<int>(to) == static_cast<int>(l.at) + 1, "zab", "a learner moves from phase ",
               static_cast<int>(l.at), " to ", static_cast<int>(to), ": phases advance one at a time");
  l.at = to;
}

void peer::on_ack_newleader(server_id from) {
  auto it = learners_.find(from);
  if (role_ != role::leading || it == learners_.end() || it->second.at != phase::catch_up_sent)
    return;
  auto& l = it->second;
  advance(l, phase::newleader_acked);
  if (is_voter(from))
    newleader_acks_.insert(from);
  if (!established_) {
    leader_try_establish();
    return;
  }
  send(from, up_to_date{commit_});
  advance(l, phase::up_to_date);
}

void peer::on_ack(server_id from, const ack& a) {
  auto it = learners_.find(from);
  if (role_ != role::leading || it == learners_.end())
    return;
  auto& l = it->second;
  if (l.kind == role::following && a.zxid > l.last_zxid)
    l.last_zxid = a.zxid; // acks are cumulative: everything up to a.zxid is logged there
  if (l.kind == role::following)
    leader_try_commit();
}

namespace {

// The first entry of the history after zxid z.
std::deque<entry>::const_iterator first_after(const std::deque<entry>& history, zxid_t z) {
  auto below = [](zxid_t x, const entry& e) { return x < e.zxid; };
  return std::upper_bound(history.begin(), history.end(), z, below);
}

} // namespace

void peer::leader_try_commit() {
  if (!established_)
    return;
  zxid_t before = commit_;
  for (auto it = first_after(history_, commit_); it != history_.end(); ++it) {
    auto acked = [&](server_id s) {
      if (s == cfg_.id)
        return durable_ >= it->zxid;
      auto l = learners_.find(s);
      return l != learners_.end() && l->second.kind == role::following && l->second.at >= phase::newleader_acked &&
             l->second.last_zxid >= it->zxid;
    };
    if (!quorum_in(active_, acked) || (pending_ && !quorum_in(*pending_, acked)))
      break;
    commit_ = it->zxid;
    maybe_activate(); // once a reconfig commits, the entries after it need its voters only
  }
  if (commit_ == before)
    return;
  ready_.commit_to = commit_;
  for (auto& [s, l] : learners_) {
    if (l.at < phase::catch_up_sent)
      continue;
    if (l.kind == role::following) {
      send(s, commit{commit_});
    } else {
      for (auto it = first_after(history_, before); it != history_.end() && it->zxid <= commit_; ++it)
        send(s, inform{*it});
    }
  }
  trim_history();
}

void peer::leader_step_down(const std::string& why) {
  note("stepping down as leader of epoch " + std::to_string(ps_.current_epoch) + ": " + why);
  start_election("was leader: " + why);
}

zxid_t peer::propose(std::shared_ptr<const txn> t) {
  if (role_ != role::leading || !established_ || handing_over_)
    return 0;
  if (counter_ >= cfg_.max_counter) {
    // The epoch's counter is spent: a new election starts a new epoch (and resets the counter).
    leader_step_down("zxid counter exhausted");
    return 0;
  }
  entry e{make_zxid(ps_.current_epoch, ++counter_), std::move(t)};
  append_log(e);
  for (auto& [s, l] : learners_)
    if (l.kind == role::following && l.at >= phase::catch_up_sent)
      send(s, proposal{e});
  return e.zxid;
}

// ---- learner ---------------------------------------------------------------------------------

void peer::append_log(const entry& e) {
  CORRAL_CHECK(e.zxid > last_logged_, "zab", "server ", cfg_.id, " logs ", to_hex(e.zxid), " after ",
               to_hex(last_logged_), ": its history must grow in zxid order");
  history_.push_back(e);
  last_logged_ = e.zxid;
  ready_.to_log.push_back(e);
  saw_entry(e);
}

void peer::trim_history() {
  while (history_.size() > cfg_.history_limit && history_.front().zxid <= commit_) {
    history_start_ = history_.front().zxid;
    history_.pop_front();
  }
}

void peer::follower_apply_commit(zxid_t z) {
  zxid_t c = std::min(z, last_logged_);
  if (c > commit_) {
    commit_ = c;
    ready_.commit_to = commit_;
    trim_history();
    maybe_activate();
  }
}

void peer::on_catch_up(const catch_up& s) {
  if (s.how == catch_up::kind::trunc) {
    while (!history_.empty() && history_.back().zxid > s.trunc_to)
      history_.pop_back();
    ready_.truncate_to = s.trunc_to;
    last_logged_ = std::max(s.trunc_to, history_start_);
    durable_ = std::min(durable_, last_logged_);
    ready_.to_log.erase(
        std::remove_if(ready_.to_log.begin(), ready_.to_log.end(), [&](const entry& e) { return e.zxid > s.trunc_to; }),
        ready_.to_log.end());
    recompute_pending();
  } else if (s.how == catch_up::kind::snap) {
    history_.clear();
    history_start_ = s.snap_zxid;
    last_logged_ = durable_ = s.snap_zxid;
    commit_ = s.snap_zxid;
    ready_.install_snapshot = std::make_pair(s.snap_zxid, s.snapshot);
    ready_.to_log.clear();
  }
  // The leader's active membership is committed. Taken even at an equal version: a server added by
  // reconfig starts with a membership of its own making (the ensemble plus itself, version 0). At an
  // equal version the addresses this server knows stay its own: a starting membership is each
  // server's view of where the others are (a proxy, another name), not the leader's.
  if (s.active.version >= active_.version && !(s.active == active_)) {
    auto taken = s.active;
    if (taken.version == active_.version)
      for (auto& m : taken.members)
        if (auto* mine = active_.find(m.id))
          m = member{m.id, mine->host, mine->quorum_port, mine->client_port, mine->zk_port, m.observer};
    if (!(taken == active_)) {
      note("taking the leader's configuration " + describe(taken) + " (had " + describe(active_) + ")");
      active_ = std::move(taken);
      ready_.configs_changed = true;
    }
  }
  recompute_pending();
  for (auto& e : s.entries)
    if (e.zxid > last_logged_)
      append_log(e);
  follower_apply_commit(s.commit);
  // Persist, then update the epoch, then ack: adopting the epoch before the synced log is durable
  // lets a crashed learner win the next election with a log that lacks committed txns.
  pending_newleader_ack_ = last_logged_;
  pending_epoch_ = s.new_epoch;
  bool nothing_to_persist = s.how == catch_up::kind::diff && s.entries.empty() && durable_ >= last_logged_;
  if (nothing_to_persist)
    finish_catch_up();
}

void peer::finish_catch_up() {
  ps_.current_epoch = pending_epoch_;
  ready_.current_epoch = pending_epoch_; // persisted before the ack below is sent
  send(leader_, ack_newleader{pending_epoch_});
  pending_newleader_ack_.reset();
}

void peer::on_leader_message(const message& m) {
  // Only what a leader sends shows that ours leads (two servers that each think the other leads
  // must time out, not keep each other alive).
  if (std::holds_alternative<follower_info>(m.what) || std::holds_alternative<ack_epoch>(m.what) ||
      std::holds_alternative<ack>(m.what) || std::holds_alternative<ack_newleader>(m.what) ||
      std::holds_alternative<pong>(m.what))
    return;
  leader_silence_ = 0;
  // While a sync is being persisted the learner has not adopted the epoch yet, but the leader's
  // proposals and commits that follow the sync belong to it.
  uint64_t joining = pending_newleader_ack_ ? pending_epoch_ : ps_.current_epoch;
  std::visit(overload{[&](const leader_info& li) {
                        got_leader_info_ = true;
                        if (li.new_epoch < ps_.accepted_epoch) {
                          start_election("server " + std::to_string(leader_) + " offered a stale epoch");
                          return;
                        }
                        if (li.new_epoch > ps_.accepted_epoch) {
                          ps_.accepted_epoch = li.new_epoch;
                          ready_.accepted_epoch = li.new_epoch; // persisted before the ack is sent
                        }
                        send(leader_, ack_epoch{ps_.current_epoch, last_logged_, history_start_, epoch_ends()});
                      },
                      [&](const catch_up& s) {
                        if (s.new_epoch == ps_.accepted_epoch)
                          on_catch_up(s);
                      },
                      [&](const up_to_date& u) {
                        if (m.epoch != ps_.current_epoch || pending_newleader_ack_)
                          return;
                        up_to_date_ = true;
                        follower_apply_commit(u.commit);
                        set_serving(true);
                      },
                      [&](const proposal& p) {
                        if (m.epoch != joining || p.e.zxid <= last_logged_)
                          return;
                        // Proposals come in order with no gaps; a gap means this stream is broken.
                        if (!zxid_follows(last_logged_, p.e.zxid)) {
                          start_election("a gap in the proposals from server " + std::to_string(leader_));
                          return;
                        }
                        append_log(p.e);
                      },
                      [&](const commit& c) {
                        if (m.epoch == joining)
                          follower_apply_commit(c.zxid);
                      },
                      [&](const inform& i) {
                        if (m.epoch != joining)
                          return;
                        if (i.e.zxid > last_logged_)
                          append_log(i.e);
                        follower_apply_commit(i.e.zxid);
                      },
                      [&](const ping& p) {
                        if (m.epoch != ps_.current_epoch)
                          return;
                        if (up_to_date_)
                          follower_apply_commit(p.commit);
                        send(leader_, pong{});
                      },
                      [&](const auto&) {}},
             m.what);
}

// ---- inputs ----------------------------------------------------------------------------------

void peer::step(const message& m) {
  if (m.to != cfg_.id || m.from == cfg_.id)
    return;
  on_message(m);
  follow_membership();
}

void peer::on_message(const message& m) {
  if (auto* n = std::get_if<notification>(&m.what)) {
    on_notification(m.from, *n);
    return;
  }
  if (role_ == role::leading) {
    auto it = learners_.find(m.from);
    if (it != learners_.end())
      it->second.silent_ticks = 0;
    std::visit(overload{[&](const follower_info& fi) { on_follower_info(m.from, fi); },
                        [&](const ack_epoch& ae) {
                          if (m.epoch <= new_epoch_)
                            on_ack_epoch(m.from, ae);
                        },
                        [&](const ack& a) {
                          if (m.epoch == new_epoch_)
                            on_ack(m.from, a);
                        },
                        [&](const ack_newleader& a) {
                          if (m.epoch == new_epoch_ && a.epoch == new_epoch_)
                            on_ack_newleader(m.from);
                        },
                        [&](const auto&) {}},
               m.what);
    return;
  }
  if ((role_ == role::following || role_ == role::observing) && m.from == leader_)
    on_leader_message(m);
}

void peer::disconnected(server_id other) {
  if ((role_ == role::following || role_ == role::observing) && other == leader_) {
    start_election("the connection to leader " + std::to_string(leader_) + " broke");
    return;
  }
  if (role_ == role::leading)
    learners_.erase(other);
}

void peer::connected(server_id other) {
  if (role_ == role::looking)
    send(other, my_notification());
}

void peer::logged(zxid_t zxid) {
  on_logged(zxid);
  follow_membership();
}

void peer::on_logged(zxid_t zxid) {
  durable_ = std::max(durable_, std::min(zxid, last_logged_));
  if (role_ == role::leading) {
    leader_try_adopt_epoch();
    leader_try_establish();
    leader_try_commit();
    return;
  }
  if (role_ != role::following && role_ != role::observing)
    return;
  if (pending_newleader_ack_ && durable_ >= *pending_newleader_ack_)
    finish_catch_up();
  // Followers ack proposals (cumulatively); observers never vote on them.
  if (role_ == role::following && !pending_newleader_ack_ && leader_ != 0 && ps_.current_epoch == ps_.accepted_epoch)
    send(leader_, ack{durable_});
}

void peer::tick() {
  switch (role_) {
    case role::looking:
      if (decision_pending_) {
        decide(vote_);
        if (role_ == role::leading || role_ == role::following || role_ == role::observing)
          return;
      }
      if (++looking_ticks_ >= election_timeout_) {
        looking_ticks_ = 0;
        broadcast_votes();
      }
      return;
    case role::leading: {
      if (handing_over_) {
        leader_step_down("it is no longer a voter");
        return;
      }
      ++phase_ticks_;
      if (!established_ && phase_ticks_ > cfg_.init_limit_ticks) {
        leader_step_down("no quorum synced in time");
        return;
      }
      for (auto it = learners_.begin(); it != learners_.end();) {
        int limit = it->second.at >= phase::newleader_acked ? cfg_.sync_limit_ticks : cfg_.init_limit_ticks;
        if (++it->second.silent_ticks > limit) {
          note("server " + std::to_string(it->first) + " silent for " + std::to_string(limit) +
               " ticks; dropping it (it resyncs when it is heard again)");
          ready_.disconnect.push_back(it->first);
          it = learners_.erase(it);
        } else {
          ++it;
        }
      }
      // The lease: followers elect another leader only after sync_limit_ticks without a word from
      // this one, and each answers a ping at once. A follower heard within the lease therefore cannot
      // have joined another leader yet; without a majority of them this leader stops before anyone
      // could have, so it never answers from a state another leader has moved past. The margin covers
      // the two servers' tick phases, a request answered after the last tick, and the message delay.
      if (established_) {
        std::set<server_id> heard{cfg_.id};
        for (auto& [s, l] : learners_)
          if (l.at >= phase::newleader_acked && l.silent_ticks <= leader_lease_ticks())
            heard.insert(s);
        if (!quorum_of(heard)) {
          leader_step_down("only " + ids(heard) + " heard within the last " + std::to_string(leader_lease_ticks()) +
                           " ticks, not a majority (the leader lease ran out)");
          return;
        }
      }
      for (auto& [s, l] : learners_)
        if (l.at == phase::up_to_date && ++l.unpinged_ticks >= ping_interval_ticks()) {
          l.unpinged_ticks = 0;
          send(s, ping{commit_});
        }
      return;
    }
    case role::following:
    case role::observing:
      if (++leader_silence_ > (up_to_date_ ? cfg_.sync_limit_ticks : cfg_.init_limit_ticks)) {
        start_election("leader " + std::to_string(leader_) + " silent for " + std::to_string(leader_silence_ - 1) +
                       " ticks");
        return;
      }
      // The leader may have decided a moment after us and dropped our FOLLOWERINFO: say it again.
      if (!got_leader_info_)
        send(leader_, follower_info{ps_.accepted_epoch, last_logged_, role_ == role::observing, round_});
      return;
  }
}

} // namespace corral::zab
