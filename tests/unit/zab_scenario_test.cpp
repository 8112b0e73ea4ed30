// Scripted scenarios for the ZAB core, in the manner of etcd raft's interaction tests: each file in
// tests/unit/zab_scenarios/ is a list of commands, each followed by "----" and the output it must
// print: every message delivered ("2<-1 ...") and every ready batch the servers produce (epochs
// persisted, log writes, commits, role changes, notes and the messages sent, "1->2 ..."). Reading one is the quickest
// way to learn how an election, a DIFF, a TRUNC or a step-down goes; a simulator finding becomes a readable regression
// by writing one.
//
// Commands (server ids are numbers; "all" means every server that is up):
//   start VOTERS... [observers IDS...]   create the ensemble (fresh disks) and start every server
//   tick IDS|all [xN]                    N ticks (default 1)
//   deliver [N]                          deliver queued messages (up to N; default: until none is left)
//   propose ID [N]                       the leader ID proposes N txns (default 1)
//   fsync manual|auto|IDS                log writes become durable only on "fsync IDS", or at once (default)
//   crash ID / restart ID                kill -9 (unsynced writes are lost) / start again from disk
//   isolate ID                           cut ID off: its connections break, and both ends notice
//   stall ID                             ID's messages stop arriving, and nobody is told (a hung
//                                        network or a paused process)
//   heal                                 undo isolate and stall
//   snapshot ID                          the server's applied state becomes its snapshot; its log is cut
//   status                               role, epoch, leader, logged, committed and applied txns
//
// After every command the driver checks ZAB's promises: at most one established leader per epoch,
// and every server's applied txns are a prefix of one global order.
//
// To write the expected output of a new or changed scenario, run the test with
// CORRAL_REWRITE_SCENARIOS=1 and read the diff: it is the protocol's behaviour, so review it as code.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include <boost/filesystem.hpp>

#include "core/format.hpp"
#include "core/overload.hpp"
#include "core/zab.hpp"

using namespace corral;
using namespace corral::zab;

namespace {

std::string hex(zxid_t z) { return to_hex(static_cast<uint64_t>(z)); }

std::string describe(const body& b) {
  std::ostringstream os;
  os << message_name(b);
  std::visit(
      overload{
          [&](const notification& n) {
            os << " vote=(" << n.v.leader << ", " << hex(n.v.zxid) << ", epoch " << n.v.epoch << ") round " << n.round
               << " from a " << role_name(n.sender_role) << " server";
          },
          [&](const follower_info& f) {
            os << " accepted epoch " << f.accepted_epoch << " last " << hex(f.last_zxid)
               << (f.observer ? " (observer)" : "");
          },
          [&](const leader_info& l) { os << " new epoch " << l.new_epoch; },
          [&](const ack_epoch& a) { os << " current epoch " << a.current_epoch << " last " << hex(a.last_zxid); },
          [&](const catch_up& c) {
            const char* how[] = {"DIFF", "TRUNC", "SNAP"};
            os << " " << how[static_cast<int>(c.how)];
            if (c.how == catch_up::kind::trunc)
              os << " to " << hex(c.trunc_to);
            if (c.how == catch_up::kind::snap)
              os << " at " << hex(c.snap_zxid);
            os << ", " << c.entries.size() << " entries, commit " << hex(c.commit) << ", new epoch " << c.new_epoch;
          },
          [&](const ack& a) { os << " " << hex(a.zxid); },
          [&](const ack_newleader& a) { os << " epoch " << a.epoch; },
          [&](const up_to_date& u) { os << " commit " << hex(u.commit); },
          [&](const proposal& p) { os << " " << hex(p.e.zxid) << " t" << p.e.payload->cxid; },
          [&](const commit& c) { os << " " << hex(c.zxid); },
          [&](const inform& i) { os << " " << hex(i.e.zxid) << " t" << i.e.payload->cxid; },
          [&](const ping& p) { os << " commit " << hex(p.commit); },
          [&](const pong&) {},
      },
      b);
  return os.str();
}

struct node {
  server_id id = 0;
  bool up = false;
  // On disk.
  persistent_state ps;
  zxid_t snap_zxid = 0;
  std::vector<int> snap_applied;
  std::vector<entry> log;
  // In memory.
  std::unique_ptr<peer> p;
  std::vector<entry> unsynced;
  std::vector<int> applied;
  zxid_t applied_zxid = 0;
};

class scenario {
public:
  std::string run(const std::string& cmd, std::vector<std::string> args) {
    out_.str("");
    if (cmd == "start")
      start_ensemble(args);
    else if (cmd == "tick")
      tick(args);
    else if (cmd == "deliver")
      deliver(args.empty() ? 100000 : std::stoi(args[0]));
    else if (cmd == "propose")
      propose(std::stoll(args.at(0)), args.size() > 1 ? std::stoi(args[1]) : 1);
    else if (cmd == "fsync")
      fsync(args);
    else if (cmd == "crash")
      crash(std::stoll(args.at(0)));
    else if (cmd == "restart")
      restart(std::stoll(args.at(0)));
    else if (cmd == "isolate")
      isolate(std::stoll(args.at(0)));
    else if (cmd == "stall")
      stalled_.insert(std::stoll(args.at(0)));
    else if (cmd == "heal")
      heal();
    else if (cmd == "snapshot")
      snapshot(std::stoll(args.at(0)));
    else if (cmd == "status")
      status();
    else
      out_ << "unknown command " << cmd << "\n";
    check();
    return out_.str().empty() ? "ok\n" : out_.str();
  }

