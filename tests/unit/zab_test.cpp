// ZAB under a simulated network, deterministic per seed. Links are FIFO (as TCP is); a broken link
// loses what is on it and both ends are told. Nodes crash and restart, losing log writes that were
// not yet durable. After every step: at most one established leader per epoch, and every node's
// applied txns are a prefix of one global order (so nothing committed is ever lost or reordered).
// At the end the network heals and every node must converge. With reconfigs on, leaders also propose
// random membership changes (servers beyond the first membership start with it plus themselves, as
// an operator starts a server to add), and convergence is of the members of the final membership.
#include <gtest/gtest.h>

#include <deque>
#include <functional>
#include <map>
#include <random>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include "core/fatal.hpp"
#include "core/zab.hpp"

using namespace corral;
using namespace corral::zab;

namespace {

struct sim_node {
  server_id id = 0;
  bool voter = true;
  // Durable state.
  persistent_state ps;
  zxid_t snap_zxid = 0;
  std::vector<int> snap_applied;
  std::vector<entry> log; // durable entries after the snapshot
  membership snap_config; // the membership as of the snapshot (the tree holds it in /zookeeper/config)
  // Volatile state.
  std::unique_ptr<peer> p;
  std::vector<entry> pending; // written, not yet durable
  std::vector<int> applied;
  zxid_t applied_zxid = 0;
  membership applied_config; // as of applied_zxid: what a restart starts from
  bool up = true;
};

// What a simulated snapshot holds.
struct sim_image {
  std::vector<int> applied;
  membership config;
};

membership ids_only(const std::vector<server_id>& voters, const std::vector<server_id>& observers) {
  membership m;
  for (auto v : voters)
    m.members.push_back(member{v, "", 0, 0, -1, false});
  for (auto o : observers)
    m.members.push_back(member{o, "", 0, 0, -1, true});
  m.sort_by_id();
  return m;
}

class cluster {
public:
  cluster(int voters, int observers, uint64_t seed, uint32_t max_counter = 0xfffffffeu, int extra = 0,
          bool reconfigs = false)
      : rng_(seed), seed_(seed), max_counter_(max_counter), reconfigs_(reconfigs) {
    for (int i = 1; i <= voters + observers + extra; ++i) {
      auto& n = nodes_[i];
      n.id = i;
      n.voter = i <= voters || (i > voters + observers && i % 2 == 0);
      if (i <= voters + observers)
        (n.voter ? voter_ids_ : observer_ids_).push_back(i);
    }
    auto first = ids_only(voter_ids_, observer_ids_);
    for (auto& [id, n] : nodes_) {
      n.snap_config = first;
      if (first.find(id) == nullptr) { // a server to add: the ensemble plus itself, version 0
        n.snap_config.members.push_back(member{id, "", 0, 0, -1, !n.voter});
        n.snap_config.sort_by_id();
      }
      n.applied_config = n.snap_config;
    }
    for (auto& [id, n] : nodes_)
      start(n);
  }

  void start(sim_node& n) {
    trace("START " + std::to_string(n.id));
    config c;
    c.id = n.id;
    c.voters = n.snap_config.voters();
    c.observers = n.snap_config.observers();
    c.config_version = n.snap_config.version;
    c.election_timeout_ticks = 4;
    c.init_limit_ticks = 12;
    c.sync_limit_ticks = 6;
    c.history_limit = 40; // small, so some learners need SNAP
    c.seed = seed_ * 31 + static_cast<uint64_t>(n.id);
    c.max_counter = max_counter_;
    n.applied = n.snap_applied;
    n.applied_zxid = n.snap_zxid;
    n.applied_config = n.snap_config;
    n.pending.clear();
    sim_node* raw = &n;
    n.p = std::make_unique<peer>(c, n.ps, n.snap_zxid, n.log, n.applied_zxid, [raw] {
      return std::make_pair(raw->applied_zxid, std::shared_ptr<const void>(std::make_shared<sim_image>(
                                                   sim_image{raw->applied, raw->applied_config})));
    });
    n.up = true;
    drain(n);
  }

