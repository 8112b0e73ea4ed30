// The server's request ordering (core/request_pipeline): per-session FIFO, events before responses,
// nothing answered before it is durable or committed, learners forwarding to a leader, and what
// happens to queued requests when the server's role or log changes under them.
//
// The fixture plays the state machine actor: it keeps every effect, and carries out `submit` the
// way a standalone server does (the txn is logged at once; commit() is the log saying "durable").
// The two-server tests shuttle between a leader's and a follower's pipeline by hand, as ZAB would.
#include <gtest/gtest.h>

#include "core/fatal.hpp"
#include "core/request_pipeline.hpp"

using namespace corral;

namespace {

database_options options(int64_t server_id = 0) {
  database_options o;
  o.tick_ms = 100;
  o.container_check_ms = 0;
  o.server_id = server_id;
  return o;
}

struct reply {
  session_id session;
  int32_t xid;
  error_code err;
};

class server {
public:
  explicit server(request_pipeline::mode m, int64_t id = 0) : pipe(std::make_shared<database>(options(id), now), m) {}

  // Runs `f` with a fresh effect list and keeps what it produced; submits are logged at once.
  template <class F>
  void step(F&& f) {
    pipeline_effects out;
    f(out);
    for (auto& e : out) {
      if (auto* s = std::get_if<effect::submit>(&e)) {
        submitted.push_back(s->txn);
        pipe.logged(s->txn);
      }
      effects.push_back(std::move(e));
    }
  }

  int32_t send(session_id s, request_body body) {
    request r;
    r.xid = ++xid;
    r.body = std::move(body);
    step([&](auto& out) { pipe.handle(s, r, now, out); });
    return r.xid;
  }

  void commit_all() {
    step([&](auto& out) { pipe.commit(submitted.empty() ? 0 : submitted.back()->zxid, out); });
  }

  // A new session through the pipeline (standalone or leader), committed at once.
  session_id open_session() {
    open_request o;
    o.timeout_ms = 10000;
    o.new_password = "pw";
    o.peer = "127.0.0.1";
    auto ticket = ++tickets;
    step([&](auto& out) { pipe.open(ticket, o, now, out); });
    commit_all();
    for (auto& e : effects)
      if (auto* x = std::get_if<effect::opened>(&e); x && x->ticket == ticket)
        return x->session;
    ADD_FAILURE() << "the session was not opened";
    return 0;
  }

  std::vector<reply> replies() const {
    std::vector<reply> v;
    for (auto& e : effects)
      if (auto* r = std::get_if<effect::respond>(&e))
        v.push_back({r->session, r->resp.xid, r->resp.err});
    return v;
  }
  std::vector<int32_t> xids_answered(session_id s) const {
    std::vector<int32_t> v;
    for (auto& r : replies())
      if (r.session == s)
        v.push_back(r.xid);
    return v;
  }
  template <class T>
  size_t count() const {
    size_t n = 0;
    for (auto& e : effects)
      n += std::holds_alternative<T>(e) ? 1 : 0;
    return n;
  }
  template <class T>
  std::vector<T> all() const {
    std::vector<T> v;
    for (auto& e : effects)
      if (auto* x = std::get_if<T>(&e))
        v.push_back(*x);
    return v;
  }
  void clear() { effects.clear(); }

  static inline int64_t now = 1'700'000'000'000;
  request_pipeline pipe;
  pipeline_effects effects;
  std::vector<shared_txn> submitted;
  int32_t xid = 0;
  uint64_t tickets = 0;
};

create_request create(const std::string& path, create_mode mode = create_mode::persistent) {
  return create_request{path, "x", open_acl_unsafe(), mode, -1};
}
get_data_request get(const std::string& path, bool watch = false) { return get_data_request{path, watch}; }

} // namespace

// ---- one server ---------------------------------------------------------------------------------