  const std::string& failure() const { return failure_; }

private:
  // ---- commands ----
  void start_ensemble(const std::vector<std::string>& args) {
    bool obs = false;
    for (auto& a : args) {
      if (a == "observers") {
        obs = true;
        continue;
      }
      auto id = std::stoll(a);
      (obs ? observers_ : voters_).push_back(id);
      nodes_[id].id = id;
    }
    // All start at once: each one's first votes wait on the links for the others.
    for (auto& [id, n] : nodes_)
      n.up = true;
    for (auto& [id, n] : nodes_)
      boot(n, false);
  }

  void tick(const std::vector<std::string>& args) {
    int times = 1;
    std::vector<server_id> ids;
    for (auto& a : args) {
      if (a[0] == 'x')
        times = std::stoi(a.substr(1));
      else if (a == "all")
        for (auto& [id, n] : nodes_)
          ids.push_back(id);
      else
        ids.push_back(std::stoll(a));
    }
    for (int i = 0; i < times; ++i)
      for (auto id : ids)
        if (auto& n = nodes_.at(id); n.up) {
          n.p->tick();
          drain(n);
        }
  }

  // Round-robin over the links, one message each per pass, FIFO within a link (as TCP is).
  void deliver(int limit) {
    int delivered = 0;
    bool any = true;
    while (any && delivered < limit) {
      any = false;
      for (auto& [k, q] : links_) {
        if (q.empty() || delivered >= limit)
          continue;
        auto m = q.front();
        q.pop_front();
        any = true;
        ++delivered;
        auto& n = nodes_.at(m.to);
        out_ << m.to << "<-" << m.from << " " << describe(m.what) << "\n";
        n.p->step(m);
        drain(n);
      }
    }
  }

  void propose(server_id id, int count) {
    auto& n = nodes_.at(id);
    for (int i = 0; i < count; ++i) {
      auto t = std::make_shared<txn>();
      t->cxid = ++next_txn_;
      auto z = n.p->propose(t);
      out_ << id << ": propose t" << t->cxid << (z == 0 ? " refused (not an established leader)" : " as " + hex(z))
           << "\n";
      drain(n);
    }
  }

  void fsync(const std::vector<std::string>& args) {
    if (args.at(0) == "manual" || args.at(0) == "auto") {
      auto_fsync_ = args[0] == "auto";
      return;
    }
    for (auto& a : args)
      make_durable(nodes_.at(std::stoll(a)), true);
  }