  // Applies a ready the way the contract says, then queues the messages.
  void drain(sim_node& n) {
    for (;;) {
      auto r = n.p->take_ready();
      if (r.empty())
        return;
      if (r.accepted_epoch)
        n.ps.accepted_epoch = *r.accepted_epoch;
      if (r.current_epoch)
        n.ps.current_epoch = *r.current_epoch;
      if (r.truncate_to) {
        auto z = *r.truncate_to;
        if (n.applied_zxid > z)
          fail("node " + std::to_string(n.id) + " told to truncate below what it applied (" + std::to_string(z) + ")");
        auto cut = [z](std::vector<entry>& v) {
          v.erase(std::remove_if(v.begin(), v.end(), [z](const entry& e) { return e.zxid > z; }), v.end());
        };
        cut(n.log);
        cut(n.pending);
      }
      if (r.install_snapshot) {
        n.snap_zxid = r.install_snapshot->first;
        auto& image = *std::static_pointer_cast<const sim_image>(r.install_snapshot->second);
        n.snap_applied = image.applied;
        n.snap_config = image.config;
        n.log.clear();
        n.pending.clear();
        n.applied = n.snap_applied;
        n.applied_zxid = n.snap_zxid;
        n.applied_config = n.snap_config;
        check_applied(n, 0);
      }
      for (auto& e : r.to_log)
        n.pending.push_back(e);
      // Truncation and snapshot installation are synchronous here: confirm them at once.
      if ((r.truncate_to || r.install_snapshot) && n.pending.empty())
        confirm_later_.push_back(n.id);
      if (r.became)
        trace("node " + std::to_string(n.id) + " became " + role_name(*r.became));
      for (auto& line : r.notes)
        trace("node " + std::to_string(n.id) + ": " + line);
      if (r.truncate_to)
        trace("node " + std::to_string(n.id) + " truncated to " + std::to_string(*r.truncate_to));
      if (r.commit_to > n.applied_zxid) {
        apply(n, r.commit_to);
        std::ostringstream os;
        os << "node " << n.id << " applied to " << std::hex << r.commit_to << std::dec << ":";
        for (auto x : n.applied)
          os << " " << x;
        trace(os.str());
      }
      for (auto other : r.disconnect)
        pending_breaks_.emplace_back(n.id, other);
      for (auto& m : r.messages)
        links_[{m.from, m.to}].push_back(m);
      for (auto id : std::exchange(confirm_later_, {}))
        if (id == n.id) {
          n.p->logged(n.p->last_zxid());
          continue;
        }
      if (n.p->serving() && n.p->current_role() == role::leading) {
        auto [it, fresh] = leaders_.emplace(n.p->epoch(), n.id);
        if (!fresh && it->second != n.id)
          fail("two established leaders in epoch " + std::to_string(n.p->epoch()));
      }
    }
  }

  void apply(sim_node& n, zxid_t upto) {
    std::vector<entry> all = n.log;
    all.insert(all.end(), n.pending.begin(), n.pending.end());
    std::sort(all.begin(), all.end(), [](auto& a, auto& b) { return a.zxid < b.zxid; });
    size_t first = n.applied.size();
    for (auto& e : all) {
      if (e.zxid <= n.applied_zxid || e.zxid > upto)
        continue;
      n.applied.push_back(e.payload->cxid);
      n.applied_zxid = e.zxid;
      if (auto* r = std::get_if<txn_reconfig>(&e.payload->body)) {
        n.applied_config = r->next;
        ++reconfigs_applied_;
      }
    }
    if (n.applied_zxid < upto)
      fail("node " + std::to_string(n.id) + " told to apply up to " + std::to_string(upto) + " but holds only " +
           std::to_string(n.applied_zxid));
    check_applied(n, first);
  }

  // Every node's applied sequence is a prefix of one global order.
  void check_applied(const sim_node& n, size_t from) {
    for (size_t i = from; i < n.applied.size(); ++i) {
      if (i < global_.size()) {
        if (global_[i] != n.applied[i])
          fail("node " + std::to_string(n.id) + " applied txn " + std::to_string(n.applied[i]) + " at position " +
               std::to_string(i) + " where another node applied " + std::to_string(global_[i]));
      } else {
        global_.push_back(n.applied[i]);
      }
    }
    for (size_t i = 0; i < std::min(from, n.applied.size()); ++i)
      if (global_[i] != n.applied[i])
        fail("node " + std::to_string(n.id) + " disagrees at position " + std::to_string(i));
  }