TEST(request_pipeline, a_write_is_answered_only_once_durable_and_a_read_waits_behind_it) {
  server srv(request_pipeline::mode::standalone);
  auto s = srv.open_session();
  srv.clear();
  auto w = srv.send(s, create("/a"));
  auto r = srv.send(s, get("/a"));
  EXPECT_TRUE(srv.replies().empty()) << "nothing may be answered before the log says durable";
  EXPECT_EQ(srv.pipe.queued(s), 2u);
  srv.commit_all();
  ASSERT_EQ(srv.xids_answered(s), (std::vector<int32_t>{w, r}));
  EXPECT_EQ(srv.replies()[1].err, error_code::ok) << "the read sees the write it waited for";
  EXPECT_EQ(srv.pipe.queued(s), 0u);
}

TEST(request_pipeline, another_sessions_read_does_not_wait_for_this_sessions_write) {
  server srv(request_pipeline::mode::standalone);
  auto a = srv.open_session(), b = srv.open_session();
  srv.clear();
  srv.send(a, create("/a"));
  auto r = srv.send(b, get("/a"));
  ASSERT_EQ(srv.replies().size(), 1u);
  EXPECT_EQ(srv.replies()[0].xid, r);
  EXPECT_EQ(srv.replies()[0].err, error_code::no_node) << "answered at once, before /a is durable";
}

TEST(request_pipeline, a_watch_event_comes_before_the_response_that_reflects_the_change) {
  server srv(request_pipeline::mode::standalone);
  auto a = srv.open_session(), b = srv.open_session();
  srv.send(a, create("/a"));
  srv.commit_all();
  srv.send(b, get("/a", true)); // b watches /a
  srv.clear();
  srv.send(b, set_data_request{"/a", "y", -1});
  srv.commit_all();
  // What goes to clients, in order (the submit went to the log).
  ASSERT_EQ(srv.effects.size(), 3u);
  EXPECT_TRUE(std::holds_alternative<effect::submit>(srv.effects[0]));
  ASSERT_TRUE(std::holds_alternative<effect::notify>(srv.effects[1]));
  EXPECT_EQ(std::get<effect::notify>(srv.effects[1]).session, b);
  EXPECT_TRUE(std::holds_alternative<effect::respond>(srv.effects[2]));
}

TEST(request_pipeline, a_failed_log_write_fails_the_write_answers_the_read_behind_it_and_changes_nothing) {
  server srv(request_pipeline::mode::standalone);
  auto s = srv.open_session();
  srv.clear();
  auto w = srv.send(s, create("/a"));
  auto r = srv.send(s, get("/a"));
  srv.step([&](auto& out) { srv.pipe.log_failed("disk full", server::now, out); });
  auto replies = srv.replies();
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].xid, w);
  EXPECT_EQ(replies[0].err, error_code::system_error);
  EXPECT_EQ(replies[1].xid, r);
  EXPECT_EQ(replies[1].err, error_code::no_node);
  EXPECT_EQ(srv.pipe.in_flight(), 0u);
  EXPECT_EQ(srv.pipe.db().tree().find("/a"), nullptr);
  // The next write works (the database forgot the prepared create).
  srv.clear();
  srv.send(s, create("/a"));
  srv.commit_all();
  ASSERT_EQ(srv.replies().size(), 1u);
  EXPECT_EQ(srv.replies()[0].err, error_code::ok);
}

TEST(request_pipeline, a_connect_waiting_for_a_failed_log_write_is_refused) {
  server srv(request_pipeline::mode::standalone);
  open_request o;
  o.timeout_ms = 10000;
  o.new_password = "pw";
  srv.step([&](auto& out) { srv.pipe.open(7, o, server::now, out); });
  srv.step([&](auto& out) { srv.pipe.log_failed("disk full", server::now, out); });
  auto refused = srv.all<effect::refused>();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].ticket, 7u);
  EXPECT_EQ(refused[0].err, error_code::system_error);
}

