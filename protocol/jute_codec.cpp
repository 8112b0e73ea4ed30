#include "protocol/jute_codec.hpp"

#include <cstring>

#include "core/overload.hpp"

namespace corral::protocol::jute {

namespace {

// ---- primitives ------------------------------------------------------------------------------

class writer {
public:
  explicit writer(std::vector<char>& out) : out_(out), start_(out.size()) { i32(0); } // length, patched
  ~writer() {
    auto len = static_cast<uint32_t>(out_.size() - start_ - 4);
    for (int i = 0; i < 4; ++i)
      out_[start_ + i] = static_cast<char>(len >> (24 - 8 * i));
  }
  void i32(int32_t v) { put(static_cast<uint64_t>(static_cast<uint32_t>(v)), 4); }
  void i64(int64_t v) { put(static_cast<uint64_t>(v), 8); }
  void boolean(bool v) { out_.push_back(v ? 1 : 0); }
  void buffer(const std::string& s) {
    i32(static_cast<int32_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.end());
  }
  // A byte array that may be null (length -1), as znode data is.
  void data(const std::string& s, bool null) {
    if (null)
      i32(-1);
    else
      buffer(s);
  }
  void strings(const std::vector<std::string>& v) {
    i32(static_cast<int32_t>(v.size()));
    for (auto& s : v)
      buffer(s);
  }
  void stat(const node_stat& s) {
    i64(s.czxid);
    i64(s.mzxid);
    i64(s.ctime);
    i64(s.mtime);
    i32(s.version);
    i32(s.cversion);
    i32(s.aversion);
    i64(s.ephemeral_owner);
    i32(s.data_length);
    i32(s.num_children);
    i64(s.pzxid);
  }
  void acl(const acl_list& l) {
    i32(static_cast<int32_t>(l.size()));
    for (auto& e : l) {
      i32(e.perms);
      buffer(e.scheme);
      buffer(e.id);
    }
  }

private:
  void put(uint64_t v, int bytes) {
    for (int i = bytes - 1; i >= 0; --i)
      out_.push_back(static_cast<char>(v >> (8 * i)));
  }
  std::vector<char>& out_;
  size_t start_;
};

// Reads a body; the first violation sets `failed` and a reason, and every later read yields zeros.
class reader {
public:
  explicit reader(const std::string& b) : p_(b.data()), left_(b.size()) {}
  bool failed() const { return !reason_.empty(); }
  const std::string& reason() const { return reason_; }
  size_t left() const { return left_; }
  void fail(std::string why) {
    if (reason_.empty())
      reason_ = std::move(why);
    left_ = 0;
  }