  void fail(const std::string& why) {
    if (failure_.empty())
      failure_ = why;
  }
  void trace(const std::string& line) {
    if (tracing_)
      trace_.push_back(line);
  }
  static std::string describe(const message& m) {
    std::ostringstream os;
    os << m.from << "->" << m.to << " e" << m.epoch << " " << message_name(m.what);
    if (auto* n = std::get_if<notification>(&m.what))
      os << " vote(" << n->v.leader << ",z" << std::hex << n->v.zxid << std::dec << ",e" << n->v.epoch << ") r"
         << n->round << " " << role_name(n->sender_role);
    if (auto* x = std::get_if<zab::catch_up>(&m.what))
      os << " how" << static_cast<int>(x->how) << " trunc" << std::hex << x->trunc_to << " snap" << x->snap_zxid << " n"
         << std::dec << x->entries.size() << " commit" << std::hex << x->commit;
    if (auto* x = std::get_if<proposal>(&m.what))
      os << " z" << std::hex << x->e.zxid << std::dec << " t" << x->e.payload->cxid;
    if (auto* x = std::get_if<commit>(&m.what))
      os << " z" << std::hex << x->zxid;
    if (auto* x = std::get_if<ack>(&m.what))
      os << " z" << std::hex << x->zxid;
    if (auto* x = std::get_if<ack_epoch>(&m.what))
      os << " last" << std::hex << x->last_zxid;
    if (auto* x = std::get_if<follower_info>(&m.what))
      os << " last" << std::hex << x->last_zxid;
    return os.str();
  }

  void deliver_one() {
    std::vector<std::pair<server_id, server_id>> busy;
    for (auto& [k, q] : links_)
      if (!q.empty() && !blocked(k.first, k.second))
        busy.push_back(k);
    if (busy.empty())
      return;
    auto k = busy[rng_() % busy.size()];
    auto m = links_[k].front();
    links_[k].pop_front();
    auto& n = nodes_[m.to];
    if (!n.up)
      return;
    trace("deliver " + describe(m));
    n.p->step(m);
    drain(n);
  }

  void break_link(server_id a, server_id b) {
    trace("break " + std::to_string(a) + "-" + std::to_string(b));
    links_[{a, b}].clear();
    links_[{b, a}].clear();
    for (auto [x, y] : {std::make_pair(a, b), std::make_pair(b, a)}) {
      auto& n = nodes_[x];
      if (n.up) {
        n.p->disconnected(y);
        drain(n);
      }
    }
  }

  bool blocked(server_id a, server_id b) const {
    return partitioned_.count(a) != partitioned_.count(b) || !nodes_.at(a).up || !nodes_.at(b).up;
  }

  void crash(server_id id) {
    trace("CRASH " + std::to_string(id));
    auto& n = nodes_[id];
    n.up = false;
    n.p.reset();
    n.pending.clear(); // unsynced writes are lost
    for (auto& [oid, o] : nodes_)
      if (oid != id)
        break_link(id, oid);
  }

  // Connections a node closed: the other end notices.
  void process_breaks() {
    while (!pending_breaks_.empty()) {
      auto [a, b] = pending_breaks_.back();
      pending_breaks_.pop_back();
      break_link(a, b);
    }
  }

  void step_randomly(bool chaos) {
    step_once(chaos);
    process_breaks();
  }

