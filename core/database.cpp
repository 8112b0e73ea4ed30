#include "core/overload.hpp"
#include "core/database.hpp"

#include "core/fatal.hpp"
#include "core/format.hpp"

#include <algorithm>
#include <cassert>

#include "core/path.hpp"

namespace corral {

namespace {

error_info fail(error_code code, const std::string& path) { return {code, path}; }

// ZooKeeper's checkAndIncVersion.
result<int32_t> next_version(int32_t current, int32_t expected, const std::string& path) {
  if (expected != -1 && expected != current)
    return fail(error_code::bad_version, path);
  return current + 1;
}

const auth_list no_auth_ids;

} // namespace

database::database(database_options opts, int64_t now_ms) : opts_(std::move(opts)), sessions_(opts_.tick_ms) {
  tree_.set_starting_config(opts_.starting_config);
  // ZooKeeper's initializeNextSession: time in the middle bits, the server id in the top byte.
  next_session_ = static_cast<int64_t>((static_cast<uint64_t>(now_ms) << 24) >> 8) | (opts_.server_id << 56);
  if (next_session_ <= 0)
    next_session_ = (int64_t{1} << 32) | (opts_.server_id << 56);
}

int32_t database::negotiate_timeout(int32_t requested_ms) const {
  int64_t lo = opts_.min_session_timeout_ms > 0 ? opts_.min_session_timeout_ms : 2 * opts_.tick_ms;
  int64_t hi = opts_.max_session_timeout_ms > 0 ? opts_.max_session_timeout_ms : 20 * opts_.tick_ms;
  return static_cast<int32_t>(std::clamp<int64_t>(requested_ms, lo, hi));
}

txn database::make_txn(session_id s, int64_t wall_ms, txn_body body) {
  txn t;
  t.zxid = ++next_zxid_;
  t.time = wall_ms;
  t.session = s;
  t.body = std::move(body);
  return t;
}

txn database::prepare_open_session(int32_t requested_timeout_ms, std::string password, int64_t wall_ms) {
  auto id = next_session_++;
  return make_txn(id, wall_ms, txn_create_session{negotiate_timeout(requested_timeout_ms), std::move(password)});
}

txn database::prepare_open_session_as(session_id id, int32_t requested_timeout_ms, std::string password,
                                      int64_t wall_ms) {
  return make_txn(id, wall_ms, txn_create_session{negotiate_timeout(requested_timeout_ms), std::move(password)});
}

void database::set_auth(session_id id, auth_list auth) {
  if (auto* s = sessions_.find(id))
    s->auth = std::move(auth);
}

error_code database::check_resume(session_id id, const std::string& password) const {
  auto* s = sessions_.find(id);
  if (s == nullptr || s->closing || s->password != password)
    return error_code::session_expired;
  return error_code::ok;
}

// Replaces the session's identity of `scheme` (one a connection brings) with `id` ("" : none).
void database::set_connection_identity(session_id id, const std::string& scheme, const std::string& value) {
  auto* s = sessions_.find(id);
  if (s == nullptr)
    return;
  auto& auth = s->auth;
  auth.erase(std::remove_if(auth.begin(), auth.end(), [&](const auth_id& a) { return a.scheme == scheme; }),
             auth.end());
  if (!value.empty())
    auth.push_back({scheme, value});
}

void database::set_client_address(session_id id, const std::string& ip) { set_connection_identity(id, "ip", ip); }

void database::set_certificate_subject(session_id id, const std::string& subject) {
  set_connection_identity(id, "x509", subject);
}

const auth_list& database::auth_of(session_id s) const {
  auto* info = sessions_.find(s);
  return info == nullptr ? no_auth_ids : info->auth;
}

bool database::permitted(session_id s, const acl_list& acl, int32_t perm) const {
  if (s == 0)
    return true; // the server itself (container and TTL clean-up)
  return acl_permits(acl, auth_of(s), perm);
}

// ---- the record overlay ----------------------------------------------------------------------

database::record database::lookup(const std::string& path) const {
  if (auto it = pending_.find(path); it != pending_.end())
    return it->second;
  record rec;
  auto* n = tree_.find(path);
  if (n == nullptr)
    return rec;
  rec.exists = true;
  rec.version = n->version;
  rec.cversion = n->cversion;
  rec.aversion = n->aversion;
  rec.ephemeral_owner = n->ephemeral_owner;
  rec.child_count = static_cast<int32_t>(n->children.size());
  rec.acl = tree_.shared_acl_of(*n);
  return rec;
}

void database::put(const std::string& path, record rec, saved_records* undo) {
  auto [it, inserted] = pending_.try_emplace(path);
  if (undo != nullptr)
    undo->emplace_back(path, inserted ? std::nullopt : std::optional<record>(it->second));
  auto refs = it->second.refs;
  it->second = std::move(rec);
  it->second.refs = refs + 1;
  pending_order_.emplace_back(it->second.zxid, &*it);
}

// Takes back the last put (a failed multi's, newest first), as if it had not happened.
void database::unput(const std::string& path, const std::optional<record>& before) {
  CORRAL_CHECK(!pending_order_.empty() && pending_order_.back().second->first == path, "database", "undoing a put of ",
               path, " that is not the last one");
  auto& rec = pending_order_.back().second->second;
  pending_order_.pop_back();
  if (!before) {
    CORRAL_CHECK(rec.refs == 1, "database", "undoing the first put of ", path, " with ", rec.refs, " puts named");
    pending_.erase(path);
    return;
  }
  auto refs = rec.refs - 1;
  rec = *before;
  rec.refs = refs;
}

void database::forget_records(zxid_t applied) {
  while (!pending_order_.empty() && pending_order_.front().first <= applied) {
    auto* entry = pending_order_.front().second;
    pending_order_.pop_front();
    // A record stays while a put of it is not applied yet (a later txn's put replaced it in place).
    if (--entry->second.refs == 0)
      pending_.erase(pending_.find(entry->first));
  }
}

// ---- prepare ---------------------------------------------------------------------------------

result<txn_op> database::prepare_create(session_id s, const create_request& c, zxid_t zxid, saved_records* undo) {
  if (!valid_create_mode(static_cast<int32_t>(c.mode)))
    return fail(error_code::bad_arguments,
                c.path + ": unknown create mode " + std::to_string(static_cast<int32_t>(c.mode)));
  if (static_cast<int64_t>(c.data.size()) > opts_.max_data_bytes)
    return fail(error_code::bad_arguments, c.path + ": data of " + std::to_string(c.data.size()) +
                                               " bytes exceeds the limit of " + std::to_string(opts_.max_data_bytes));
  if (is_ttl(c.mode) && !opts_.ttl_enabled)
    return fail(error_code::unimplemented, c.path + ": TTL nodes are disabled (enable ttl-nodes)");
  if (is_ttl(c.mode) && (c.ttl <= 0 || c.ttl > owner::max_ttl))
    return fail(error_code::bad_arguments, c.path + ": TTL must be between 1 and 2^40-1 ms");
  if (c.mode == create_mode::container && !opts_.containers_enabled)
    return fail(error_code::unimplemented, c.path + ": container nodes are disabled");
  if (auto e = validate_path(c.path, is_sequential(c.mode)); e.code != error_code::ok)
    return e;
  if (c.path == "/")
    return fail(error_code::node_exists, c.path);
  auto acl = fix_acl(c.acl, auth_of(s));
  if (!acl)
    return fail(error_code::invalid_acl, c.path + ": " + acl.error().detail);
  std::string parent_path(parent_of(c.path));
  if (c.path.back() == '/')
    parent_path = c.path.size() == 1 ? "/" : c.path.substr(0, c.path.size() - 1);
  auto parent = lookup(parent_path);
  if (!parent.exists)
    return fail(error_code::no_node, c.path);
  if (!permitted(s, *parent.acl, perm::create))
    return fail(error_code::no_auth, c.path);
  std::string path = c.path;
  if (is_sequential(c.mode))
    path += sequence_suffix(parent.cversion);
  if (auto e = validate_path(path); e.code != error_code::ok)
    return e;
  if (lookup(path).exists)
    return fail(error_code::node_exists, path);
  if (owner::is_ephemeral_session(parent.ephemeral_owner))
    return fail(error_code::no_children_for_ephemerals, path);
  if (auto e = check_quota(path, 1, static_cast<int64_t>(c.data.size())); e.code != error_code::ok)
    return e;
  int64_t owner = 0;
  if (c.mode == create_mode::container)
    owner = owner::container;
  else if (is_ttl(c.mode))
    owner = owner::make_ttl(c.ttl);
  else if (is_ephemeral(c.mode))
    owner = s;
  parent.cversion += 1;
  parent.child_count += 1;
  parent.zxid = zxid;
  int32_t parent_cversion = parent.cversion;
  record rec;
  rec.exists = true;
  rec.ephemeral_owner = owner;
  // Children mostly carry their parent's ACL (OPEN_ACL_UNSAFE everywhere, or a subtree's): share it.
  rec.acl = *parent.acl == *acl ? parent.acl : std::make_shared<const acl_list>(*acl);
  rec.zxid = zxid;
  put(parent_path, std::move(parent), undo);
  put(path, std::move(rec), undo);
  return txn_op{txn_create{path, c.data, std::move(*acl), owner, parent_cversion, c.null_data}};
}

// A create (count 1) or setData (count 0) that would take a quota's subtree past a hard limit fails
// with QuotaExceeded, as ZooKeeper 3.7+ refuses it with zookeeper.enforceQuota; a soft limit is only
// noted (quota_warnings()). Like ZooKeeper, the check counts applied writes, not ones still in flight.
error_info database::check_quota(const std::string& path, int64_t count, int64_t bytes) {
  std::string subtree;
  auto* q = tree_.quota_covering(path, &subtree);
  if (q == nullptr || tree_.find(quota::stat_path(subtree)) == nullptr)
    return {};
  auto over = quota::check(q->limits, q->usage, count, bytes);
  if (!over)
    return {};
  if (over->hard && opts_.enforce_quota)
    return fail(error_code::quota_exceeded, path + ": the quota of " + subtree + " is exceeded (" + over->what + ")");
  quota_warnings_.push_back("quota of " + subtree + " exceeded by a write to " + path + " (" + over->what + ")");
  return {};
}

result<txn_op> database::prepare_delete(session_id s, const delete_request& d, zxid_t zxid, saved_records* undo) {
  if (auto e = validate_path(d.path); e.code != error_code::ok)
    return e;
  if (d.path == "/" || d.path == "/zookeeper")
    return fail(error_code::bad_arguments, d.path + ": this node belongs to the server");
  std::string parent_path(parent_of(d.path));
  auto parent = lookup(parent_path);
  auto node = lookup(d.path);
  if (!parent.exists || !node.exists)
    return fail(error_code::no_node, d.path);
  if (!permitted(s, *parent.acl, perm::remove))
    return fail(error_code::no_auth, d.path);
  if (auto v = next_version(node.version, d.version, d.path); !v)
    return v.error();
  if (node.child_count > 0)
    return fail(error_code::not_empty, d.path);
  parent.child_count -= 1;
  parent.zxid = zxid;
  put(parent_path, std::move(parent), undo);
  record gone;
  gone.zxid = zxid;
  put(d.path, gone, undo);
  return txn_op{txn_delete{d.path}};
}

result<txn_op> database::prepare_set_data(session_id s, const set_data_request& r, zxid_t zxid, saved_records* undo) {
  if (auto e = validate_path(r.path); e.code != error_code::ok)
    return e;
  if (static_cast<int64_t>(r.data.size()) > opts_.max_data_bytes)
    return fail(error_code::bad_arguments, r.path + ": data of " + std::to_string(r.data.size()) +
                                               " bytes exceeds the limit of " + std::to_string(opts_.max_data_bytes));
  auto node = lookup(r.path);
  if (!node.exists)
    return fail(error_code::no_node, r.path);
  if (!permitted(s, *node.acl, perm::write))
    return fail(error_code::no_auth, r.path);
  auto v = next_version(node.version, r.version, r.path);
  if (!v)
    return v.error();
  auto* applied = tree_.find(r.path);
  auto old_bytes = applied != nullptr ? static_cast<int64_t>(applied->data.size()) : 0;
  if (auto e = check_quota(r.path, 0, static_cast<int64_t>(r.data.size()) - old_bytes); e.code != error_code::ok)
    return e;
  node.version = *v;
  node.zxid = zxid;
  put(r.path, std::move(node), undo);
  return txn_op{txn_set_data{r.path, r.data, *v, r.null_data}};
}

result<txn_op> database::prepare_set_acl(session_id s, const set_acl_request& r, zxid_t zxid, saved_records* undo) {
  if (auto e = validate_path(r.path); e.code != error_code::ok)
    return e;
  auto acl = fix_acl(r.acl, auth_of(s));
  if (!acl)
    return fail(error_code::invalid_acl, r.path + ": " + acl.error().detail);
  auto node = lookup(r.path);
  if (!node.exists)
    return fail(error_code::no_node, r.path);
  if (!permitted(s, *node.acl, perm::admin))
    return fail(error_code::no_auth, r.path);
  auto v = next_version(node.aversion, r.version, r.path);
  if (!v)
    return v.error();
  node.aversion = *v;
  node.acl = std::make_shared<const acl_list>(*acl);
  node.zxid = zxid;
  put(r.path, std::move(node), undo);
  return txn_op{txn_set_acl{r.path, std::move(*acl), *v}};
}

result<txn_op> database::prepare_check(session_id s, const check_request& r) {
  if (auto e = validate_path(r.path); e.code != error_code::ok)
    return e;
  auto node = lookup(r.path);
  if (!node.exists)
    return fail(error_code::no_node, r.path);
  if (!permitted(s, *node.acl, perm::read))
    return fail(error_code::no_auth, r.path);
  if (r.version != -1 && r.version != node.version)
    return fail(error_code::bad_version, r.path);
  return txn_op{txn_check{r.path, r.version}};
}

result<txn_op> database::prepare_op(session_id s, const multi_op& op, zxid_t zxid, saved_records* undo) {
  return std::visit(overload{[&](const create_request& c) { return prepare_create(s, c, zxid, undo); },
                             [&](const delete_request& d) { return prepare_delete(s, d, zxid, undo); },
                             [&](const set_data_request& r) { return prepare_set_data(s, r, zxid, undo); },
                             [&](const check_request& r) { return prepare_check(s, r); }},
                    op);
}

txn_body database::prepare_multi(session_id s, const multi_request& m, zxid_t zxid) {
  saved_records undo;
  txn_multi out;
  size_t failed_at = m.ops.size();
  error_code failure = error_code::ok;
  std::string failure_detail;
  for (size_t i = 0; i < m.ops.size(); ++i) {
    auto op = prepare_op(s, m.ops[i], zxid, &undo);
    if (!op) {
      failed_at = i;
      failure = op.code();
      failure_detail = op.error().detail;
      break;
    }
    out.ops.push_back(std::move(*op));
  }
  if (failed_at == m.ops.size())
    return out;
  // Roll the overlay back and report ZooKeeper's way: ok before the failure, the error at it,
  // RuntimeInconsistency after it.
  for (auto it = undo.rbegin(); it != undo.rend(); ++it)
    unput(it->first, it->second);
  txn_multi failed;
  for (size_t i = 0; i < m.ops.size(); ++i) {
    auto code = i < failed_at ? error_code::ok : i == failed_at ? failure : error_code::runtime_inconsistency;
    failed.ops.push_back(txn_error{code, i == failed_at ? failure_detail : std::string()});
  }
  return failed;
}

txn_body database::prepare_close(session_id s, zxid_t zxid) {
  auto paths = tree_.ephemerals(s);
  // Ephemerals created or deleted by txns not yet applied count as the processor sees them.
  for (auto& [path, rec] : pending_) {
    bool listed = std::binary_search(paths.begin(), paths.end(), path);
    if (rec.exists && rec.ephemeral_owner == s && !listed)
      paths.push_back(path);
    else if (!rec.exists && listed)
      paths.erase(std::find(paths.begin(), paths.end(), path));
  }
  // Deepest first is not needed (ephemerals have no children) but sorting keeps txns deterministic.
  std::sort(paths.begin(), paths.end());
  for (auto& p : paths) {
    record gone;
    gone.zxid = zxid;
    auto parent_path = std::string(parent_of(p));
    auto parent = lookup(parent_path);
    parent.child_count -= 1;
    parent.zxid = zxid;
    put(parent_path, std::move(parent), nullptr);
    put(p, gone, nullptr);
  }
  if (auto* info = sessions_.find(s))
    info->closing = true;
  return txn_close_session{std::move(paths)};
}

// ZooKeeper's checks, in its order: reconfig enabled (and an ensemble), the caller may write
// /zookeeper/config (the superuser may), none pending, the version the client saw, a well-formed
// membership, and a quorum of its voters following this leader.
txn_body database::prepare_reconfig(session_id s, const reconfig_request& r, const membership_view* view, zxid_t zxid) {
  // A standalone server answers as a standalone ZooKeeper with its defaults does (reconfigEnabled
  // is off there; with it on, ZooKeeper would answer Unimplemented).
  if (view == nullptr)
    return txn_error{error_code::reconfig_disabled,
                     "reconfig needs an ensemble: a standalone server has no membership"};
  if (!view->enabled)
    return txn_error{error_code::reconfig_disabled, "reconfig is disabled on this ensemble (corral.reconfig-enabled)"};
  auto* config = tree_.find(config_path);
  if (config == nullptr || !permitted(s, tree_.acl_of(*config), perm::write))
    return txn_error{error_code::no_auth,
                     "reconfig needs the superuser or write permission on " + std::string(config_path)};
  if (view->pending)
    return txn_error{error_code::reconfig_in_progress,
                     "reconfig " + to_hex(view->pending->version) + " has not committed yet; try again after it"};
  if (r.from_config != -1 && r.from_config != static_cast<int64_t>(view->active.version))
    return txn_error{error_code::bad_version, "Reconfiguration from version " + to_hex(r.from_config) +
                                                  " failed -- last seen version is " + to_hex(view->active.version)};
  auto next = changed_membership(view->active, reconfig_change{r.joining, r.leaving, r.members});
  if (!next)
    return txn_error{next.error().code, next.error().detail};
  if (!view->quorum_synced || !view->quorum_synced(*next))
    return txn_error{error_code::new_config_no_quorum,
                     "Reconfig failed - there must be a connected and synced quorum in new configuration"};
  next->version = zxid;
  return txn_reconfig{std::move(*next)};
}

txn database::prepare(session_id s, const request& r, int64_t wall_ms, const membership_view* view) {
  zxid_t zxid = next_zxid_ + 1;
  auto single = [&](result<txn_op> op) -> txn_body {
    if (!op)
      return txn_error{op.code(), op.error().detail};
    return std::visit([](auto&& x) -> txn_body { return std::move(x); }, std::move(*op));
  };
  txn_body body = std::visit(
      overload{[&](const create_request& c) { return single(prepare_create(s, c, zxid, nullptr)); },
               [&](const delete_request& d) { return single(prepare_delete(s, d, zxid, nullptr)); },
               [&](const set_data_request& x) { return single(prepare_set_data(s, x, zxid, nullptr)); },
               [&](const set_acl_request& x) { return single(prepare_set_acl(s, x, zxid, nullptr)); },
               [&](const check_request& x) { return single(prepare_check(s, x)); },
               [&](const multi_request& m) { return prepare_multi(s, m, zxid); },
               [&](const close_request&) { return prepare_close(s, zxid); },
               [&](const reconfig_request& x) { return prepare_reconfig(s, x, view, zxid); },
               [&](const auto&) -> txn_body {
                 return txn_error{error_code::bad_arguments, std::string(request_name(r.body)) + " is not a write"};
               }},
      r.body);
  auto t = make_txn(s, wall_ms, std::move(body));
  t.cxid = r.xid;
  return t;
}

// ---- apply -----------------------------------------------------------------------------------

void database::deliver_triggers(const apply_result& r, zxid_t zxid, outcome& out) {
  for (auto& t : r.triggers)
    watches_.trigger(t.path, t.type, zxid, out.events);
}

outcome database::apply(const txn& t, int32_t xid) {
  CORRAL_CHECK(t.zxid > last_applied_, "database", "txn ", to_hex(t.zxid), " applied after ", to_hex(last_applied_),
               ": zxids must strictly increase");
  outcome out;
  out.session = t.session;
  out.resp.xid = xid;
  out.resp.zxid = t.zxid;
  auto result = tree_.apply(t);
  last_applied_ = t.zxid;
  if (next_zxid_ < t.zxid)
    next_zxid_ = t.zxid; // replayed or replicated txns
  forget_records(t.zxid);
  deliver_triggers(result, t.zxid, out);
  out.resp.err = result.err;
  out.resp.detail = std::move(result.detail);
  std::visit(overload{[&](const txn_create&) {
                        if (result.err == error_code::ok)
                          out.resp.body = create_result{result.ops[0].path, result.ops[0].stat};
                      },
                      [&](const txn_set_data&) {
                        if (result.err == error_code::ok)
                          out.resp.body = result.ops[0].stat;
                      },
                      [&](const txn_set_acl&) {
                        if (result.err == error_code::ok)
                          out.resp.body = result.ops[0].stat;
                      },
                      [&](const txn_multi&) { out.resp.body = std::move(result.ops); },
                      [&](const txn_create_session& c) {
                        sessions_.add(t.session, c.timeout_ms, c.password, t.time);
                        if (t.session >= next_session_ && (t.session >> 56) == opts_.server_id)
                          next_session_ = t.session + 1;
                      },
                      [&](const txn_reconfig& r) {
                        // ZooKeeper answers a reconfig with the new configuration and its stat.
                        if (result.err == error_code::ok)
                          out.resp.body = data_result{config_text(r.next), result.ops[0].stat};
                      },
                      [&](const txn_close_session&) {
                        sessions_.remove(t.session);
                        watches_.remove_session(t.session);
                        sasl_.erase(t.session); // an exchange cut short by close or expiry
                        out.ends_session = true;
                      },
                      [&](const auto&) {}},
             t.body);
  return out;
}

outcome database::handle(session_id s, const request& r, int64_t wall_ms) {
  if (!is_write(r.body))
    return read(s, r);
  return apply(prepare(s, r, wall_ms), r.xid);
}

// ---- reads -----------------------------------------------------------------------------------

outcome database::read_op_result(session_id s, const read_op& op) {
  request r;
  std::visit([&](const auto& x) { r.body = x; }, op);
  return read(s, r);
}

void database::add_auth(session_id s, const auth_request& a, outcome& out) {
  auto* info = sessions_.find(s);
  if (a.scheme != "digest" || info == nullptr) {
    out.resp.err = error_code::auth_failed;
    out.resp.detail = "unsupported auth scheme '" + a.scheme + "' (digest is supported)";
    return;
  }
  auto id = digest_of(a.credentials);
  auto add = [&](auth_id x) {
    if (std::find(info->auth.begin(), info->auth.end(), x) == info->auth.end())
      info->auth.push_back(std::move(x));
  };
  if (!opts_.super_digest.empty() && id == opts_.super_digest)
    add({"super", ""});
  add({"digest", id});
}

void database::sasl_step(session_id s, const sasl_request& a, outcome& out) {
  auto* info = sessions_.find(s);
  if (!opts_.sasl || info == nullptr) {
    out.resp.err = error_code::auth_failed;
    out.resp.detail = "SASL is not configured on this server (corral.sasl-jaas-file)";
    return;
  }
  auto& ex = sasl_[s];
  if (!ex)
    ex = opts_.sasl();
  std::string reply;
  auto st = ex->step(a.token, reply);
  if (st == sasl_server::status::failed) {
    out.resp.err = error_code::auth_failed;
    out.resp.detail = "SASL authentication failed: " + ex->reason();
    sasl_.erase(s);
    return;
  }
  if (st == sasl_server::status::done) {
    auth_id id{"sasl", ex->user()};
    if (std::find(info->auth.begin(), info->auth.end(), id) == info->auth.end())
      info->auth.push_back(std::move(id));
    sasl_.erase(s);
  }
  out.resp.body = std::move(reply);
}

// The reads, one function each: the visitor database::read() applies to a request's body. Each
// fills the outcome's response (and, for setWatches, its events) for session `s`.
class read_ops {
public:
  read_ops(database& db, session_id s, const request& r, outcome& out, std::optional<watch_wish>* wish = nullptr)
      : db_(db), s_(s), r_(r), out_(out), wish_(wish) {}