  void crash(server_id id) {
    auto& n = nodes_.at(id);
    out_ << id << ": crash (" << n.unsynced.size() << " unsynced entries lost)\n";
    n.up = false;
    n.p.reset();
    n.unsynced.clear();
    for (auto& [other, o] : nodes_)
      if (other != id)
        break_link(id, other);
  }

  void restart(server_id id) { boot(nodes_.at(id), true); }

  void isolate(server_id id) {
    isolated_.insert(id);
    for (auto& [other, o] : nodes_)
      if (other != id)
        break_link(id, other);
  }

  void heal() {
    stalled_.clear();
    auto was = std::exchange(isolated_, {});
    for (auto id : was)
      for (auto& [other, o] : nodes_)
        if (other != id && o.up && nodes_.at(id).up)
          connect(id, other);
  }

  void snapshot(server_id id) {
    auto& n = nodes_.at(id);
    n.snap_zxid = n.applied_zxid;
    n.snap_applied = n.applied;
    n.log.erase(std::remove_if(n.log.begin(), n.log.end(), [&](const entry& e) { return e.zxid <= n.snap_zxid; }),
                n.log.end());
    out_ << id << ": snapshot at " << hex(n.snap_zxid) << "\n";
  }

  void status() {
    for (auto& [id, n] : nodes_) {
      out_ << id << ": ";
      if (!n.up) {
        out_ << "down\n";
        continue;
      }
      out_ << role_name(n.p->current_role()) << (n.p->serving() ? " serving" : "") << ", epoch " << n.p->epoch()
           << ", leader " << n.p->leader() << ", logged " << hex(n.p->last_zxid()) << ", committed "
           << hex(n.p->committed()) << ", applied [";
      for (size_t i = 0; i < n.applied.size(); ++i)
        out_ << (i ? " " : "") << "t" << n.applied[i];
      out_ << "]\n";
    }
  }

  // ---- the caller's side of the contract ----
  void boot(node& n, bool connect_now) {
    config c;
    c.id = n.id;
    c.voters = voters_;
    c.observers = observers_;
    c.election_timeout_ticks = 3;
    c.init_limit_ticks = 10;
    c.sync_limit_ticks = 5;
    c.lease_margin_ticks = 2;
    c.history_limit = 4; // small, so that a learner far behind gets a SNAP
    c.seed = static_cast<uint64_t>(n.id);
    n.applied = n.snap_applied;
    n.applied_zxid = n.snap_zxid;
    node* raw = &n;
    n.p = std::make_unique<peer>(c, n.ps, n.snap_zxid, n.log, n.applied_zxid, [raw] {
      return std::make_pair(raw->applied_zxid,
                            std::shared_ptr<const void>(std::make_shared<std::vector<int>>(raw->applied)));
    });
    n.up = true;
    out_ << n.id << ": start (epochs " << n.ps.accepted_epoch << "/" << n.ps.current_epoch << ", log to "
         << hex(n.log.empty() ? n.snap_zxid : n.log.back().zxid) << ")\n";
    drain(n);
    if (connect_now)
      for (auto& [other, o] : nodes_)
        if (other != n.id && o.up)
          connect(n.id, other);
  }

  void connect(server_id a, server_id b) {
    if (isolated_.count(a) || isolated_.count(b))
      return;
    for (auto [x, y] : {std::make_pair(a, b), std::make_pair(b, a)}) {
      nodes_.at(x).p->connected(y);
      drain(nodes_.at(x));
    }
  }

  void break_link(server_id a, server_id b) {
    links_[{a, b}].clear();
    links_[{b, a}].clear();
    for (auto [x, y] : {std::make_pair(a, b), std::make_pair(b, a)})
      if (auto& n = nodes_.at(x); n.up) {
        n.p->disconnected(y);
        drain(n);
      }
  }

  // A message to a server that is down or cut off is lost (there is no connection to carry it).
  bool reachable(server_id from, server_id to) const {
    return nodes_.at(to).up && !isolated_.count(from) && !isolated_.count(to) && !stalled_.count(from) &&
           !stalled_.count(to);
  }