  void step_once(bool chaos) {
    int r = static_cast<int>(rng_() % 100);
    auto pick = [&] { return static_cast<server_id>(1 + rng_() % nodes_.size()); };
    if (r < 45) {
      deliver_one();
    } else if (r < 60) {
      auto& n = nodes_[pick()];
      if (n.up) {
        n.p->tick();
        drain(n);
      }
    } else if (r < 75) {
      // The disk catches up: pending writes become durable.
      auto& n = nodes_[pick()];
      if (n.up && !n.pending.empty()) {
        auto last = n.pending.back().zxid;
        n.log.insert(n.log.end(), n.pending.begin(), n.pending.end());
        n.pending.clear();
        trace("node " + std::to_string(n.id) + " logged");
        n.p->logged(last);
        drain(n);
      }
    } else if (r < 87) {
      if (!chaos)
        return; // quiet phase: let everyone catch up
      auto& n = nodes_[pick()];
      if (n.up && n.p->current_role() == role::leading && n.p->serving()) {
        auto t = std::make_shared<txn>();
        t->cxid = ++next_txn_;
        auto z = n.p->propose(t);
        std::ostringstream os;
        os << "node " << n.id << " proposes t" << t->cxid << " as " << std::hex << z;
        trace(os.str());
        drain(n);
      }
    } else if (r < 89) {
      if (chaos && reconfigs_)
        propose_reconfig(nodes_[pick()]);
    } else if (r < 90) {
      // Snapshot: what is applied moves out of the log.
      auto& n = nodes_[pick()];
      if (n.up) {
        n.snap_zxid = n.applied_zxid;
        n.snap_applied = n.applied;
        n.snap_config = n.applied_config;
        n.log.erase(std::remove_if(n.log.begin(), n.log.end(), [&](const entry& e) { return e.zxid <= n.snap_zxid; }),
                    n.log.end());
      }
    } else if (!chaos) {
      return;
    } else if (r < 94) {
      auto a = pick(), b = pick();
      if (a != b)
        break_link(a, b);
    } else if (r < 96) {
      auto id = pick();
      auto& n = nodes_[id];
      if (n.up)
        crash(id);
      else
        start(n);
    } else if (r < 98) {
      // Partition a random minority or majority away; heal at random.
      partitioned_.clear();
      if (rng_() % 2 == 0)
        for (auto& [id, n] : nodes_)
          if (rng_() % 3 == 0)
            partitioned_.insert(id);
      for (auto& [a, x] : nodes_)
        for (auto& [b, y] : nodes_)
          if (a < b && blocked(a, b))
            break_link(a, b);
    } else {
      for (auto& [id, n] : nodes_)
        if (!n.up)
          start(n);
    }
  }

  // One random change to the active membership (add a server as a voter or an observer, remove one,
  // or turn a voter into an observer or back), proposed by `n` if it leads, has no reconfig pending,
  // and a quorum of the new voters follows it (ZooKeeper's NewConfigNoQuorum check; without it a
  // reconfig can need votes from servers that do not know they vote).
  void propose_reconfig(sim_node& n) {
    if (!n.up || n.p->current_role() != role::leading || !n.p->serving() || n.p->pending_config())
      return;
    auto next = n.p->active_config();
    next.version = 0;
    auto id = static_cast<server_id>(1 + rng_() % nodes_.size());
    auto it = std::find_if(next.members.begin(), next.members.end(), [&](auto& m) { return m.id == id; });
    if (it == next.members.end()) {
      next.members.push_back(member{id, "", 0, 0, -1, rng_() % 2 == 0});
      next.sort_by_id();
    } else if (rng_() % 2 == 0) {
      next.members.erase(it);
    } else {
      it->observer = !it->observer;
    }
    if (next.voters().size() < 2 || !n.p->quorum_synced(next))
      return;
    auto t = std::make_shared<txn>();
    t->cxid = ++next_txn_;
    t->zxid = n.p->next_zxid();
    next.version = t->zxid;
    t->body = txn_reconfig{next};
    auto z = n.p->propose(t);
    if (z != 0 && z != t->zxid)
      fail("a reconfig proposed as " + std::to_string(z) + " but numbered " + std::to_string(t->zxid));
    trace("node " + std::to_string(n.id) + " proposes reconfig t" + std::to_string(t->cxid));
    drain(n);
  }

  void heal() {
    partitioned_.clear();
    for (auto& [id, n] : nodes_)
      if (!n.up)
        start(n);
  }

  // A serving leader, and every member of its membership serving with everything applied.
  bool converged() const {
    size_t target = global_.size();
    const sim_node* leader = nullptr;
    for (auto& [id, n] : nodes_)
      if (n.up && n.p->serving() && n.p->current_role() == role::leading)
        leader = &n;
    if (leader == nullptr)
      return false;
    auto& members = leader->p->active_config();
    for (auto& [id, n] : nodes_) {
      if (members.find(id) == nullptr)
        continue; // removed (or never added): it takes no part
      if (!n.up || !n.p->serving() || n.applied.size() != target)
        return false;
    }
    return !leader->p->pending_config();
  }