  void operator()(const exists_request& x) {
    if (!check_path(x.path))
      return;
    auto* n = db_.tree_.find(x.path);
    if (x.watch)
      watch(x.path, false);
    if (n == nullptr)
      return fail(error_code::no_node, x.path);
    resp().body = db_.tree_.stat_of(*n);
  }

  void operator()(const get_data_request& x) {
    auto* n = find_readable(x.path, perm::read);
    if (n == nullptr)
      return;
    if (x.watch)
      watch(x.path, false);
    // A quota's stats node reads as the usage the tree keeps, /zookeeper/config before any reconfig
    // as the starting membership (data_tree::derived_data).
    if (auto usage = db_.tree_.derived_data(*n))
      resp().body = data_result{*usage, db_.tree_.stat_of(*n), false};
    else
      resp().body = data_result{n->data.str(), db_.tree_.stat_of(*n), n->null_data != 0};
  }

  void operator()(const get_children_request& x) {
    auto* n = find_readable(x.path, perm::read);
    if (n == nullptr)
      return;
    if (x.watch)
      watch(x.path, true);
    resp().body = children_result{db_.tree_.children_of(*n), db_.tree_.stat_of(*n)};
  }

  void operator()(const get_acl_request& x) {
    auto* n = find_readable(x.path, perm::read | perm::admin);
    if (n == nullptr)
      return;
    auto acl = db_.tree_.acl_of(*n);
    if (!db_.permitted(s_, acl, perm::read)) // admin only: digest hashes stay hidden
      for (auto& e : acl)
        if (e.scheme == "digest")
          e.id = e.id.substr(0, e.id.find(':')) + ":x";
    resp().body = acl_result{std::move(acl), db_.tree_.stat_of(*n)};
  }