  int32_t i32() { return static_cast<int32_t>(static_cast<uint32_t>(get(4, "int"))); }
  int64_t i64() { return static_cast<int64_t>(get(8, "long")); }
  bool boolean() { return get(1, "boolean") != 0; }
  // Znode data: null (length -1) is kept apart from empty.
  std::string data(const char* what, bool& null) {
    int32_t n = i32();
    null = n == -1 && !failed();
    return sized(what, n);
  }
  std::string buffer(const char* what) { return sized(what, i32()); }
  // The `n` bytes after a length (-1: null, read as empty).
  std::string sized(const char* what, int32_t n) {
    if (n == -1)
      return {}; // null
    if (n < 0 || static_cast<size_t>(n) > left_) {
      fail(std::string(what) + ": length " + std::to_string(n) + " but " + std::to_string(left_) + " bytes left");
      return {};
    }
    std::string s(p_, static_cast<size_t>(n));
    p_ += n;
    left_ -= static_cast<size_t>(n);
    return s;
  }
  // A vector's count; each element takes at least `min_bytes`, which bounds the count by what is left.
  size_t count(const char* what, size_t min_bytes) {
    int32_t n = i32();
    if (n == -1)
      return 0;
    if (n < 0 || static_cast<size_t>(n) > left_ / min_bytes) {
      fail(std::string(what) + ": count " + std::to_string(n) + " does not fit in " + std::to_string(left_) + " bytes");
      return 0;
    }
    return static_cast<size_t>(n);
  }
  std::vector<std::string> strings(const char* what) {
    std::vector<std::string> v(count(what, 4));
    for (auto& s : v)
      s = buffer(what);
    return v;
  }
  acl_list acl() {
    acl_list l(count("acl", 12));
    for (auto& e : l) {
      e.perms = i32();
      e.scheme = buffer("acl scheme");
      e.id = buffer("acl id");
    }
    return l;
  }
  node_stat stat() {
    node_stat s;
    s.czxid = i64();
    s.mzxid = i64();
    s.ctime = i64();
    s.mtime = i64();
    s.version = i32();
    s.cversion = i32();
    s.aversion = i32();
    s.ephemeral_owner = i64();
    s.data_length = i32();
    s.num_children = i32();
    s.pzxid = i64();
    return s;
  }

private:
  uint64_t get(size_t bytes, const char* what) {
    if (left_ < bytes) {
      fail(std::string("truncated ") + what);
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < bytes; ++i)
      v = (v << 8) | static_cast<uint8_t>(p_[i]);
    p_ += bytes;
    left_ -= bytes;
    return v;
  }
  const char* p_;
  size_t left_;
  std::string reason_;
};

constexpr size_t max_ops = 100000; // ops in one multi: far above any real use, bounds the work

bool is_create_op(op_code op) {
  return op == op_code::create || op == op_code::create2 || op == op_code::create_container ||
         op == op_code::create_ttl;
}

create_request read_create(reader& in, op_code op) {
  create_request c;
  c.path = in.buffer("path");
  c.data = in.data("data", c.null_data);
  c.acl = in.acl();
  c.mode = static_cast<create_mode>(in.i32());
  if (op == op_code::create_ttl)
    c.ttl = in.i64();
  return c;
}

void write_create(writer& w, const create_request& c, op_code op) {
  w.buffer(c.path);
  w.data(c.data, c.null_data);
  w.acl(c.acl);
  w.i32(static_cast<int32_t>(c.mode));
  if (op == op_code::create_ttl)
    w.i64(c.ttl);
}

// One op of a multi (or multiRead, when `reads`); false with a reason on an op it may not hold.
bool read_multi_op(reader& in, op_code op, bool reads, std::vector<multi_op>& ops, std::vector<read_op>& read_ops) {
  if (reads) {
    if (op != op_code::get_children && op != op_code::get_data) {
      in.fail("multiRead may hold only getChildren and getData, not op " + std::to_string(static_cast<int>(op)));
      return false;
    }
    auto path = in.buffer("path");
    bool watch = in.boolean();
    if (op == op_code::get_data)
      read_ops.push_back(get_data_request{std::move(path), watch});
    else
      read_ops.push_back(get_children_request{std::move(path), watch});
    return true;
  }
  if (is_create_op(op)) {
    ops.push_back(read_create(in, op));
  } else if (op == op_code::remove) {
    auto path = in.buffer("path");
    ops.push_back(delete_request{std::move(path), in.i32()});
  } else if (op == op_code::set_data) {
    set_data_request s;
    s.path = in.buffer("path");
    s.data = in.data("data", s.null_data);
    s.version = in.i32();
    ops.push_back(std::move(s));
  } else if (op == op_code::check) {
    auto path = in.buffer("path");
    ops.push_back(check_request{std::move(path), in.i32()});
  } else {
    in.fail("multi may hold only create, delete, setData and check, not op " + std::to_string(static_cast<int>(op)));
    return false;
  }
  return true;
}

void read_multi(reader& in, bool reads, decoded_request& d) {
  std::vector<multi_op> ops;
  std::vector<read_op> read_ops;
  for (size_t i = 0;; ++i) {
    auto type = static_cast<op_code>(in.i32());
    bool done = in.boolean();
    in.i32(); // err: unused in requests
    if (in.failed())
      return;
    if (done)
      break;
    if (i == max_ops) {
      in.fail("more than " + std::to_string(max_ops) + " ops in one multi");
      return;
    }
    if (!read_multi_op(in, type, reads, ops, read_ops))
      return;
    d.shape.sub_ops.push_back(type);
  }
  if (reads)
    d.req.body = multi_read_request{std::move(read_ops)};
  else
    d.req.body = multi_request{std::move(ops)};
}

set_watches_request read_set_watches(reader& in, bool v2) {
  set_watches_request w;
  w.relative_zxid = in.i64();
  w.data = in.strings("dataWatches");
  w.exist = in.strings("existWatches");
  w.child = in.strings("childWatches");
  if (v2) {
    w.persistent = in.strings("persistentWatches");
    w.persistent_recursive = in.strings("persistentRecursiveWatches");
  }
  return w;
}

// The body of a request of type `op`; false if the op is not one this server takes.
bool read_body(reader& in, op_code op, decoded_request& d) {
  auto& b = d.req.body;
  auto path = [&] { return in.buffer("path"); };
  switch (op) {
    case op_code::create:
    case op_code::create2:
    case op_code::create_container:
    case op_code::create_ttl: b = read_create(in, op); return true;
    case op_code::remove: {
      auto p = path();
      b = delete_request{std::move(p), in.i32()};
      return true;
    }
    case op_code::exists: {
      auto p = path();
      b = exists_request{std::move(p), in.boolean()};
      return true;
    }
    case op_code::get_data: {
      auto p = path();
      b = get_data_request{std::move(p), in.boolean()};
      return true;
    }
    case op_code::get_children:
    case op_code::get_children2: {
      auto p = path();
      b = get_children_request{std::move(p), in.boolean()};
      return true;
    }
    case op_code::set_data: {
      set_data_request s;
      s.path = path();
      s.data = in.data("data", s.null_data);
      s.version = in.i32();
      b = std::move(s);
      return true;
    }
    case op_code::get_acl: b = get_acl_request{path()}; return true;
    case op_code::set_acl: {
      set_acl_request s;
      s.path = path();
      s.acl = in.acl();
      s.version = in.i32();
      b = std::move(s);
      return true;
    }
    case op_code::sync: b = sync_request{path()}; return true;
    case op_code::check: {
      auto p = path();
      b = check_request{std::move(p), in.i32()};
      return true;
    }
    case op_code::multi: read_multi(in, false, d); return true;
    case op_code::multi_read: read_multi(in, true, d); return true;
    case op_code::check_watches:
    case op_code::remove_watches: {
      auto p = path();
      auto type = static_cast<watcher_type>(in.i32());
      b = remove_watches_request{std::move(p), type, op == op_code::check_watches};
      return true;
    }
    case op_code::get_ephemerals: b = get_ephemerals_request{path()}; return true;
    case op_code::get_all_children_number: b = get_all_children_number_request{path()}; return true;
    case op_code::add_watch: {
      auto p = path();
      b = add_watch_request{std::move(p), static_cast<add_watch_mode>(in.i32())};
      return true;
    }
    case op_code::set_watches: b = read_set_watches(in, false); return true;
    case op_code::set_watches2: b = read_set_watches(in, true); return true;
    case op_code::auth: {
      in.i32(); // type: unused by ZooKeeper too
      auto scheme = in.buffer("scheme");
      b = auth_request{std::move(scheme), in.buffer("auth")};
      return true;
    }
    case op_code::sasl: b = sasl_request{in.buffer("token")}; return true;
    case op_code::who_am_i: b = who_am_i_request{}; return true;
    case op_code::ping: b = ping_request{}; return true;
    case op_code::close_session: b = close_request{}; return true;
    case op_code::reconfig: {
      reconfig_request r;
      auto text = [&](const char* what) -> std::optional<std::string> {
        bool null = false;
        auto s = in.data(what, null);
        return null ? std::nullopt : std::optional<std::string>(std::move(s));
      };
      r.joining = text("joiningServers");
      r.leaving = text("leavingServers");
      r.members = text("newMembers");
      r.from_config = in.i64();
      b = std::move(r);
      return true;
    }
    default: return false;
  }
}

void write_op_result(writer& w, const op_result& r, op_code op, bool as_error) {
  if (as_error) {
    w.i32(static_cast<int32_t>(op_code::error));
    w.boolean(false);
    w.i32(static_cast<int32_t>(r.err));
    w.i32(static_cast<int32_t>(r.err)); // ErrorResponse
    return;
  }
  // Measured on ZooKeeper 3.8: inside a multi, a create2 result is reported as a create (the path
  // only), while createContainer and createTTL results are reported as create2 (path and stat).
  auto type = op;
  if (op == op_code::create2)
    type = op_code::create;
  else if (op == op_code::create_container || op == op_code::create_ttl)
    type = op_code::create2;
  w.i32(static_cast<int32_t>(type));
  w.boolean(false);
  w.i32(0);
  switch (type) {
    case op_code::create: w.buffer(r.path); break;
    case op_code::create2:
      w.buffer(r.path);
      w.stat(r.stat);
      break;
    case op_code::set_data: w.stat(r.stat); break;
    case op_code::get_data:
      w.data(r.data, r.null_data);
      w.stat(r.stat);
      break;
    case op_code::get_children: w.strings(r.children); break;
    default: break; // delete, check: no body
  }
}

void write_multi(writer& w, const response& r, const reply_shape& shape) {
  static const std::vector<op_result> none;
  auto* results = std::get_if<std::vector<op_result>>(&r.body);
  auto& list = results ? *results : none;
  bool atomic = shape.op == op_code::multi;
  bool failed = false;
  for (auto& x : list)
    failed = failed || x.err != error_code::ok;
  for (size_t i = 0; i < list.size(); ++i) {
    auto op = i < shape.sub_ops.size() ? shape.sub_ops[i] : list[i].type;
    bool as_error = (atomic && failed) || list[i].err != error_code::ok;
    write_op_result(w, list[i], op, as_error);
  }
  w.i32(-1);
  w.boolean(true);
  w.i32(-1);
}

template <class T>
const T* body_as(const response& r) {
  return std::get_if<T>(&r.body);
}

void write_reply_body(writer& w, const response& r, const reply_shape& shape) {
  static const node_stat no_stat;
  auto stat_of = [&]() -> const node_stat& {
    if (auto* s = body_as<node_stat>(r))
      return *s;
    if (auto* c = body_as<create_result>(r))
      return c->stat;
    if (auto* d = body_as<data_result>(r))
      return d->stat;
    if (auto* c = body_as<children_result>(r))
      return c->stat;
    if (auto* a = body_as<acl_result>(r))
      return a->stat;
    return no_stat;
  };
  switch (shape.op) {
    case op_code::create: w.buffer(body_as<create_result>(r) ? body_as<create_result>(r)->path : ""); break;
    case op_code::create2:
    case op_code::create_container:
    case op_code::create_ttl:
      w.buffer(body_as<create_result>(r) ? body_as<create_result>(r)->path : "");
      w.stat(stat_of());
      break;
    case op_code::exists:
    case op_code::set_data:
    case op_code::set_acl: w.stat(stat_of()); break;
    case op_code::get_data:
    case op_code::reconfig: // ZooKeeper answers with the new configuration's data and stat
      if (auto* d = body_as<data_result>(r))
        w.data(d->data, d->null_data);
      else
        w.buffer("");
      w.stat(stat_of());
      break;
    case op_code::get_acl:
      w.acl(body_as<acl_result>(r) ? body_as<acl_result>(r)->acl : acl_list{});
      w.stat(stat_of());
      break;
    case op_code::get_children:
    case op_code::get_children2:
      w.strings(body_as<children_result>(r) ? body_as<children_result>(r)->children : std::vector<std::string>{});
      if (shape.op == op_code::get_children2)
        w.stat(stat_of());
      break;
    case op_code::sync:
    case op_code::sasl: w.buffer(body_as<std::string>(r) ? *body_as<std::string>(r) : ""); break;
    case op_code::multi:
    case op_code::multi_read: write_multi(w, r, shape); break;
    case op_code::get_ephemerals:
      w.strings(body_as<std::vector<std::string>>(r) ? *body_as<std::vector<std::string>>(r)
                                                     : std::vector<std::string>{});
      break;
    case op_code::get_all_children_number: w.i32(body_as<int32_t>(r) ? *body_as<int32_t>(r) : 0); break;
    case op_code::who_am_i: {
      auto* ids = body_as<auth_list>(r);
      w.i32(ids ? static_cast<int32_t>(ids->size()) : 0);
      if (ids)
        for (auto& id : *ids) {
          w.buffer(id.scheme);
          w.buffer(id.id);
        }
      break;
    }
    case op_code::add_watch: w.i32(0); break; // ZooKeeper answers addWatch with ErrorResponse(0)
    default: break; // delete, check, watches, ping, auth, closeSession: the header says it all
  }
}

} // namespace

// ---- packets ---------------------------------------------------------------------------------

void packet_reader::feed(const char* data, size_t n) {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > (1u << 16) && pos_ * 2 > buf_.size()) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(data, n);
}