  std::map<server_id, sim_node> nodes_;
  std::map<std::pair<server_id, server_id>, std::deque<message>> links_;
  std::set<server_id> partitioned_;
  std::map<uint64_t, server_id> leaders_;
  std::vector<int> global_;
  std::vector<server_id> voter_ids_, observer_ids_;
  std::string failure_;
  std::vector<server_id> confirm_later_;
  std::vector<std::pair<server_id, server_id>> pending_breaks_;
  bool tracing_ = false;
  std::vector<std::string> trace_;
  std::mt19937_64 rng_;
  uint64_t seed_;
  uint32_t max_counter_;
  bool reconfigs_ = false;
  int next_txn_ = 0;
  size_t reconfigs_applied_ = 0; // by any node (a count, for the test to see that reconfigs happened)
};

struct sim_result {
  std::string failure;
  size_t committed = 0;
  size_t epochs = 0;
  bool converged = false;
  size_t reconfigs_applied = 0;
};

sim_result run(int voters, int observers, uint64_t seed, int chaos_steps, bool tracing = false,
               uint32_t max_counter = 0xfffffffeu, int extra = 0, bool reconfigs = false) {
  cluster c(voters, observers, seed, max_counter, extra, reconfigs);
  c.tracing_ = tracing;
  for (int i = 0; i < chaos_steps && c.failure_.empty(); ++i)
    c.step_randomly(true);
  c.heal();
  // Quiet network: keep ticking, delivering and flushing until everyone agrees.
  for (int i = 0; i < 60000 && c.failure_.empty() && !c.converged(); ++i)
    c.step_randomly(false);
  // One more write must reach everyone. (A proposal may be lost if its leader steps down first, as
  // the random schedule of ticks and deliveries can make it do: then the client tries again, at
  // most five times.)
  if (c.converged()) {
    auto before = c.global_.size();
    for (int attempt = 0; attempt < 5 && c.failure_.empty() && c.global_.size() <= before; ++attempt) {
      for (int i = 0; i < 60000 && c.failure_.empty() && !c.converged(); ++i)
        c.step_randomly(false);
      uint64_t epoch = 0;
      for (auto& [id, n] : c.nodes_)
        if (n.up && n.p->current_role() == role::leading && n.p->serving()) {
          auto t = std::make_shared<txn>();
          t->cxid = ++c.next_txn_;
          n.p->propose(t);
          epoch = n.p->epoch();
          c.drain(n);
        }
      auto same_leader = [&] {
        for (auto& [id, n] : c.nodes_)
          if (n.up && n.p->current_role() == role::leading && n.p->serving() && n.p->epoch() == epoch)
            return true;
        return false;
      };
      for (int i = 0; i < 60000 && c.failure_.empty() && !(c.converged() && c.global_.size() > before) &&
                      (same_leader() || c.global_.size() > before);
           ++i)
        c.step_randomly(false);
    }
    for (int i = 0; i < 60000 && c.failure_.empty() && !c.converged(); ++i)
      c.step_randomly(false);
    if (c.global_.size() <= before)
      c.fail("a write after healing was never applied");
  }
  sim_result r;
  r.failure = c.failure_;
  r.committed = c.global_.size();
  r.epochs = c.leaders_.size();
  r.converged = c.converged();
  r.reconfigs_applied = c.reconfigs_applied_;
  if (tracing) {
    for (auto& line : c.trace_)
      std::cout << line << "\n";
    for (auto& [id, n] : c.nodes_)
      std::cout << "END node " << id << " up " << n.up << " role " << (n.up ? role_name(n.p->current_role()) : "-")
                << " serving " << (n.up && n.p->serving()) << " leader " << (n.up ? n.p->leader() : 0) << " epoch "
                << (n.up ? n.p->epoch() : 0) << " applied " << n.applied.size() << " last " << std::hex
                << (n.up ? n.p->last_zxid() : 0) << std::dec << "\n";
  }
  return r;
}

} // namespace

TEST(zab, a_single_server_leads_alone) {
  auto r = run(1, 0, 1, 2000);
  EXPECT_EQ(r.failure, "");
  EXPECT_TRUE(r.converged);
  EXPECT_GT(r.committed, 0u);
}