  void operator()(const sync_request& x) {
    if (check_path(x.path))
      resp().body = x.path;
  }

  void operator()(const multi_read_request& m) {
    std::vector<op_result> results;
    for (auto& op : m.ops) {
      auto sub = db_.read_op_result(s_, op);
      op_result r;
      r.err = sub.resp.err;
      if (auto* d = std::get_if<data_result>(&sub.resp.body)) {
        r.type = op_code::get_data;
        r.data = std::move(d->data);
        r.null_data = d->null_data;
        r.stat = d->stat;
      } else if (auto* c = std::get_if<children_result>(&sub.resp.body)) {
        r.type = op_code::get_children;
        r.children = std::move(c->children);
      } else {
        r.type = op_code::error;
      }
      results.push_back(std::move(r));
    }
    resp().body = std::move(results);
  }

  void operator()(const get_ephemerals_request& x) {
    std::vector<std::string> paths;
    for (auto& p : db_.tree_.ephemerals(s_))
      if (p.compare(0, x.prefix.size(), x.prefix) == 0)
        paths.push_back(p);
    resp().body = std::move(paths);
  }

  void operator()(const get_all_children_number_request& x) {
    if (auto* n = find_readable(x.path, perm::read))
      resp().body = db_.tree_.descendant_count(*n);
  }