TEST(request_pipeline, closing_answers_the_close_then_ends_the_session) {
  server srv(request_pipeline::mode::standalone);
  auto s = srv.open_session();
  srv.clear();
  auto c = srv.send(s, close_request{});
  srv.commit_all();
  ASSERT_EQ(srv.effects.size(), 4u); // the submit, a note, the response, the end
  EXPECT_EQ(srv.xids_answered(s), std::vector<int32_t>{c});
  EXPECT_TRUE(std::holds_alternative<effect::respond>(srv.effects[2]));
  ASSERT_TRUE(std::holds_alternative<effect::close_session>(srv.effects[3]));
  EXPECT_EQ(std::get<effect::close_session>(srv.effects.back()).session, s);
}

TEST(request_pipeline, an_expired_session_loses_its_ephemerals_and_is_told_so) {
  server srv(request_pipeline::mode::standalone);
  auto s = srv.open_session();
  srv.send(s, create("/e", create_mode::ephemeral));
  srv.commit_all();
  srv.clear();
  server::now += 60'000;
  srv.step([&](auto& out) { srv.pipe.timers(server::now, out); });
  ASSERT_EQ(srv.submitted.size(), 3u) << "open, /e, the expiry";
  srv.commit_all();
  auto expired = srv.all<effect::expire_session>();
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].session, s);
  EXPECT_EQ(srv.count<effect::close_session>(), 0u) << "expired, not closed";
  EXPECT_TRUE(srv.replies().empty()) << "the expiry is nobody's request";
  EXPECT_EQ(srv.pipe.db().tree().find("/e"), nullptr);
  server::now -= 60'000;
}

TEST(request_pipeline, a_server_that_is_not_serving_refuses_connects) {
  server srv(request_pipeline::mode::not_serving);
  srv.step([&](auto& out) {
    open_request o;
    o.new_password = "pw";
    srv.pipe.open(1, o, server::now, out);
  });
  auto refused = srv.all<effect::refused>();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].err, error_code::connection_loss);
}

TEST(request_pipeline, a_client_ahead_of_the_server_or_with_a_wrong_password_is_refused) {
  server srv(request_pipeline::mode::standalone);
  auto s = srv.open_session();
  srv.clear();
  open_request ahead;
  ahead.last_zxid_seen = srv.pipe.db().last_applied() + 1;
  srv.step([&](auto& out) { srv.pipe.open(10, ahead, server::now, out); });
  open_request wrong;
  wrong.session = s;
  wrong.password = "not it";
  srv.step([&](auto& out) { srv.pipe.open(11, wrong, server::now, out); });
  open_request right = wrong;
  right.password = "pw";
  srv.step([&](auto& out) { srv.pipe.open(12, right, server::now, out); });
  auto refused = srv.all<effect::refused>();
  ASSERT_EQ(refused.size(), 2u);
  EXPECT_EQ(refused[0].err, error_code::connection_loss);
  EXPECT_EQ(refused[1].err, error_code::session_expired);
  auto opened = srv.all<effect::opened>();
  ASSERT_EQ(opened.size(), 1u);
  EXPECT_EQ(opened[0].ticket, 12u);
  EXPECT_EQ(opened[0].session, s);
}

TEST(request_pipeline, txns_must_be_logged_in_zxid_order) {
  server srv(request_pipeline::mode::standalone);
  auto s = srv.open_session();
  auto t = std::make_shared<const txn>(srv.pipe.db().prepare(s, request{1, create("/a")}, server::now));
  srv.pipe.logged(t);
  EXPECT_EXIT(srv.pipe.logged(t), ::testing::ExitedWithCode(70), "logged after");
}

// ---- a leader and a follower --------------------------------------------------------------------

namespace {

// Two pipelines in one epoch; txns move from the leader to the follower as ZAB's proposals would.
struct pair_of_servers {
  server leader{request_pipeline::mode::not_serving, 1};
  server follower{request_pipeline::mode::not_serving, 2};

  pair_of_servers() {
    leader.step([&](auto& out) { leader.pipe.become(request_pipeline::mode::leading, zab_base, server::now, out); });
    follower.step([&](auto& out) { follower.pipe.become(request_pipeline::mode::following, 0, server::now, out); });
  }

  // Carries the follower's forwarded writes and opens to the leader, then every new leader txn to the
  // follower, and commits both.
  void replicate() {
    for (auto& e : follower.effects) {
      if (auto* w = std::get_if<effect::forward_write>(&e))
        leader.step([&](auto& out) { leader.pipe.forwarded_write(w->session, w->req, w->auth, server::now, out); });
      if (auto* o = std::get_if<effect::forward_open>(&e))
        leader.step(
            [&](auto& out) { leader.pipe.forwarded_open(o->session, o->timeout_ms, o->password, server::now, out); });
    }
    for (size_t i = shipped; i < leader.submitted.size(); ++i)
      follower.pipe.logged(leader.submitted[i]);
    shipped = leader.submitted.size();
    leader.commit_all();
    if (shipped > 0)
      follower.step([&](auto& out) { follower.pipe.commit(leader.submitted.back()->zxid, out); });
  }

  session_id open_on_follower() {
    open_request o;
    o.timeout_ms = 10000;
    o.new_password = "pw";
    o.peer = "127.0.0.1";
    follower.step([&](auto& out) { follower.pipe.open(99, o, server::now, out); });
    replicate();
    for (auto& x : follower.all<effect::opened>())
      if (x.ticket == 99)
        return x.session;
    ADD_FAILURE() << "the follower's session was not opened";
    return 0;
  }

  static constexpr zxid_t zab_base = zxid_t{1} << 32;
  size_t shipped = 0;
};

} // namespace

TEST(request_pipeline, a_followers_write_is_forwarded_and_answered_when_the_leaders_txn_commits) {
  pair_of_servers p;
  auto s = p.open_on_follower();
  ASSERT_NE(s, 0);
  EXPECT_EQ(s >> 56, 2) << "the follower picked the id: its server id is in the top byte";
  p.follower.clear();
  auto w = p.follower.send(s, create("/a"));
  auto r = p.follower.send(s, get("/a"));
  EXPECT_EQ(p.follower.count<effect::forward_write>(), 1u);
  EXPECT_TRUE(p.follower.replies().empty());
  p.replicate();
  ASSERT_EQ(p.follower.xids_answered(s), (std::vector<int32_t>{w, r}));
  EXPECT_EQ(p.follower.replies()[1].err, error_code::ok);
  EXPECT_TRUE(p.leader.replies().empty()) << "the leader answers no client of the follower";
}

TEST(request_pipeline, a_sync_waits_for_the_leaders_reply_and_so_do_the_reads_behind_it) {
  pair_of_servers p;
  auto s = p.open_on_follower();
  p.follower.clear();
  auto y = p.follower.send(s, sync_request{"/"});
  auto r = p.follower.send(s, get("/"));
  auto syncs = p.follower.all<effect::forward_sync>();
  ASSERT_EQ(syncs.size(), 1u);
  EXPECT_TRUE(p.follower.replies().empty());
  p.follower.step([&](auto& out) { p.follower.pipe.sync_reply(syncs[0].token + 1, out); }); // not ours
  EXPECT_TRUE(p.follower.replies().empty());
  p.follower.step([&](auto& out) { p.follower.pipe.sync_reply(syncs[0].token, out); });
  EXPECT_EQ(p.follower.xids_answered(s), (std::vector<int32_t>{y, r}));
}

// The case issue 12 asked to settle: a leader's own queued write must not hold its session's later
// requests when the leader steps down (the txn may never be applied here).
TEST(request_pipeline, a_leader_that_steps_down_fails_its_queued_writes_and_its_sessions_go_on) {
  pair_of_servers p;
  auto s = p.leader.open_session();
  p.shipped = p.leader.submitted.size();
  p.leader.clear();
  auto w = p.leader.send(s, create("/a"));
  auto r = p.leader.send(s, get("/a"));
  p.leader.step([&](auto& out) { p.leader.pipe.become(request_pipeline::mode::not_serving, 0, server::now, out); });
  auto replies = p.leader.replies();
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].xid, w);
  EXPECT_EQ(replies[0].err, error_code::connection_loss);
  EXPECT_EQ(replies[1].xid, r);
  EXPECT_EQ(replies[1].err, error_code::connection_loss);
  EXPECT_EQ(p.leader.count<effect::disconnect_all>(), 1u);
  // A request already on its way is refused: a server out of touch with its quorum answers nothing.
  p.leader.clear();
  auto late = p.leader.send(s, get("/"));
  ASSERT_EQ(p.leader.replies().size(), 1u);
  EXPECT_EQ(p.leader.replies()[0].xid, late);
  EXPECT_EQ(p.leader.replies()[0].err, error_code::connection_loss);
  // Following the new leader, the session's next read is answered at once: nothing is stuck.
  p.leader.step([&](auto& out) { p.leader.pipe.become(request_pipeline::mode::following, 0, server::now, out); });
  p.leader.clear();
  auto r2 = p.leader.send(s, get("/"));
  EXPECT_EQ(p.leader.xids_answered(s), std::vector<int32_t>{r2});
  // If the old proposal commits after all (the new leader had it), it is applied and answers nobody.
  p.leader.clear();
  p.leader.commit_all();
  EXPECT_TRUE(p.leader.replies().empty());
  EXPECT_NE(p.leader.pipe.db().tree().find("/a"), nullptr);
}

TEST(request_pipeline, a_truncated_log_fails_the_writes_it_dropped) {
  server srv(request_pipeline::mode::standalone);
  auto s = srv.open_session();
  auto kept = srv.pipe.db().last_applied();
  srv.clear();
  auto w = srv.send(s, create("/a"));
  auto r = srv.send(s, get("/"));
  srv.step([&](auto& out) { srv.pipe.truncate(kept, out); });
  EXPECT_EQ(srv.pipe.in_flight(), 0u);
  auto replies = srv.replies();
  ASSERT_EQ(replies.size(), 2u);
  EXPECT_EQ(replies[0].xid, w);
  EXPECT_EQ(replies[0].err, error_code::connection_loss);
  EXPECT_EQ(replies[1].xid, r);
  srv.clear();
  auto r2 = srv.send(s, get("/"));
  EXPECT_EQ(srv.xids_answered(s), std::vector<int32_t>{r2});
}

TEST(request_pipeline, a_snapshot_from_the_leader_fails_what_was_queued_and_pending_connects) {
  pair_of_servers p;
  auto s = p.open_on_follower();
  p.follower.clear();
  auto w = p.follower.send(s, create("/a"));
  open_request o;
  o.new_password = "pw";
  p.follower.step([&](auto& out) { p.follower.pipe.open(5, o, server::now, out); });
  auto fresh = std::make_shared<database>(options(2), server::now);
  p.follower.step([&](auto& out) { p.follower.pipe.replace_database(fresh, out); });
  EXPECT_EQ(&p.follower.pipe.db(), fresh.get());
  EXPECT_EQ(p.follower.xids_answered(s), std::vector<int32_t>{w});
  auto refused = p.follower.all<effect::refused>();
  ASSERT_EQ(refused.size(), 1u);
  EXPECT_EQ(refused[0].ticket, 5u);
  EXPECT_EQ(p.follower.pipe.queued(s), 0u);
}

TEST(request_pipeline, a_forwarded_write_reaching_a_server_that_no_longer_leads_is_ignored) {
  pair_of_servers p;
  auto s = p.open_on_follower();
  p.follower.send(s, create("/a"));
  p.leader.step([&](auto& out) { p.leader.pipe.become(request_pipeline::mode::not_serving, 0, server::now, out); });
  auto before = p.leader.submitted.size();
  p.replicate();
  EXPECT_EQ(p.leader.submitted.size(), before) << "only a leader proposes";
}

TEST(request_pipeline, only_a_leader_expires_sessions_and_a_follower_reports_its_active_ones) {
  pair_of_servers p;
  auto s = p.open_on_follower();
  p.follower.send(s, get("/"));
  EXPECT_EQ(p.follower.pipe.take_touched(), std::vector<session_id>{s});
  EXPECT_TRUE(p.follower.pipe.take_touched().empty());
  server::now += 60'000;
  p.leader.clear();
  p.follower.clear();
  p.follower.step([&](auto& out) { p.follower.pipe.timers(server::now, out); });
  EXPECT_EQ(p.follower.count<effect::submit>(), 0u);
  p.leader.step([&](auto& out) { p.leader.pipe.timers(server::now, out); });
  EXPECT_EQ(p.leader.count<effect::submit>(), 1u) << "the follower's session expires on the leader";
  server::now -= 60'000;
}

// ---- read-only mode -------------------------------------------------------------------------------

namespace {

// A follower that had a session and a node, then lost its quorum and went read-only.
struct cut_off_server {
  pair_of_servers p;
  server& srv = p.follower;
  session_id global = 0;

  cut_off_server() {
    global = p.open_on_follower();
    p.follower.send(global, create("/a"));
    p.replicate();
    srv.step([&](auto& out) { srv.pipe.become(request_pipeline::mode::not_serving, 0, server::now, out); });
    srv.step([&](auto& out) { srv.pipe.become(request_pipeline::mode::read_only, 0, server::now, out); });
    srv.clear();
  }

  // A connect; the opened or refused effect it produced.
  std::optional<pipeline_effect> connect(bool read_only, session_id s = 0, std::string password = "") {
    open_request o;
    o.session = s;
    o.password = std::move(password);
    o.timeout_ms = 10000;
    o.new_password = "ro-pw";
    o.peer = "127.0.0.1";
    o.read_only = read_only;
    auto ticket = ++srv.tickets;
    pipeline_effects out;
    srv.pipe.open(ticket, o, server::now, out);
    for (auto& e : out) {
      if (auto* x = std::get_if<effect::opened>(&e); x && x->ticket == ticket)
        return e;
      if (auto* x = std::get_if<effect::refused>(&e); x && x->ticket == ticket)
        return e;
    }
    return std::nullopt;
  }
  session_id open_read_only() {
    auto e = connect(true);
    auto* x = e ? std::get_if<effect::opened>(&*e) : nullptr;
    if (x == nullptr) {
      ADD_FAILURE() << "no read-only session";
      return 0;
    }
    EXPECT_TRUE(x->read_only) << "the ConnectResponse must say the session is read-only";
    return x->session;
  }
};

error_code refusal(const std::optional<pipeline_effect>& e) {
  auto* r = e ? std::get_if<effect::refused>(&*e) : nullptr;
  return r ? r->err : error_code::ok;
}

} // namespace

TEST(request_pipeline, a_read_only_server_serves_reads_to_read_only_sessions_and_refuses_writes) {
  cut_off_server c;
  auto s = c.open_read_only();
  ASSERT_NE(s, 0);
  EXPECT_TRUE(c.srv.pipe.db().is_local_session(s));
  EXPECT_EQ(s >> 56, 2) << "its id is this server's, like any session it opens";
  auto r = c.srv.send(s, get("/a"));
  auto w = c.srv.send(s, create("/b"));
  auto y = c.srv.send(s, sync_request{"/"});
  auto m = c.srv.send(s, multi_request{{create("/c")}});
  ASSERT_EQ(c.srv.xids_answered(s), (std::vector<int32_t>{r, w, y, m})) << "nothing waits: nothing is written";
  auto replies = c.srv.replies();
  EXPECT_EQ(replies[0].err, error_code::ok) << "the node written before the quorum was lost is read";
  EXPECT_EQ(replies[1].err, error_code::not_read_only);
  EXPECT_EQ(replies[2].err, error_code::not_read_only) << "a sync needs the leader, as in ZooKeeper";
  EXPECT_EQ(replies[3].err, error_code::not_read_only);
  EXPECT_EQ(c.srv.count<effect::submit>() + c.srv.count<effect::forward_write>(), 0u);
  EXPECT_EQ(c.srv.pipe.db().tree().find("/b"), nullptr);
}

TEST(request_pipeline, a_read_only_server_refuses_clients_that_do_not_allow_it_and_the_ensembles_sessions) {
  cut_off_server c;
  EXPECT_EQ(refusal(c.connect(false)), error_code::connection_loss) << "a client that wants writes moves on";
  auto* info = c.srv.pipe.db().sessions().find(c.global);
  ASSERT_NE(info, nullptr);
  EXPECT_EQ(refusal(c.connect(true, c.global, info->password)), error_code::connection_loss)
      << "a session of the ensemble is not resumed where it could not write";
  EXPECT_EQ(refusal(c.connect(true, c.global + 1000, "x")), error_code::session_expired)
      << "one this server never heard of is expired, as ZooKeeper says";
  auto s = c.open_read_only();
  EXPECT_EQ(refusal(c.connect(true, s, "wrong")), error_code::session_expired);
  auto again = c.connect(true, s, "ro-pw");
  ASSERT_TRUE(again && std::holds_alternative<effect::opened>(*again)) << "its own session resumes here";
  EXPECT_TRUE(std::get<effect::opened>(*again).read_only);
}

TEST(request_pipeline, read_only_sessions_end_when_the_server_leaves_read_only_mode_and_are_never_saved) {
  cut_off_server c;
  auto s = c.open_read_only();
  c.srv.send(s, get("/a", true));
  EXPECT_EQ(c.srv.pipe.db().watches().summary().watches, 1u);
  for (auto& img : c.srv.pipe.db().session_images())
    EXPECT_NE(img.id, s) << "a snapshot never holds a read-only session";
  c.srv.clear();
  c.srv.step([&](auto& out) { c.srv.pipe.become(request_pipeline::mode::following, 0, server::now, out); });
  auto closed = c.srv.all<effect::close_session>();
  ASSERT_EQ(closed.size(), 1u);
  EXPECT_EQ(closed[0].session, s);
  EXPECT_EQ(c.srv.pipe.db().sessions().find(s), nullptr);
  EXPECT_EQ(c.srv.pipe.db().watches().summary().watches, 0u) << "its watches went with it";
  EXPECT_NE(c.srv.pipe.db().sessions().find(c.global), nullptr) << "the ensemble's sessions stay";
}

TEST(request_pipeline, a_read_only_session_expires_on_its_server_and_a_close_ends_it) {
  cut_off_server c;
  auto idle = c.open_read_only();
  auto busy = c.open_read_only();
  auto closing = c.open_read_only();
  auto x = c.srv.send(closing, close_request{});
  EXPECT_EQ(c.srv.xids_answered(closing), std::vector<int32_t>{x});
  EXPECT_EQ(c.srv.all<effect::close_session>().size(), 1u);
  server::now += 1'500; // the negotiated timeout is 2 s (20 ticks of 100 ms)
  c.srv.send(busy, get("/a"));
  server::now += 1'500;
  c.srv.clear();
  c.srv.step([&](auto& out) { c.srv.pipe.timers(server::now, out); });
  auto expired = c.srv.all<effect::expire_session>();
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(expired[0].session, idle);
  EXPECT_NE(c.srv.pipe.db().sessions().find(busy), nullptr);
  EXPECT_EQ(c.srv.count<effect::submit>(), 0u) << "no txn: the ensemble never knew these sessions";
  server::now -= 3'000;
}

TEST(request_pipeline, read_only_mode_begins_only_from_not_serving) {
  server srv(request_pipeline::mode::not_serving, 1);
  srv.step([&](auto& out) { srv.pipe.become(request_pipeline::mode::following, 0, server::now, out); });
  EXPECT_EXIT(srv.step([&](auto& out) { srv.pipe.become(request_pipeline::mode::read_only, 0, server::now, out); }),
              ::testing::ExitedWithCode(70), "read-only mode begins only after the server stopped serving");
}