TEST(zab, an_exhausted_zxid_counter_starts_a_new_epoch_safely) {
  // With the counter capped at 5, every leader steps down after five proposals: many epochs, and
  // still one order and nothing lost.
  size_t epochs = 0, committed = 0;
  for (uint64_t seed = 1; seed <= 30; ++seed) {
    auto r = run(3, 0, seed, 3000, false, 5);
    ASSERT_EQ(r.failure, "") << "seed " << seed;
    ASSERT_TRUE(r.converged) << "seed " << seed;
    epochs += r.epochs;
    committed += r.committed;
  }
  EXPECT_GT(epochs, committed / 5) << "leaders must have stepped down at the end of the counter";
}

TEST(zab, vote_order_is_epoch_then_zxid_then_id) {
  EXPECT_TRUE(better(vote{1, 5, 2}, vote{9, 9, 1}));
  EXPECT_TRUE(better(vote{1, 6, 1}, vote{9, 5, 1}));
  EXPECT_TRUE(better(vote{9, 5, 1}, vote{1, 5, 1}));
  EXPECT_FALSE(better(vote{1, 5, 1}, vote{1, 5, 1}));
}

class zab_sim : public ::testing::TestWithParam<std::tuple<int, int>> {};

TEST_P(zab_sim, safety_and_convergence_over_many_seeds) {
  auto [voters, observers] = GetParam();
  size_t total_committed = 0, total_epochs = 0;
  // 60 seeds in CI; ZAB_SEEDS=N soaks longer (a measurement run, not part of the suite's budget).
  uint64_t seeds = std::getenv("ZAB_SEEDS") != nullptr ? std::stoull(std::getenv("ZAB_SEEDS")) : 60;
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    auto r = run(voters, observers, seed * 7919 + static_cast<uint64_t>(voters), 3000);
    if ((!r.failure.empty() || !r.converged) && std::getenv("ZAB_TRACE") != nullptr)
      run(voters, observers, seed * 7919 + static_cast<uint64_t>(voters), 3000, true);
    ASSERT_EQ(r.failure, "") << "seed " << seed;
    ASSERT_TRUE(r.converged) << "no convergence after healing, seed " << seed;
    total_committed += r.committed;
    total_epochs += r.epochs;
  }
  EXPECT_GT(total_committed, 60u) << "the simulation must commit something";
  EXPECT_GT(total_epochs, 60u) << "and go through failovers";
}

INSTANTIATE_TEST_SUITE_P(ensembles, zab_sim,
                         ::testing::Values(std::make_tuple(3, 0), std::make_tuple(3, 1), std::make_tuple(5, 0),
                                           std::make_tuple(5, 1), std::make_tuple(7, 0)));

// Membership changes mixed with crashes, partitions, lost links and snapshots: still one order, at
// most one leader per epoch, and the final membership's servers converge. Three servers to add
// beyond the first membership, reconfigs proposed at random by whoever leads.
class zab_reconfig_sim : public ::testing::TestWithParam<std::tuple<int, int, int>> {};

TEST_P(zab_reconfig_sim, safety_and_convergence_with_membership_changes) {
  auto [voters, observers, extra] = GetParam();
  size_t reconfigs = 0;
  uint64_t seeds = std::getenv("ZAB_SEEDS") != nullptr ? std::stoull(std::getenv("ZAB_SEEDS")) : 40;
  for (uint64_t seed = 1; seed <= seeds; ++seed) {
    auto s = seed * 104729 + static_cast<uint64_t>(voters * 10 + extra);
    auto r = run(voters, observers, s, 3000, false, 0xfffffffeu, extra, true);
    if ((!r.failure.empty() || !r.converged) && std::getenv("ZAB_TRACE") != nullptr)
      run(voters, observers, s, 3000, true, 0xfffffffeu, extra, true);
    ASSERT_EQ(r.failure, "") << "seed " << seed;
    ASSERT_TRUE(r.converged) << "no convergence after healing, seed " << seed;
    reconfigs += r.reconfigs_applied;
  }
  EXPECT_GT(reconfigs, seeds) << "membership changes must have committed and been applied";
}

INSTANTIATE_TEST_SUITE_P(ensembles, zab_reconfig_sim,
                         ::testing::Values(std::make_tuple(3, 0, 3), std::make_tuple(3, 1, 2),
                                           std::make_tuple(5, 0, 2)));