bool packet_reader::peek_first_word(int32_t& word) const {
  if (buf_.size() < 4)
    return false;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v = (v << 8) | static_cast<uint8_t>(buf_[static_cast<size_t>(i)]);
  word = static_cast<int32_t>(v);
  return true;
}

packet_reader::status packet_reader::next(std::string& out) {
  if (buf_.size() - pos_ < 4)
    return status::need_more;
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i)
    v = (v << 8) | static_cast<uint8_t>(buf_[pos_ + i]);
  auto len = static_cast<int32_t>(v);
  if (len < 0 || static_cast<size_t>(len) > max_) {
    reason_ = "packet length " + std::to_string(len) + " is outside [0, " + std::to_string(max_) +
              "] (raise corral.zk-max-packet-bytes if the client needs larger packets)";
    return status::bad;
  }
  if (buf_.size() - pos_ - 4 < static_cast<size_t>(len))
    return status::need_more;
  out.assign(buf_, pos_ + 4, static_cast<size_t>(len));
  pos_ += 4 + static_cast<size_t>(len);
  return status::packet;
}

// ---- decoding --------------------------------------------------------------------------------

result<connect_packet> decode_connect(const std::string& body) {
  reader in(body);
  connect_packet p;
  p.req.protocol_version = in.i32();
  p.req.last_zxid_seen = in.i64();
  p.req.timeout_ms = in.i32();
  p.req.session = in.i64();
  p.req.password = in.buffer("password");
  if (in.left() >= 1) {
    p.has_read_only = true;
    p.req.read_only = in.boolean();
  }
  if (in.failed())
    return error_info{error_code::marshalling_error, "ConnectRequest: " + in.reason()};
  if (in.left() != 0)
    return error_info{error_code::marshalling_error,
                      "ConnectRequest: " + std::to_string(in.left()) + " bytes after its last field"};
  if (p.req.password.size() > 64)
    return error_info{error_code::marshalling_error,
                      "ConnectRequest: a password of " + std::to_string(p.req.password.size()) + " bytes"};
  return p;
}