  void make_durable(node& n, bool print = false) {
    if (n.unsynced.empty())
      return;
    auto last = n.unsynced.back().zxid;
    n.log.insert(n.log.end(), n.unsynced.begin(), n.unsynced.end());
    n.unsynced.clear();
    if (print)
      out_ << n.id << ": fsync to " << hex(last) << "\n";
    n.p->logged(last);
    drain(n);
  }

  // Takes and prints the server's readies and carries out the contract's steps, in order.
  void drain(node& n) {
    for (;;) {
      auto r = n.p->take_ready();
      if (r.empty())
        return;
      print(n.id, r);
      if (r.accepted_epoch)
        n.ps.accepted_epoch = *r.accepted_epoch;
      if (r.current_epoch)
        n.ps.current_epoch = *r.current_epoch;
      bool synchronous_write = false;
      if (r.truncate_to) {
        auto z = *r.truncate_to;
        auto cut = [z](std::vector<entry>& v) {
          v.erase(std::remove_if(v.begin(), v.end(), [z](const entry& e) { return e.zxid > z; }), v.end());
        };
        cut(n.log);
        cut(n.unsynced);
        synchronous_write = true;
      }
      if (r.install_snapshot) {
        n.snap_zxid = r.install_snapshot->first;
        n.snap_applied = *std::static_pointer_cast<const std::vector<int>>(r.install_snapshot->second);
        n.log.clear();
        n.unsynced.clear();
        n.applied = n.snap_applied;
        n.applied_zxid = n.snap_zxid;
        synchronous_write = true;
      }
      n.unsynced.insert(n.unsynced.end(), r.to_log.begin(), r.to_log.end());
      if (r.commit_to > n.applied_zxid)
        apply(n, r.commit_to);
      for (auto& m : r.messages)
        if (reachable(m.from, m.to))
          links_[{m.from, m.to}].push_back(m);
      for (auto other : r.disconnect)
        break_link(n.id, other);
      if (auto_fsync_ && !n.unsynced.empty())
        make_durable(n);
      else if (synchronous_write && n.unsynced.empty()) {
        n.p->logged(n.p->last_zxid());
      }
    }
  }

  void print(server_id id, const ready& r) {
    for (auto& line : r.notes)
      out_ << id << ": note: " << line << "\n";
    if (r.became)
      out_ << id << ": became " << role_name(*r.became) << "\n";
    if (r.serving_changed)
      out_ << id << ": " << (nodes_.at(id).p->serving() ? "serving" : "not serving") << "\n";
    if (r.accepted_epoch || r.current_epoch)
      out_ << id << ": persist epochs"
           << (r.accepted_epoch ? " accepted=" + std::to_string(*r.accepted_epoch) : std::string())
           << (r.current_epoch ? " current=" + std::to_string(*r.current_epoch) : std::string()) << "\n";
    if (r.truncate_to)
      out_ << id << ": truncate the log after " << hex(*r.truncate_to) << "\n";
    if (r.install_snapshot)
      out_ << id << ": install a snapshot at " << hex(r.install_snapshot->first) << "\n";
    if (!r.to_log.empty()) {
      out_ << id << ": log";
      for (auto& e : r.to_log)
        out_ << " " << hex(e.zxid);
      out_ << "\n";
    }
    if (r.commit_to != 0)
      out_ << id << ": commit to " << hex(r.commit_to) << "\n";
    for (auto& m : r.messages)
      out_ << m.from << "->" << m.to << " " << describe(m.what) << (reachable(m.from, m.to) ? "" : " (lost)") << "\n";
    for (auto other : r.disconnect)
      out_ << id << ": disconnect " << other << "\n";
  }

  void apply(node& n, zxid_t upto) {
    std::vector<entry> all = n.log;
    all.insert(all.end(), n.unsynced.begin(), n.unsynced.end());
    for (auto& e : all) {
      if (e.zxid <= n.applied_zxid || e.zxid > upto)
        continue;
      n.applied.push_back(e.payload->cxid);
      n.applied_zxid = e.zxid;
    }
    if (n.applied_zxid != upto)
      fail(std::to_string(n.id) + " was told to apply to " + hex(upto) + " but holds entries only to " +
           hex(n.applied_zxid));
  }