namespace {

// Three peers over one FIFO wire, stepped by hand: for the tests that script a scenario message by
// message (`cluster` above is the random simulation).
struct scripted {
  std::map<server_id, std::unique_ptr<peer>> ps;
  std::deque<message> wire;
  std::vector<std::string> notes; // "ID: line"

  explicit scripted(const std::function<config(server_id)>& make) {
    for (server_id id : {1, 2, 3}) {
      ps[id] = std::make_unique<peer>(make(id), persistent_state{}, 0, std::vector<entry>{}, 0,
                                      [] { return std::make_pair(zxid_t{0}, std::shared_ptr<const void>()); });
      collect(id);
    }
  }
  // Takes a server's ready: its messages go on the wire, its log writes are durable at once.
  void collect(server_id id) {
    auto r = ps[id]->take_ready();
    for (auto& m : r.messages)
      wire.push_back(m);
    for (auto& e : r.to_log)
      ps[id]->logged(e.zxid);
    for (auto& n : r.notes)
      notes.push_back(std::to_string(id) + ": " + n);
  }
  // Delivers up to `limit` messages in order; those to or from a server in `cut` are lost.
  void deliver(const std::set<server_id>& cut = {}, int limit = 10000) {
    for (int guard = 0; guard < limit && !wire.empty(); ++guard) {
      auto m = wire.front();
      wire.pop_front();
      if (cut.count(m.to) || cut.count(m.from))
        continue;
      ps[m.to]->step(m);
      collect(m.to);
    }
  }
  // Delivers, then ticks the servers of `ticked`.
  void round(const std::set<server_id>& ticked, const std::set<server_id>& cut = {}) {
    deliver(cut);
    for (auto id : ticked) {
      ps[id]->tick();
      collect(id);
    }
  }
};

config voter_of_three(server_id id) {
  config c;
  c.id = id;
  c.voters = {1, 2, 3};
  return c;
}

} // namespace

// A server that notices the leader's loss first sends its vote to one that still follows the old
// leader; that one answers with the old leader, not with a vote, and when it notices the loss a
// moment later it votes for itself. The first must tell it its (better) vote again at once: waiting
// for the resend timeout is what made elections at the defaults take 1.5-2 s now and then.
TEST(zab, a_vote_that_reached_a_still_following_server_is_told_again_at_once) {
  scripted s([](server_id id) {
    auto c = voter_of_three(id);
    c.election_timeout_ticks = 50; // a resend would take 50+ ticks: the test must not rely on it
    return c;
  });
  // Deliver everything (ticking, so decisions land) until 3 leads and 1 and 2 follow it.
  for (int t = 0; t < 10; ++t)
    s.round({1, 2, 3});
  auto& ps = s.ps;
  ASSERT_EQ(ps[3]->current_role(), role::leading);
  ASSERT_EQ(ps[1]->current_role(), role::following);
  ASSERT_EQ(ps[2]->current_role(), role::following);
  s.wire.clear();
  // 3 dies. 2 notices first; its vote reaches 1 while 1 still follows 3 (1 answers with leader 3).
  ps[2]->disconnected(3);
  s.collect(2);
  s.deliver({3}, 100);
  ASSERT_EQ(ps[1]->current_role(), role::following);
  // Now 1 notices, and votes for itself (2's vote for 2 is better: same zxid, higher id).
  ps[1]->disconnected(3);
  s.collect(1);
  int ticks = 0;
  while (ticks < 10 && !(ps[2]->current_role() == role::leading && ps[1]->current_role() == role::following)) {
    s.round({1, 2}, {3});
    ++ticks;
  }
  EXPECT_EQ(ps[2]->current_role(), role::leading);
  EXPECT_EQ(ps[1]->current_role(), role::following);
  EXPECT_LE(ticks, 3) << "decided within a few ticks, not after the resend timeout";
}