  void operator()(const add_watch_request& x) {
    if (!check_path(x.path))
      return;
    if (x.mode != add_watch_mode::persistent && x.mode != add_watch_mode::persistent_recursive)
      return fail(error_code::bad_arguments, "unknown addWatch mode " + std::to_string(static_cast<int32_t>(x.mode)));
    if (auto* n = db_.tree_.find(x.path); n != nullptr && !db_.permitted(s_, db_.tree_.acl_of(*n), perm::read))
      return fail(error_code::no_auth, x.path);
    db_.watches_.add_persistent(x.path, s_, x.mode == add_watch_mode::persistent_recursive);
  }

  void operator()(const remove_watches_request& x) {
    if (!check_path(x.path))
      return;
    auto type = static_cast<int32_t>(x.type);
    if (type < 1 || type > 5)
      return fail(error_code::bad_arguments, "unknown watcher type " + std::to_string(type));
    bool found = x.check_only ? db_.watches_.has(x.path, x.type, s_) : db_.watches_.remove(x.path, x.type, s_);
    if (!found)
      fail(error_code::no_watcher, x.path);
  }

  // A reconnecting client re-arms its watches; what changed since `relative_zxid` fires at once
  // (data: mzxid newer; children: pzxid newer; gone: NodeDeleted; exists on a node now present:
  // NodeCreated), as ZooKeeper does.
  void operator()(const set_watches_request& x) {
    auto z = x.relative_zxid;
    auto& tree = db_.tree_;
    auto& watches = db_.watches_;
    for (auto& p : x.data) {
      auto* n = tree.find(p);
      if (n == nullptr)
        fire(p, event_type::node_deleted);
      else if (n->mzxid > z)
        fire(p, event_type::node_data_changed);
      else
        watches.add_data(p, s_);
    }
    for (auto& p : x.exist) {
      if (tree.find(p) != nullptr)
        fire(p, event_type::node_created);
      else
        watches.add_data(p, s_);
    }
    for (auto& p : x.child) {
      auto* n = tree.find(p);
      if (n == nullptr)
        fire(p, event_type::node_deleted);
      else if (n->pzxid > z)
        fire(p, event_type::node_children_changed);
      else
        watches.add_child(p, s_);
    }
    for (auto& p : x.persistent)
      watches.add_persistent(p, s_, false);
    for (auto& p : x.persistent_recursive)
      watches.add_persistent(p, s_, true);
  }

  void operator()(const auth_request& a) { db_.add_auth(s_, a, out_); }
  void operator()(const sasl_request& a) { db_.sasl_step(s_, a, out_); }

  void operator()(const who_am_i_request&) {
    auth_list ids;
    for (auto& a : db_.auth_of(s_)) {
      if (a.scheme == "digest")
        ids.push_back({a.scheme, a.id.substr(0, a.id.find(':'))});
      else
        ids.push_back(a);
    }
    resp().body = std::move(ids);
  }

  void operator()(const ping_request&) {}

  template <class Write>
  void operator()(const Write&) {
    fail(error_code::bad_arguments, std::string(request_name(r_.body)) + " is a write");
  }

private:
  response& resp() { return out_.resp; }
  // Sets the watch, or, for read_shared, tells the caller to.
  void watch(const std::string& path, bool child) {
    if (wish_ != nullptr)
      *wish_ = watch_wish{path, child};
    else if (child)
      db_.watches_.add_child(path, s_);
    else
      db_.watches_.add_data(path, s_);
  }
  void fail(error_code err, std::string detail) {
    resp().err = err;
    resp().detail = std::move(detail);
  }
  bool check_path(const std::string& path) {
    auto e = validate_path(path);
    if (e.code != error_code::ok)
      fail(e.code, e.detail);
    return e.code == error_code::ok;
  }
  // The node at `path` if it exists and the session may do `perms` on it; else the error is set.
  const data_tree::node* find_readable(const std::string& path, int32_t perms) {
    if (!check_path(path))
      return nullptr;
    auto* n = db_.tree_.find(path);
    if (n == nullptr)
      fail(error_code::no_node, path);
    else if (!db_.permitted(s_, db_.tree_.acl_of(*n), perms))
      fail(error_code::no_auth, path);
    else
      return n;
    return nullptr;
  }
  void fire(const std::string& path, event_type t) {
    out_.events.push_back({s_, watch_event{t, keeper_state::sync_connected, path, db_.last_applied_}});
  }

  database& db_;
  session_id s_;
  const request& r_;
  outcome& out_;
  std::optional<watch_wish>* wish_;
};

outcome database::read(session_id s, const request& r) {
  outcome out;
  out.session = s;
  out.resp.xid = r.xid;
  out.resp.zxid = last_applied_;
  std::visit(read_ops{*this, s, r, out}, r.body);
  return out;
}

bool database::is_shared_read(const request_body& r) {
  return std::holds_alternative<get_data_request>(r) || std::holds_alternative<exists_request>(r) ||
         std::holds_alternative<get_children_request>(r) || std::holds_alternative<get_acl_request>(r) ||
         std::holds_alternative<get_all_children_number_request>(r);
}

outcome database::read_shared(session_id s, const request& r, std::optional<watch_wish>& wish) {
  CORRAL_CHECK(is_shared_read(r.body), "database", request_name(r.body),
               " is not a read that may be answered in parallel");
  wish.reset();
  outcome out;
  out.session = s;
  out.resp.xid = r.xid;
  out.resp.zxid = last_applied_;
  std::visit(read_ops{*this, s, r, out, &wish}, r.body);
  return out;
}

// ---- read-only sessions ---------------------------------------------------------------------

session_id database::open_local_session(int32_t requested_timeout_ms, std::string password, int64_t now_ms) {
  auto id = next_session_++;
  sessions_.add(id, negotiate_timeout(requested_timeout_ms), std::move(password), now_ms);
  local_sessions_.insert(id);
  return id;
}

void database::end_local_session(session_id id) {
  CORRAL_CHECK(is_local_session(id), "database", "session ", to_hex(id), " is not a read-only session");
  connection_lost(id);
  sessions_.remove(id);
  local_sessions_.erase(id);
}

std::vector<session_id> database::expire_local_sessions(int64_t now_ms) {
  std::vector<session_id> gone;
  for (auto id : local_sessions_)
    if (sessions_.find(id)->expires_at <= now_ms)
      gone.push_back(id);
  for (auto id : gone)
    end_local_session(id);
  return gone;
}

// ---- durability ------------------------------------------------------------------------------

void database::abandon_prepared(int64_t now_ms) {
  pending_.clear();
  pending_order_.clear();
  next_zxid_ = last_applied_;
  // Sessions whose close was prepared but never applied are open again, for one more timeout.
  std::vector<session_id> reopen;
  for (auto& [id, s] : sessions_.all())
    if (s.closing)
      reopen.push_back(id);
  for (auto id : reopen) {
    sessions_.find(id)->closing = false;
    sessions_.touch(id, now_ms);
  }
}

std::vector<session_image> database::session_images() const {
  std::vector<session_image> out;
  for (auto& [id, s] : sessions_.all())
    if (!is_local_session(id)) // the ensemble never knew it
      out.push_back({id, s.timeout_ms, s.password});
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.id < b.id; });
  return out;
}

void database::restore_session(const session_image& s) {
  sessions_.add(s.id, s.timeout_ms, s.password, 0);
  if (s.id >= next_session_ && (s.id >> 56) == opts_.server_id)
    next_session_ = s.id + 1;
}

void database::restored(zxid_t last_zxid) {
  last_applied_ = last_zxid;
  next_zxid_ = last_zxid;
  tree_.rebuild_quotas(); // usage counted from the restored nodes; replayed txns then keep it exact
}

// ---- time ------------------------------------------------------------------------------------

std::vector<txn> database::expire_sessions(int64_t now_ms, int64_t wall_ms) {
  std::vector<txn> out;
  for (auto id : sessions_.take_expired(now_ms)) {
    CORRAL_CHECK(!is_local_session(id), "database", "read-only session ", to_hex(id),
                 " outlived read-only mode (the pipeline ends them all when it leaves it)");
    zxid_t zxid = next_zxid_ + 1;
    auto body = prepare_close(id, zxid);
    out.push_back(make_txn(id, wall_ms, std::move(body)));
  }
  return out;
}

std::vector<txn> database::collect_garbage(int64_t wall_ms) {
  std::vector<txn> out;
  if (wall_ms - last_container_check_ < opts_.container_check_ms)
    return out;
  last_container_check_ = wall_ms;
  std::vector<std::string> doomed;
  for (auto& path : tree_.containers()) {
    auto* n = tree_.find(path);
    if (n != nullptr && n->children.empty() && n->cversion > 0)
      doomed.push_back(path);
  }
  for (auto& path : tree_.ttl_nodes()) {
    auto* n = tree_.find(path);
    if (n != nullptr && n->children.empty() && wall_ms - n->mtime > owner::ttl_of(n->ephemeral_owner))
      doomed.push_back(path);
  }
  for (auto& path : doomed) {
    auto rec = lookup(path);
    if (!rec.exists || rec.child_count > 0)
      continue; // a pending create or delete got there first
    auto op = prepare_delete(0, delete_request{path, -1}, next_zxid_ + 1, nullptr);
    if (op)
      out.push_back(make_txn(0, wall_ms, std::get<txn_delete>(*op)));
  }
  return out;
}

} // namespace corral