result<decoded_request> decode_request(const std::string& body) {
  reader in(body);
  decoded_request d;
  d.req.xid = in.i32();
  d.shape.op = static_cast<op_code>(in.i32());
  if (in.failed())
    return error_info{error_code::marshalling_error, "RequestHeader: " + in.reason()};
  if (!read_body(in, d.shape.op, d))
    return error_info{error_code::unimplemented,
                      "op code " + std::to_string(static_cast<int32_t>(d.shape.op)) + " is not supported"};
  auto name = [&] { return std::string(request_name(d.req.body)); };
  if (in.failed())
    return error_info{error_code::marshalling_error, name() + ": " + in.reason()};
  if (in.left() != 0)
    return error_info{error_code::marshalling_error,
                      name() + ": " + std::to_string(in.left()) + " bytes after its last field"};
  return d;
}

// ---- encoding --------------------------------------------------------------------------------

void encode_connect_response(const connect_response& r, bool with_read_only, std::vector<char>& out) {
  writer w(out);
  bool ok = r.err == error_code::ok;
  w.i32(0); // protocolVersion
  w.i32(ok ? r.timeout_ms : 0);
  w.i64(ok ? r.session : 0);
  w.buffer(ok ? r.password : std::string(16, '\0'));
  if (with_read_only)
    w.boolean(ok && r.read_only);
}

void encode_reply(const response& r, const reply_shape& shape, std::vector<char>& out) {
  writer w(out);
  w.i32(r.xid);
  w.i64(shape.op == op_code::auth ? 0 : r.zxid);
  // A multi's failure is reported per op; its header says ok, as ZooKeeper's does.
  bool multi = shape.op == op_code::multi || shape.op == op_code::multi_read;
  bool has_results = std::holds_alternative<std::vector<op_result>>(r.body);
  auto err = multi && has_results ? error_code::ok : r.err;
  w.i32(static_cast<int32_t>(err));
  if (err == error_code::ok)
    write_reply_body(w, r, shape);
}

void encode_event(const watch_event& e, std::vector<char>& out) {
  writer w(out);
  w.i32(notification_xid);
  w.i64(-1);
  w.i32(0);
  w.i32(static_cast<int32_t>(e.type));
  w.i32(static_cast<int32_t>(e.state));
  w.buffer(e.path);
}

void encode_connect_request(const connect_request& r, bool with_read_only, std::vector<char>& out) {
  writer w(out);
  w.i32(0);
  w.i64(r.last_zxid_seen);
  w.i32(r.timeout_ms);
  w.i64(r.session);
  w.buffer(r.password);
  if (with_read_only)
    w.boolean(r.read_only);
}

void encode_request(const request& r, const reply_shape& shape, std::vector<char>& out) {
  writer w(out);
  w.i32(r.xid);
  w.i32(static_cast<int32_t>(shape.op));
  size_t sub = 0;
  auto next_sub = [&](op_code fallback) { return sub < shape.sub_ops.size() ? shape.sub_ops[sub++] : fallback; };
  std::visit(overload{
                 [&](const create_request& c) { write_create(w, c, shape.op); },
                 [&](const delete_request& x) {
                   w.buffer(x.path);
                   w.i32(x.version);
                 },
                 [&](const exists_request& x) {
                   w.buffer(x.path);
                   w.boolean(x.watch);
                 },
                 [&](const get_data_request& x) {
                   w.buffer(x.path);
                   w.boolean(x.watch);
                 },
                 [&](const get_children_request& x) {
                   w.buffer(x.path);
                   w.boolean(x.watch);
                 },
                 [&](const set_data_request& x) {
                   w.buffer(x.path);
                   w.data(x.data, x.null_data);
                   w.i32(x.version);
                 },
                 [&](const get_acl_request& x) { w.buffer(x.path); },
                 [&](const set_acl_request& x) {
                   w.buffer(x.path);
                   w.acl(x.acl);
                   w.i32(x.version);
                 },
                 [&](const sync_request& x) { w.buffer(x.path); },
                 [&](const check_request& x) {
                   w.buffer(x.path);
                   w.i32(x.version);
                 },
                 [&](const multi_request& m) {
                   for (auto& op : m.ops) {
                     std::visit(overload{[&](const create_request& c) {
                                           auto t = next_sub(op_code::create);
                                           w.i32(static_cast<int32_t>(t));
                                           w.boolean(false);
                                           w.i32(-1);
                                           write_create(w, c, t);
                                         },
                                         [&](const delete_request& x) {
                                           w.i32(static_cast<int32_t>(next_sub(op_code::remove)));
                                           w.boolean(false);
                                           w.i32(-1);
                                           w.buffer(x.path);
                                           w.i32(x.version);
                                         },
                                         [&](const set_data_request& x) {
                                           w.i32(static_cast<int32_t>(next_sub(op_code::set_data)));
                                           w.boolean(false);
                                           w.i32(-1);
                                           w.buffer(x.path);
                                           w.data(x.data, x.null_data);
                                           w.i32(x.version);
                                         },
                                         [&](const check_request& x) {
                                           w.i32(static_cast<int32_t>(next_sub(op_code::check)));
                                           w.boolean(false);
                                           w.i32(-1);
                                           w.buffer(x.path);
                                           w.i32(x.version);
                                         }},
                                op);
                   }
                   w.i32(-1);
                   w.boolean(true);
                   w.i32(-1);
                 },
                 [&](const multi_read_request& m) {
                   for (auto& op : m.ops) {
                     auto [t, path, watch] =
                         std::visit(overload{[](const get_children_request& x) {
                                               return std::tuple{op_code::get_children, x.path, x.watch};
                                             },
                                             [](const get_data_request& x) {
                                               return std::tuple{op_code::get_data, x.path, x.watch};
                                             }},
                                    op);
                     next_sub(t);
                     w.i32(static_cast<int32_t>(t));
                     w.boolean(false);
                     w.i32(-1);
                     w.buffer(path);
                     w.boolean(watch);
                   }
                   w.i32(-1);
                   w.boolean(true);
                   w.i32(-1);
                 },
                 [&](const get_ephemerals_request& x) { w.buffer(x.prefix); },
                 [&](const get_all_children_number_request& x) { w.buffer(x.path); },
                 [&](const add_watch_request& x) {
                   w.buffer(x.path);
                   w.i32(static_cast<int32_t>(x.mode));
                 },
                 [&](const remove_watches_request& x) {
                   w.buffer(x.path);
                   w.i32(static_cast<int32_t>(x.type));
                 },
                 [&](const set_watches_request& x) {
                   w.i64(x.relative_zxid);
                   w.strings(x.data);
                   w.strings(x.exist);
                   w.strings(x.child);
                   if (shape.op == op_code::set_watches2) {
                     w.strings(x.persistent);
                     w.strings(x.persistent_recursive);
                   }
                 },
                 [&](const auth_request& x) {
                   w.i32(0);
                   w.buffer(x.scheme);
                   w.buffer(x.credentials);
                 },
                 [&](const reconfig_request& x) {
                   for (auto* s : {&x.joining, &x.leaving, &x.members})
                     w.data(s->value_or(""), !s->has_value());
                   w.i64(x.from_config);
                 },
                 [&](const sasl_request& x) { w.buffer(x.token); },
                 [&](const auto&) {}, // whoAmI, ping, closeSession: header only
             },
             r.body);
}

result<reply_header> decode_reply_header(const std::string& body) {
  reader in(body);
  reply_header h;
  h.xid = in.i32();
  h.zxid = in.i64();
  h.err = static_cast<error_code>(in.i32());
  if (in.failed())
    return error_info{error_code::marshalling_error, "ReplyHeader: " + in.reason()};
  return h;
}

result<connect_response> decode_connect_response(const std::string& body) {
  reader in(body);
  connect_response r;
  in.i32(); // protocolVersion
  r.timeout_ms = in.i32();
  r.session = static_cast<session_id>(in.i64());
  r.password = in.buffer("passwd");
  if (in.left() > 0)
    r.read_only = in.boolean(); // sent only to clients that sent the flag
  if (in.failed())
    return error_info{error_code::marshalling_error, "ConnectResponse: " + in.reason()};
  if (r.timeout_ms <= 0)
    r.err = error_code::session_expired; // how ZooKeeper tells a client that its session is gone
  return r;
}

std::string four_letter_word(int32_t word) {
  static const char* known[] = {"ruok", "srvr", "stat", "mntr", "conf", "cons", "envi", "wchs", "dirs",
                                "isro", "crst", "srst", "dump", "wchc", "wchp", "gtmk", "stmk", "hash"};
  auto v = static_cast<uint32_t>(word);
  char s[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8), static_cast<char>(v)};
  for (auto* k : known)
    if (std::memcmp(k, s, 4) == 0)
      return std::string(s, 4);
  return {};
}

} // namespace corral::protocol::jute