// The leader lease: a leader cut off from its followers stops serving ticks before any of them can
// start an election, so a read it answers can never miss a write another leader committed.
TEST(zab, a_cut_off_leader_stops_serving_before_its_followers_look_for_another) {
  scripted s(voter_of_three);
  auto& ps = s.ps;
  for (int t = 0; t < 10; ++t)
    s.round({1, 2, 3});
  ASSERT_EQ(ps[3]->current_role(), role::leading);
  ASSERT_TRUE(ps[3]->serving());
  int leader_stopped = -1, follower_looked = -1;
  for (int t = 1; t <= 30 && (leader_stopped < 0 || follower_looked < 0); ++t) {
    s.round({1, 2, 3}, {3});
    if (leader_stopped < 0 && !ps[3]->serving())
      leader_stopped = t;
    if (follower_looked < 0 && (ps[1]->current_role() != role::following || ps[2]->current_role() != role::following))
      follower_looked = t;
  }
  ASSERT_GT(leader_stopped, 0);
  ASSERT_GT(follower_looked, 0);
  EXPECT_LE(leader_stopped + 2, follower_looked) << "the leader must stop well before its followers give up on it";
  bool said = false;
  for (auto& n : s.notes)
    said = said || n.find("3: stepping down as leader of epoch 1: only {3} heard") != std::string::npos;
  EXPECT_TRUE(said) << "the step-down and its reason are noted for the log";
}

// An idle ensemble: the leader pings each follower every ping_every_ticks ticks, not every tick
// (every ping wakes two servers), and that is enough to keep the leader's lease and the followers'
// patience for the whole time.
TEST(zab, an_idle_leader_pings_every_few_ticks_and_keeps_its_lease) {
  scripted s(voter_of_three);
  auto& ps = s.ps;
  for (int t = 0; t < 10; ++t)
    s.round({1, 2, 3});
  ASSERT_EQ(ps[3]->current_role(), role::leading);
  int pings = 0, ticks = 60;
  for (int t = 0; t < ticks; ++t) {
    for (auto& m : s.wire)
      pings += m.from == 3 && std::holds_alternative<ping>(m.what);
    s.round({1, 2, 3});
  }
  EXPECT_EQ(ps[3]->current_role(), role::leading);
  EXPECT_TRUE(ps[3]->serving()) << "the lease never ran out";
  EXPECT_EQ(ps[1]->current_role(), role::following);
  EXPECT_EQ(ps[2]->current_role(), role::following);
  int every = config{}.ping_every_ticks;
  ASSERT_GT(every, 1);
  EXPECT_LE(pings, 2 * (ticks / every + 1)) << "pings to 2 followers, one per " << every << " ticks";
  EXPECT_GE(pings, 2 * (ticks / every - 1));
}

// A starting membership is each server's view of where the others are (through a proxy, by another
// name): a learner takes the leader's membership at the same version for its members and roles, but
// keeps the addresses it knows.
TEST(zab, a_learner_keeps_its_own_addresses_for_a_starting_membership) {
  scripted s([](server_id id) {
    membership m;
    for (server_id x : {1, 2, 3})
      m.members.push_back(member{x, id == 3 ? "via-proxy" : "direct", static_cast<uint16_t>(2890 + x), 0, -1, false});
    config c;
    c.id = id;
    c.initial = m;
    return c;
  });
  for (int t = 0; t < 20; ++t)
    s.round({1, 2, 3});
  auto& ps = s.ps;
  ASSERT_EQ(ps[3]->current_role(), role::leading) << "the highest id leads: its view is the one sent";
  ASSERT_TRUE(ps[1]->serving());
  for (server_id x : {1, 2, 3}) {
    ASSERT_NE(ps[3]->active_config().find(x), nullptr);
    EXPECT_EQ(ps[3]->active_config().find(x)->host, "via-proxy");
    EXPECT_EQ(ps[1]->active_config().find(x)->host, "direct") << "the learner keeps its own view";
  }
}

// CORRAL_CHECK (core/fatal.hpp) stops the process with exit code 70 and says what broke and where.
TEST(fatal_check, a_broken_invariant_stops_the_process_and_says_what_and_where) {
  EXPECT_EXIT(CORRAL_CHECK(1 + 1 == 3, "test", "arithmetic ", 42), ::testing::ExitedWithCode(70),
              "invariant broken \\(1 \\+ 1 == 3\\): arithmetic 42 \\[.*zab_test.cpp:[0-9]+\\]");
  int fine = 0;
  CORRAL_CHECK(fine == 0, "test", "never shown");
  EXPECT_EQ(fine, 0);
}