  // ---- ZAB's promises ----
  void check() {
    for (auto& [id, n] : nodes_) {
      if (!n.up)
        continue;
      if (n.p->serving() && n.p->current_role() == role::leading) {
        auto [it, fresh] = leaders_.emplace(n.p->epoch(), id);
        if (!fresh && it->second != id)
          fail("two established leaders in epoch " + std::to_string(n.p->epoch()));
      }
      for (size_t i = 0; i < n.applied.size(); ++i) {
        if (i == order_.size())
          order_.push_back(n.applied[i]);
        else if (order_[i] != n.applied[i])
          fail(std::to_string(id) + " applied t" + std::to_string(n.applied[i]) + " at position " + std::to_string(i) +
               " where another server applied t" + std::to_string(order_[i]));
      }
    }
  }

  void fail(const std::string& why) {
    if (failure_.empty())
      failure_ = why;
  }

  std::vector<server_id> voters_, observers_;
  std::map<server_id, node> nodes_;
  std::map<std::pair<server_id, server_id>, std::deque<message>> links_;
  std::set<server_id> isolated_; // connections broken (both ends notice)
  std::set<server_id> stalled_;  // connections up, but nothing arrives (no one notices but by silence)
  bool auto_fsync_ = true;
  int next_txn_ = 0;
  std::map<uint64_t, server_id> leaders_; // established leader per epoch
  std::vector<int> order_;                // the one order every server applies a prefix of
  std::ostringstream out_;
  std::string failure_;
};

struct block {
  std::string command; // the command line
  std::string expected;
  std::vector<std::string> comments; // lines before the command
};

std::vector<block> parse(const std::string& path) {
  std::ifstream in(path);
  std::vector<block> blocks;
  std::string line;
  block cur;
  enum { before, in_output } at = before;
  while (std::getline(in, line)) {
    if (at == before) {
      if (line.empty() || line[0] == '#') {
        cur.comments.push_back(line);
      } else if (line == "----") {
        at = in_output;
      } else {
        cur.command = line;
      }
      continue;
    }
    if (line.empty()) {
      blocks.push_back(std::move(cur));
      cur = block{};
      at = before;
    } else {
      cur.expected += line + "\n";
    }
  }
  if (!cur.command.empty())
    blocks.push_back(std::move(cur));
  return blocks;
}

class zab_scenarios : public ::testing::TestWithParam<std::string> {};

} // namespace

TEST_P(zab_scenarios, print_what_the_script_expects) {
  auto path = std::string(ZAB_SCENARIO_DIR) + "/" + GetParam();
  auto blocks = parse(path);
  ASSERT_FALSE(blocks.empty()) << path << " has no commands";
  bool rewrite = std::getenv("CORRAL_REWRITE_SCENARIOS") != nullptr;
  scenario s;
  std::string rewritten;
  for (auto& b : blocks) {
    std::istringstream words(b.command);
    std::string cmd, w;
    std::vector<std::string> args;
    words >> cmd;
    while (words >> w)
      args.push_back(w);
    auto got = s.run(cmd, args);
    if (!rewrite) {
      EXPECT_EQ(got, b.expected) << GetParam() << ": after \"" << b.command << "\"";
    }
    for (auto& c : b.comments)
      rewritten += c + "\n";
    rewritten += b.command + "\n----\n" + got + "\n";
    ASSERT_EQ(s.failure(), "") << GetParam() << ": after \"" << b.command << "\"";
  }
  if (rewrite)
    std::ofstream(path) << rewritten;
}

INSTANTIATE_TEST_SUITE_P(files, zab_scenarios, ::testing::ValuesIn([] {
                           std::vector<std::string> names;
                           for (auto& f : boost::filesystem::directory_iterator(ZAB_SCENARIO_DIR))
                             if (f.path().extension() == ".txt")
                               names.push_back(f.path().filename().string());
                           std::sort(names.begin(), names.end());
                           return names;
                         }()),
                         [](const auto& test) {
                           auto n = test.param.substr(0, test.param.size() - 4);
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });
