#include "core/request_pipeline.hpp"

#include "core/fatal.hpp"
#include "core/format.hpp"
#include "core/overload.hpp"

namespace corral {

const char* mode_name(request_pipeline::mode m) {
  switch (m) {
    case request_pipeline::mode::standalone: return "standalone";
    case request_pipeline::mode::leading: return "leading";
    case request_pipeline::mode::following: return "following";
    case request_pipeline::mode::not_serving: return "not serving";
    case request_pipeline::mode::read_only: return "read-only";
  }
  return "?";
}

request_pipeline::request_pipeline(std::shared_ptr<database> db, mode m) : db_(std::move(db)), mode_(m) {
  CORRAL_CHECK(db_ != nullptr, "pipeline", "a pipeline needs a database");
}

namespace {

response error_response(int32_t xid, zxid_t zxid, error_code err, std::string detail) {
  response r;
  r.xid = xid;
  r.zxid = zxid;
  r.err = err;
  r.detail = std::move(detail);
  return r;
}

} // namespace

// ---- requests -----------------------------------------------------------------------------------

void request_pipeline::handle(session_id s, request r, int64_t now_ms, pipeline_effects& out) {
  auto& db = *db_;
  if (!db.touch(s, now_ms)) {
    out.push_back(effect::respond{s, error_response(r.xid, db.last_applied(), error_code::session_expired,
                                                    "session " + to_hex(s) + " is closing")});
    return;
  }
  if (mode_ == mode::not_serving) {
    // A request that was on its way when this server stopped serving: its connection is closing.
    out.push_back(effect::respond{s, error_response(r.xid, db.last_applied(), error_code::connection_loss,
                                                    "this server is not in touch with a quorum; try another server")});
    return;
  }
  if (mode_ == mode::read_only)
    return handle_read_only(s, r, out);
  bool write = is_write(r.body);
  if (mode_ == mode::following) {
    touched_.insert(s);
    if (std::holds_alternative<sync_request>(r.body)) {
      auto token = next_token_++;
      waiting_[s].push_back(pending_sync{token, std::move(r)});
      out.push_back(effect::forward_sync{token});
      return;
    }
    if (write) {
      auto* info = db.sessions().find(s);
      out.push_back(effect::forward_write{s, r, info ? info->auth : auth_list{}});
      waiting_[s].push_back(remote_write{r.xid});
      return;
    }
  }
  if (write) {
    auto xid = r.xid;
    auto t = prepare(s, r, now_ms);
    waiting_[s].push_back(local_write{t.zxid, xid});
    submit(std::move(t), out);
    return;
  }
  if (auto it = waiting_.find(s); it != waiting_.end()) {
    it->second.push_back(pending_read{std::move(r)}); // after this session's pending writes
    return;
  }
  answer_read(s, r, out);
}

txn request_pipeline::prepare(session_id s, const request& r, int64_t now_ms) {
  if (std::holds_alternative<reconfig_request>(r.body) && membership_view_) {
    auto view = membership_view_();
    return db_->prepare(s, r, now_ms, &view);
  }
  return db_->prepare(s, r, now_ms);
}

void request_pipeline::submit(txn t, pipeline_effects& out) {
  for (auto& w : db_->take_quota_warnings()) // soft quota limits are only logged, as ZooKeeper does
    out.push_back(effect::note{true, std::move(w)});
  out.push_back(effect::submit{std::make_shared<const txn>(std::move(t))});
}

void request_pipeline::answer_read(session_id s, const request& r, pipeline_effects& out) {
  auto o = db_->read(s, r);
  deliver(o, true, out);
}

// Read-only mode: reads and session-local requests are answered from this server's tree (nothing
// waits: nothing is written); writes and syncs are refused, as ZooKeeper's ReadOnlyRequestProcessor
// refuses them; a close ends the session here (only read-only sessions can be attached).
void request_pipeline::handle_read_only(session_id s, const request& r, pipeline_effects& out) {
  auto& db = *db_;
  if (std::holds_alternative<close_request>(r.body) && db.is_local_session(s)) {
    db.end_local_session(s);
    out.push_back(effect::note{false, "read-only session " + to_hex(s) + " closed by its client"});
    out.push_back(effect::respond{s, error_response(r.xid, db.last_applied(), error_code::ok, "")});
    out.push_back(effect::close_session{s});
    return;
  }
  if (is_write(r.body) || std::holds_alternative<sync_request>(r.body)) {
    out.push_back(effect::respond{
        s, error_response(r.xid, db.last_applied(), error_code::not_read_only,
                          std::string(request_name(r.body)) +
                              " needs a quorum: this server is read-only (it is cut off from its ensemble's quorum); "
                              "retry on a server in touch with a quorum")});
    return;
  }
  answer_read(s, r, out);
}

// Events first, then the response, then the end of the session: a client sees a watch event before
// any response that reflects the change.
void request_pipeline::deliver(outcome& o, bool respond, pipeline_effects& out) {
  for (auto& d : o.events)
    out.push_back(effect::notify{d.session, std::move(d.event)});
  if (respond)
    out.push_back(effect::respond{o.session, std::move(o.resp)});
  if (o.ends_session)
    out.push_back(effect::close_session{o.session});
}

// Answers the reads queued behind a session's writes, up to its next write or sync.
void request_pipeline::drain(session_id s, pipeline_effects& out) {
  auto it = waiting_.find(s);
  if (it == waiting_.end())
    return;
  auto& q = it->second;
  while (!q.empty() && std::holds_alternative<pending_read>(q.front())) {
    auto r = std::move(std::get<pending_read>(q.front()).req);
    q.pop_front();
    answer_read(s, r, out);
  }
  if (q.empty())
    waiting_.erase(it);
}

// True if `t` is the client write at the head of its session's queue (and pops it): a write
// prepared here is known by its zxid, one forwarded to the leader by its session and xid.
bool request_pipeline::pop_client_write(const txn& t) {
  auto it = waiting_.find(t.session);
  if (it == waiting_.end() || it->second.empty())
    return false;
  auto& front = it->second.front();
  bool mine =
      std::visit(overload{[&](const local_write& w) { return w.zxid == t.zxid; },
                          [&](const remote_write& w) { return w.xid == t.cxid; }, [](const auto&) { return false; }},
                 front);
  if (mine)
    it->second.pop_front();
  return mine;
}

// ---- connects -----------------------------------------------------------------------------------

void request_pipeline::open(uint64_t ticket, const open_request& req, int64_t now_ms, pipeline_effects& out) {
  auto& db = *db_;
  auto refuse = [&](error_code err, std::string detail) {
    out.push_back(effect::refused{ticket, err, std::move(detail), db.last_applied()});
  };
  if (req.last_zxid_seen > db.last_applied()) {
    auto why = "client has seen zxid " + to_hex(req.last_zxid_seen) + " but this server is at " +
               to_hex(db.last_applied()) + "; try another server";
    out.push_back(effect::note{true, "refusing client " + req.peer + ": " + why});
    return refuse(error_code::connection_loss, why);
  }
  if (mode_ == mode::not_serving)
    return refuse(error_code::connection_loss,
                  "this server is not serving (an election or a sync is under way); try another server");
  if (mode_ == mode::read_only)
    return open_read_only(ticket, req, now_ms, out);
  if (req.session == 0 && mode_ == mode::following) {
    // A learner picks the id (its server id is in the top byte) and asks the leader to create it.
    auto id = db.new_session_id();
    opening_forwarded_.emplace(id, pending_open{ticket, req.peer, req.subject});
    out.push_back(effect::forward_open{id, req.timeout_ms, req.new_password});
    return;
  }
  if (req.session == 0) {
    auto t = db.prepare_open_session(req.timeout_ms, req.new_password, now_ms);
    opening_.emplace(t.zxid, pending_open{ticket, req.peer, req.subject});
    submit(std::move(t), out);
    return;
  }
  resume(ticket, req, now_ms, out);
}

// Resuming: the session lives in the ensemble's tree (it may have moved here from another server), or
// it is a read-only session of this server.
void request_pipeline::resume(uint64_t ticket, const open_request& req, int64_t now_ms, pipeline_effects& out) {
  auto& db = *db_;
  if (db.check_resume(req.session, req.password) != error_code::ok) {
    out.push_back(effect::note{false, "refused to resume session " + to_hex(req.session) + " from " + req.peer +
                                          ": expired or wrong password"});
    out.push_back(effect::refused{ticket, error_code::session_expired,
                                  "session " + to_hex(req.session) + " has expired or its password does not match",
                                  db.last_applied()});
    return;
  }
  db.touch(req.session, now_ms);
  db.set_client_address(req.session, req.peer);
  db.set_certificate_subject(req.session, req.subject);
  auto& info = *db.sessions().find(req.session);
  out.push_back(effect::note{false, "session " + to_hex(req.session) + " resumed from " + req.peer});
  out.push_back(effect::opened{ticket, req.session, info.timeout_ms, info.password, db.last_applied(),
                               db.is_local_session(req.session)});
}

// Read-only mode: only clients that allow it, with sessions of this server's own. A session of the
// ensemble is not resumed here (its requests could not reach the quorum, and ZooKeeper refuses it
// too): the client tries another server. One this server does not know is told it expired, as
// ZooKeeper does (a client that saw a newer zxid than this tree was refused above, so a session made
// after this server lost touch is not among them).
void request_pipeline::open_read_only(uint64_t ticket, const open_request& req, int64_t now_ms, pipeline_effects& out) {
  auto& db = *db_;
  auto refuse = [&](error_code err, std::string detail) {
    out.push_back(effect::refused{ticket, err, std::move(detail), db.last_applied()});
  };
  if (!req.read_only)
    return refuse(error_code::connection_loss, "this server is read-only (cut off from its quorum) and serves only "
                                               "clients that allow read-only sessions; try another server");
  if (req.session == 0) {
    auto id = db.open_local_session(req.timeout_ms, req.new_password, now_ms);
    db.set_client_address(id, req.peer);
    db.set_certificate_subject(id, req.subject);
    auto& info = *db.sessions().find(id);
    out.push_back(effect::note{false, "read-only session " + to_hex(id) + " opened for " + req.peer});
    out.push_back(effect::opened{ticket, id, info.timeout_ms, info.password, db.last_applied(), true});
    return;
  }
  if (db.sessions().find(req.session) != nullptr && !db.is_local_session(req.session)) {
    out.push_back(effect::note{false, "refusing session " + to_hex(req.session) + " from " + req.peer +
                                          ": it belongs to the ensemble, and this server is read-only"});
    return refuse(error_code::connection_loss, "session " + to_hex(req.session) +
                                                   " belongs to the ensemble and cannot be resumed on a read-only "
                                                   "server; try another server");
  }
  resume(ticket, req, now_ms, out);
}

void request_pipeline::end_read_only_sessions(pipeline_effects& out) {
  auto ids = db_->local_sessions();
  for (auto id : ids) {
    db_->end_local_session(id);
    out.push_back(effect::close_session{id});
  }
  if (!ids.empty())
    out.push_back(effect::note{false, "ended " + std::to_string(ids.size()) +
                                          " read-only session(s); their clients reconnect to a server with a quorum"});
}

void request_pipeline::session_opened(const txn& t, pipeline_effects& out) {
  auto it = opening_.find(t.zxid);
  if (it == opening_.end()) {
    auto f = opening_forwarded_.find(t.session);
    if (f == opening_forwarded_.end())
      return; // another server's client, or one that gave up: the session expires unless it resumes
    it = opening_.emplace(t.zxid, std::move(f->second)).first;
    opening_forwarded_.erase(f);
  }
  auto& db = *db_;
  auto& info = *db.sessions().find(t.session);
  db.set_client_address(t.session, it->second.peer);
  db.set_certificate_subject(t.session, it->second.subject);
  out.push_back(effect::note{false, "session " + to_hex(t.session) + " opened for " + it->second.peer + " (timeout " +
                                        std::to_string(info.timeout_ms) + " ms)"});
  out.push_back(effect::opened{it->second.ticket, t.session, info.timeout_ms, info.password, db.last_applied()});
  opening_.erase(it);
}

// ---- the write path: logged -> committed -> applied -> answered ---------------------------------

void request_pipeline::logged(shared_txn t) {
  CORRAL_CHECK(in_flight_.empty() || in_flight_.back()->zxid < t->zxid, "pipeline", "txn ", to_hex(t->zxid),
               " logged after ", to_hex(in_flight_.empty() ? 0 : in_flight_.back()->zxid));
  in_flight_.push_back(std::move(t));
}

size_t request_pipeline::commit(zxid_t upto, pipeline_effects& out) {
  size_t n = 0;
  while (!in_flight_.empty() && in_flight_.front()->zxid <= upto) {
    auto t = std::move(in_flight_.front());
    in_flight_.pop_front();
    apply_one(*t, out);
    ++n;
  }
  return n;
}

void request_pipeline::apply_one(const txn& t, pipeline_effects& out) {
  auto o = db_->apply(t, t.cxid);
  if (std::holds_alternative<txn_create_session>(t.body))
    return session_opened(t, out);
  if (auto* c = std::get_if<txn_close_session>(&t.body); c && expiring_.erase(t.session) > 0) {
    out.push_back(effect::note{false, "session " + to_hex(t.session) + " expired; deleted " +
                                          std::to_string(c->ephemerals.size()) + " ephemeral node(s)"});
    out.push_back(effect::expire_session{t.session});
    waiting_.erase(t.session);
    o.ends_session = false; // expire_session ended it
    return deliver(o, false, out);
  }
  if (pop_client_write(t)) {
    if (o.ends_session)
      out.push_back(effect::note{false, "session " + to_hex(t.session) + " closed by its client"});
    deliver(o, true, out);
    if (o.ends_session)
      waiting_.erase(t.session);
    return drain(t.session, out);
  }
  if (auto* d = std::get_if<txn_delete>(&t.body); d && o.resp.err == error_code::ok && t.session == 0)
    out.push_back(effect::note{false, "deleted " + d->path + " (empty container or expired TTL)"});
  deliver(o, false, out);
}

void request_pipeline::log_failed(const std::string& reason, int64_t now_ms, pipeline_effects& out) {
  out.push_back(
      effect::note{true, "cannot write the log (" + reason + "); rejecting " + std::to_string(in_flight_.size()) +
                             " write(s). Acknowledged data is safe; writes work again once the disk accepts them."});
  for (auto& t : in_flight_) {
    if (auto it = opening_.find(t->zxid); it != opening_.end()) {
      out.push_back(effect::refused{it->second.ticket, error_code::system_error,
                                    "the server cannot write to its disk: " + reason, db_->last_applied()});
      opening_.erase(it);
      continue;
    }
    expiring_.erase(t->session);
    if (pop_client_write(*t))
      out.push_back(effect::respond{
          t->session, error_response(t->cxid, db_->last_applied(), error_code::system_error,
                                     "the write was not saved (" + reason + "); nothing changed, try again later")});
  }
  in_flight_.clear();
  db_->abandon_prepared(now_ms);
  std::vector<session_id> sessions;
  for (auto& [s, q] : waiting_)
    sessions.push_back(s);
  for (auto s : sessions)
    drain(s, out);
}

void request_pipeline::truncate(zxid_t after, pipeline_effects& out) {
  bool dropped = false;
  while (!in_flight_.empty() && in_flight_.back()->zxid > after) {
    in_flight_.pop_back();
    dropped = true;
  }
  // A queued write may have been one of them: it would never be applied, and its session would wait
  // behind it forever. (The core truncates only while syncing, when nothing is queued; this keeps
  // the rule without relying on that.)
  if (dropped)
    fail_all("the server's log was cut back to " + to_hex(after) + "; the request's outcome is unknown", out);
}

void request_pipeline::replace_database(std::shared_ptr<database> db, pipeline_effects& out) {
  CORRAL_CHECK(db != nullptr, "pipeline", "a snapshot must come with a database");
  db_ = std::move(db);
  in_flight_.clear();
  fail_all("the server replaced its tree with the leader's snapshot; the request's outcome is unknown", out);
}

// ---- roles ---------------------------------------------------------------------------------------

void request_pipeline::become(mode m, zxid_t epoch_base, int64_t now_ms, pipeline_effects& out) {
  CORRAL_CHECK(m != mode::standalone && mode_ != mode::standalone, "pipeline", "a standalone server has no roles (",
               mode_name(mode_), " -> ", mode_name(m), ")");
  CORRAL_CHECK(m != mode::read_only || mode_ == mode::not_serving || mode_ == mode::read_only, "pipeline",
               "read-only mode begins only after the server stopped serving (", mode_name(mode_), " -> read-only)");
  if (mode_ == mode::read_only && m != mode::read_only)
    end_read_only_sessions(out);
  if (m == mode::leading && mode_ != mode::leading) {
    // A new epoch: number txns from its base, and give every session a full timeout (this server did
    // not hear other servers' sessions while it followed).
    db_->start_epoch(epoch_base);
    db_->refresh_sessions(now_ms);
  } else if (m != mode::leading && mode_ == mode::leading) {
    db_->start_epoch(db_->last_applied()); // prepared changes may never commit
  }
  bool was_serving = serving();
  bool changed = m != mode_;
  mode_ = m;
  // Whatever this server queued was ordered for its old role: its own proposals may never commit
  // (the next leader truncates them or sends a snapshot), and a forwarded write's leader is gone.
  // From not_serving there is nothing queued.
  if (was_serving && changed) {
    fail_all(serving() ? "this server changed its role; the request's outcome is unknown"
                       : "this server lost its quorum; the request's outcome is unknown",
             out);
    out.push_back(effect::disconnect_all{});
  }
}

// Every queued request ends with ConnectionLoss, in each session's order, and every connect waiting
// for the leader is refused: their outcome is unknown, and nothing may wait on a txn that may never
// be applied here.
void request_pipeline::fail_all(const std::string& why, pipeline_effects& out) {
  auto z = db_->last_applied();
  for (auto& [s, q] : waiting_)
    for (auto& item : q) {
      auto xid = std::visit(
          overload{[](const local_write& w) { return w.xid; }, [](const remote_write& w) { return w.xid; },
                   [](const pending_sync& w) { return w.req.xid; }, [](const pending_read& w) { return w.req.xid; }},
          item);
      out.push_back(effect::respond{s, error_response(xid, z, error_code::connection_loss, why)});
    }
  waiting_.clear();
  for (auto& [z_, o] : opening_)
    out.push_back(effect::refused{o.ticket, error_code::connection_loss, why, z});
  opening_.clear();
  for (auto& [id, o] : opening_forwarded_)
    out.push_back(effect::refused{o.ticket, error_code::connection_loss, why, z});
  opening_forwarded_.clear();
  // expiring_ stays: an expiry already proposed may still commit, and its session is told so then.
}

// ---- the leader's side of learners, the learner's side of the leader ------------------------------

void request_pipeline::forwarded_write(session_id s, const request& r, const auth_list& auth, int64_t now_ms,
                                       pipeline_effects& out) {
  if (mode_ != mode::leading)
    return; // the learner fails it when it notices this server no longer leads
  db_->set_auth(s, auth);
  db_->touch(s, now_ms);
  submit(prepare(s, r, now_ms), out);
}

void request_pipeline::forwarded_open(session_id s, int32_t timeout_ms, const std::string& password, int64_t now_ms,
                                      pipeline_effects& out) {
  if (mode_ == mode::leading)
    submit(db_->prepare_open_session_as(s, timeout_ms, password, now_ms), out);
}

void request_pipeline::touches(const std::vector<session_id>& sessions, int64_t now_ms) {
  if (mode_ == mode::leading)
    for (auto s : sessions)
      db_->touch(s, now_ms);
}

void request_pipeline::sync_reply(uint64_t token, pipeline_effects& out) {
  for (auto& [s, q] : waiting_) {
    auto* sync = q.empty() ? nullptr : std::get_if<pending_sync>(&q.front());
    if (sync == nullptr || sync->token != token)
      continue;
    auto r = std::move(sync->req);
    auto session = s;
    q.pop_front();
    answer_read(session, r, out);
    return drain(session, out);
  }
}

void request_pipeline::touch(session_id s, int64_t now_ms) {
  if (db_->touch(s, now_ms) && mode_ == mode::following)
    touched_.insert(s);
}

std::vector<session_id> request_pipeline::take_touched() {
  std::vector<session_id> v(touched_.begin(), touched_.end());
  touched_.clear();
  return v;
}

void request_pipeline::timers(int64_t now_ms, pipeline_effects& out) {
  if (mode_ == mode::read_only) {
    for (auto id : db_->expire_local_sessions(now_ms)) {
      out.push_back(effect::note{false, "read-only session " + to_hex(id) + " expired"});
      out.push_back(effect::expire_session{id});
    }
    return;
  }
  if (mode_ != mode::standalone && mode_ != mode::leading)
    return; // only the leader expires sessions and collects containers and TTL nodes
  for (auto& t : db_->expire_sessions(now_ms, now_ms)) {
    expiring_.insert(t.session);
    submit(std::move(t), out);
  }
  for (auto& t : db_->collect_garbage(now_ms))
    submit(std::move(t), out);
}

size_t request_pipeline::queued(session_id s) const {
  auto it = waiting_.find(s);
  return it == waiting_.end() ? 0 : it->second.size();
}

} // namespace corral
