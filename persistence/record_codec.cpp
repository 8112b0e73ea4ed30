#include "core/overload.hpp"
#include "persistence/record_codec.hpp"

#include "schema/reader_limits.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <ctime>

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include "core/format.hpp"
#include "persistence/txn_capnp.hpp"
#include "storage.capnp.h"
#include "schema/scratch_builder.hpp"

namespace corral::persistence {

namespace {

kj::ArrayPtr<const kj::byte> bytes(const std::string& s) {
  return kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}
std::string str(capnp::Data::Reader d) { return std::string(reinterpret_cast<const char*>(d.begin()), d.size()); }
std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }

// A snapshot node's stat fields, from a node_image or from the tree's node itself (the same names).
template <class Node>
void put_node_stat(storage::NodeImage::Builder b, const Node& n) {
  b.setCzxid(n.czxid);
  b.setMzxid(n.mzxid);
  b.setPzxid(n.pzxid);
  b.setCtime(n.ctime);
  b.setMtime(n.mtime);
  b.setEphemeralOwner(n.ephemeral_owner);
  b.setVersion(n.version);
  b.setCversion(n.cversion);
  b.setAversion(n.aversion);
}

void put_acl(capnp::List<storage::Acl>::Builder b, const acl_list& acl) {
  for (unsigned i = 0; i < acl.size(); ++i) {
    b[i].setPerms(acl[i].perms);
    b[i].setScheme(acl[i].scheme);
    b[i].setId(acl[i].id);
  }
}

acl_list get_acl(capnp::List<storage::Acl>::Reader r) {
  acl_list out;
  for (auto a : r)
    out.push_back({a.getPerms(), str(a.getScheme()), str(a.getId())});
  return out;
}

void put_create(storage::CreateTxn::Builder b, const txn_create& c) {
  b.setPath(c.path);
  b.setData(bytes(c.data));
  put_acl(b.initAcl(static_cast<unsigned>(c.acl.size())), c.acl);
  b.setEphemeralOwner(c.ephemeral_owner);
  b.setParentCversion(c.parent_cversion);
  b.setNullData(c.null_data);
}
txn_create get_create(storage::CreateTxn::Reader r) {
  return {str(r.getPath()),      str(r.getData()),      get_acl(r.getAcl()),
          r.getEphemeralOwner(), r.getParentCversion(), r.getNullData()};
}
void put_set_data(storage::SetDataTxn::Builder b, const txn_set_data& s) {
  b.setPath(s.path);
  b.setData(bytes(s.data));
  b.setVersion(s.version);
  b.setNullData(s.null_data);
}
void put_set_acl(storage::SetAclTxn::Builder b, const txn_set_acl& s) {
  b.setPath(s.path);
  put_acl(b.initAcl(static_cast<unsigned>(s.acl.size())), s.acl);
  b.setVersion(s.version);
}
void put_check(storage::CheckTxn::Builder b, const txn_check& c) {
  b.setPath(c.path);
  b.setVersion(c.version);
}
void put_error(storage::ErrorTxn::Builder b, const txn_error& e) {
  b.setErr(static_cast<int32_t>(e.err));
  b.setDetail(e.detail);
}

template <class Builder>
void put_op(Builder b, const txn_op& op) {
  std::visit(overload{[&](const txn_create& c) { put_create(b.initCreate(), c); },
                      [&](const txn_delete& d) { b.setDelete(d.path); },
                      [&](const txn_set_data& s) { put_set_data(b.initSetData(), s); },
                      [&](const txn_set_acl& s) { put_set_acl(b.initSetAcl(), s); },
                      [&](const txn_check& c) { put_check(b.initCheck(), c); },
                      [&](const txn_error& e) { put_error(b.initError(), e); }},
             op);
}

template <class Reader>
result<txn_op> get_op(Reader r) {
  using W = std::decay_t<decltype(r.which())>;
  switch (r.which()) {
    case W::CREATE: return txn_op{get_create(r.getCreate())};
    case W::DELETE: return txn_op{txn_delete{str(r.getDelete())}};
    case W::SET_DATA: {
      auto s = r.getSetData();
      return txn_op{txn_set_data{str(s.getPath()), str(s.getData()), s.getVersion(), s.getNullData()}};
    }
    case W::SET_ACL: {
      auto s = r.getSetAcl();
      return txn_op{txn_set_acl{str(s.getPath()), get_acl(s.getAcl()), s.getVersion()}};
    }
    case W::CHECK: return txn_op{txn_check{str(r.getCheck().getPath()), r.getCheck().getVersion()}};
    case W::ERROR: return txn_op{txn_error{error_from_int(r.getError().getErr()), str(r.getError().getDetail())}};
    default: return error_info{error_code::data_inconsistency, "unknown txn op"};
  }
}

template <class F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const kj::Exception& e) {
    return error_info{error_code::data_inconsistency, std::string("undecodable record: ") + e.getDescription().cStr()};
  }
}

} // namespace

void put_txn(storage::TxnRecord::Builder r, const txn& t) {
  r.setZxid(t.zxid);
  r.setTime(t.time);
  r.setSession(t.session);
  r.setCxid(t.cxid);
  std::visit(overload{[&](const txn_create& c) { put_create(r.initCreate(), c); },
                      [&](const txn_delete& d) { r.setDelete(d.path); },
                      [&](const txn_set_data& s) { put_set_data(r.initSetData(), s); },
                      [&](const txn_set_acl& s) { put_set_acl(r.initSetAcl(), s); },
                      [&](const txn_check& c) { put_check(r.initCheck(), c); },
                      [&](const txn_error& x) { put_error(r.initError(), x); },
                      [&](const txn_multi& m) {
                        auto ops = r.initMulti(static_cast<unsigned>(m.ops.size()));
                        for (unsigned i = 0; i < m.ops.size(); ++i)
                          put_op(ops[i], m.ops[i]);
                      },
                      [&](const txn_create_session& c) {
                        auto b = r.initCreateSession();
                        b.setTimeoutMs(c.timeout_ms);
                        b.setPassword(bytes(c.password));
                      },
                      [&](const txn_close_session& c) {
                        auto l = r.initCloseSession(static_cast<unsigned>(c.ephemerals.size()));
                        for (unsigned i = 0; i < c.ephemerals.size(); ++i)
                          l.set(i, c.ephemerals[i]);
                      },
                      [&](const txn_reconfig& c) { r.setReconfig(config_text(c.next)); }},
             t.body);
}

result<txn> get_txn(storage::TxnRecord::Reader r) {
  using W = storage::TxnRecord;
  txn t;
  t.zxid = r.getZxid();
  t.time = r.getTime();
  t.session = r.getSession();
  t.cxid = r.getCxid();
  switch (r.which()) {
    case W::DIGEST_CHECK: return error_info{error_code::data_inconsistency, "a digest check is not a txn"};
    case W::MULTI: {
      txn_multi m;
      for (auto op : r.getMulti()) {
        auto x = get_op(op);
        if (!x)
          return x.error();
        m.ops.push_back(std::move(*x));
      }
      t.body = std::move(m);
      break;
    }
    case W::CREATE_SESSION:
      t.body = txn_create_session{r.getCreateSession().getTimeoutMs(), str(r.getCreateSession().getPassword())};
      break;
    case W::CLOSE_SESSION: {
      txn_close_session c;
      for (auto p : r.getCloseSession())
        c.ephemerals.push_back(str(p));
      t.body = std::move(c);
      break;
    }
    case W::RECONFIG: {
      auto m = parse_config_text(str(r.getReconfig()));
      if (!m)
        return error_info{error_code::data_inconsistency, "a reconfig record's membership: " + m.error().detail};
      if (m->version != t.zxid)
        return error_info{error_code::data_inconsistency,
                          "a reconfig record's version " + to_hex(m->version) + " is not its zxid " + to_hex(t.zxid)};
      t.body = txn_reconfig{std::move(*m)};
      break;
    }
    default: {
      auto x = get_op(r);
      if (!x)
        return x.error();
      std::visit([&](auto&& v) { t.body = std::move(v); }, std::move(*x));
    }
  }
  return t;
}

kj::Array<capnp::word> encode_entry(const log_entry& e) {
  return std::visit([](const auto& x) { return encode_entry(x); }, e);
}

kj::Array<capnp::word> encode_entry(const txn& t) {
  scratch_builder mb;
  put_txn(mb.initRoot<storage::TxnRecord>(), t);
  return capnp::messageToFlatArray(mb);
}

kj::Array<capnp::word> encode_entry(const digest_check& d) {
  scratch_builder mb;
  auto r = mb.initRoot<storage::TxnRecord>();
  r.setZxid(d.zxid);
  r.setDigest(d.digest);
  r.setDigestCheck();
  return capnp::messageToFlatArray(mb);
}

result<log_entry> decode_entry(kj::ArrayPtr<const capnp::word> words) {
  return guarded([&]() -> result<log_entry> {
    capnp::FlatArrayMessageReader reader(words, schema::bounded_reading(words.size()));
    auto r = reader.getRoot<storage::TxnRecord>();
    if (r.which() == storage::TxnRecord::DIGEST_CHECK)
      return log_entry{digest_check{r.getZxid(), r.getDigest()}};
    auto t = get_txn(r);
    if (!t)
      return t.error();
    return log_entry{std::move(*t)};
  });
}

result<entry_peek> peek_entry(kj::ArrayPtr<const capnp::word> words) {
  return guarded([&]() -> result<entry_peek> {
    capnp::FlatArrayMessageReader reader(words, schema::bounded_reading(words.size()));
    auto r = reader.getRoot<storage::TxnRecord>();
    return entry_peek{r.which() != storage::TxnRecord::DIGEST_CHECK, r.getZxid()};
  });
}

kj::Array<capnp::word> encode_snapshot_frame(const snapshot_frame& f) {
  capnp::MallocMessageBuilder mb;
  auto r = mb.initRoot<storage::SnapshotFrame>();
  std::visit(overload{[&](const snapshot_header& h) {
                        auto b = r.initHeader();
                        b.setDbId(h.db_id);
                        b.setStartZxid(h.start_zxid);
                        auto l = b.initSessions(static_cast<unsigned>(h.sessions.size()));
                        for (unsigned i = 0; i < h.sessions.size(); ++i) {
                          l[i].setId(h.sessions[i].id);
                          l[i].setTimeoutMs(h.sessions[i].timeout_ms);
                          l[i].setPassword(bytes(h.sessions[i].password));
                        }
                      },
                      [&](const std::vector<node_image>& nodes) {
                        auto chunk = r.initChunk();
                        std::vector<const acl_list*> table;
                        auto index_of = [&](const acl_list& acl) {
                          for (size_t k = 0; k < table.size(); ++k)
                            if (*table[k] == acl)
                              return static_cast<uint32_t>(k);
                          table.push_back(&acl);
                          return static_cast<uint32_t>(table.size() - 1);
                        };
                        auto l = chunk.initNodes(static_cast<unsigned>(nodes.size()));
                        for (unsigned i = 0; i < nodes.size(); ++i) {
                          auto& n = nodes[i];
                          auto b = l[i];
                          b.setPath(n.path);
                          b.setData(bytes(n.data));
                          b.setNullData(n.null_data);
                          b.setAclIndex(index_of(n.acl));
                          put_node_stat(b, n);
                        }
                        auto acls = chunk.initAcls(static_cast<unsigned>(table.size()));
                        for (unsigned k = 0; k < table.size(); ++k)
                          put_acl(acls[k].initEntries(static_cast<unsigned>(table[k]->size())), *table[k]);
                      },
                      [&](const snapshot_trailer& t) {
                        auto b = r.initTrailer();
                        b.setEndZxid(t.end_zxid);
                        b.setNodeCount(t.node_count);
                        b.setDigestAtEnd(t.digest_at_end);
                      }},
             f);
  return capnp::messageToFlatArray(mb);
}

uint64_t chunk_encoder::encode(const data_tree& tree, std::string& cursor, size_t max, word_buffer& out) {
  // First pass: the nodes and their paths (one buffer), and the size of the message to come, so
  // that it fits in the first segment.
  picked_.clear();
  path_at_.clear();
  paths_.clear();
  acl_ids_.clear();
  size_t words = 16;
  tree.for_each_after(cursor, max, [&](const data_tree::node& n, const std::string& path) {
    picked_.push_back(&n);
    path_at_.emplace_back(paths_.size(), path.size());
    paths_ += path;
    paths_ += '\0';                                                // a capnp::Text::Reader must end in a NUL
    words += 12 + (path.size() + 8) / 8 + (n.data.size() + 7) / 8; // struct, text, data
  });
  if (picked_.empty())
    return 0;
  words = std::min(words + 256, max_first_segment_words); // + the ACL table
  if (first_.size() < words) {
    first_ = kj::heapArray<capnp::word>(words);
    std::memset(first_.begin(), 0, words * sizeof(capnp::word));
  }
  {
    capnp::MallocMessageBuilder mb(first_.asPtr(), capnp::AllocationStrategy::GROW_HEURISTICALLY);
    auto chunk = mb.initRoot<storage::SnapshotFrame>().initChunk();
    auto l = chunk.initNodes(static_cast<unsigned>(picked_.size()));
    for (unsigned i = 0; i < picked_.size(); ++i) {
      auto& n = *picked_[i];
      auto b = l[i];
      b.setPath(capnp::Text::Reader(paths_.data() + path_at_[i].first, path_at_[i].second));
      b.setData(capnp::Data::Reader(reinterpret_cast<const kj::byte*>(n.data.data()), n.data.size()));
      b.setNullData(n.null_data != 0);
      auto it = std::find(acl_ids_.begin(), acl_ids_.end(), static_cast<uint32_t>(n.acl));
      if (it == acl_ids_.end())
        it = acl_ids_.insert(acl_ids_.end(), static_cast<uint32_t>(n.acl));
      b.setAclIndex(static_cast<uint32_t>(it - acl_ids_.begin()));
      put_node_stat(b, n);
    }
    auto acls = chunk.initAcls(static_cast<unsigned>(acl_ids_.size()));
    for (unsigned k = 0; k < acl_ids_.size(); ++k) {
      auto& acl = tree.acl_of_id(acl_ids_[k]);
      put_acl(acls[k].initEntries(static_cast<unsigned>(acl.size())), acl);
    }
    // Cap'n Proto's flat format, into `out`: the segment table, then the segments.
    auto segments = mb.getSegmentsForOutput();
    size_t table_words = (segments.size() + 2) / 2;
    size_t total = table_words;
    for (auto seg : segments)
      total += seg.size();
    out.resize(total);
    auto* table = reinterpret_cast<uint32_t*>(out.data());
    std::memset(table, 0, table_words * sizeof(capnp::word));
    table[0] = static_cast<uint32_t>(segments.size() - 1);
    auto* at = out.data() + table_words;
    for (size_t k = 0; k < segments.size(); ++k) {
      table[k + 1] = static_cast<uint32_t>(segments[k].size());
      std::memcpy(at, segments[k].begin(), segments[k].size() * sizeof(capnp::word));
      at += segments[k].size();
    }
  } // the builder zeroes what it used of first_
  return picked_.size();
}

void chunk_encoder::release() {
  first_ = nullptr;
  picked_ = {};
  path_at_ = {};
  paths_ = {};
  acl_ids_ = {};
}

result<snapshot_frame> decode_snapshot_frame(kj::ArrayPtr<const capnp::word> words) {
  return guarded([&]() -> result<snapshot_frame> {
    capnp::FlatArrayMessageReader reader(words, schema::bounded_reading(words.size()));
    auto r = reader.getRoot<storage::SnapshotFrame>();
    switch (r.which()) {
      case storage::SnapshotFrame::HEADER: {
        auto h = r.getHeader();
        snapshot_header out;
        out.db_id = h.getDbId();
        out.start_zxid = h.getStartZxid();
        for (auto s : h.getSessions())
          out.sessions.push_back({s.getId(), s.getTimeoutMs(), str(s.getPassword())});
        return snapshot_frame{std::move(out)};
      }
      case storage::SnapshotFrame::CHUNK: {
        std::vector<acl_list> table;
        for (auto a : r.getChunk().getAcls())
          table.push_back(get_acl(a.getEntries()));
        std::vector<node_image> nodes;
        nodes.reserve(r.getChunk().getNodes().size());
        for (auto b : r.getChunk().getNodes()) {
          node_image n;
          n.path = str(b.getPath());
          n.data = str(b.getData());
          n.null_data = b.getNullData();
          if (b.getAclIndex() >= table.size())
            return error_info{error_code::data_inconsistency, "node " + n.path + " names a missing ACL"};
          n.acl = table[b.getAclIndex()];
          n.czxid = b.getCzxid();
          n.mzxid = b.getMzxid();
          n.pzxid = b.getPzxid();
          n.ctime = b.getCtime();
          n.mtime = b.getMtime();
          n.ephemeral_owner = b.getEphemeralOwner();
          n.version = b.getVersion();
          n.cversion = b.getCversion();
          n.aversion = b.getAversion();
          nodes.push_back(std::move(n));
        }
        return snapshot_frame{std::move(nodes)};
      }
      case storage::SnapshotFrame::TRAILER: {
        auto t = r.getTrailer();
        return snapshot_frame{snapshot_trailer{t.getEndZxid(), t.getNodeCount(), t.getDigestAtEnd()}};
      }
      default: return error_info{error_code::data_inconsistency, "unknown snapshot frame"};
    }
  });
}

namespace {
std::string when(int64_t ms) { return format_utc(ms, "%Y-%m-%dT%H:%M:%S", true); }
std::string op_text(const txn_op& op) {
  return std::visit(overload{[](const txn_create& c) {
                               return "create " + c.path + " (" + std::to_string(c.data.size()) + " bytes)";
                             },
                             [](const txn_delete& d) { return "delete " + d.path; },
                             [](const txn_set_data& s) {
                               return "setData " + s.path + " v" + std::to_string(s.version) + " (" +
                                      std::to_string(s.data.size()) + " bytes)";
                             },
                             [](const txn_set_acl& s) { return "setACL " + s.path + " v" + std::to_string(s.version); },
                             [](const txn_check& c) { return "check " + c.path; },
                             [](const txn_error& e) {
                               return std::string("error ") + error_name(e.err) +
                                      (e.detail.empty() ? "" : " " + e.detail);
                             }},
                    op);
}
} // namespace

std::string describe(const log_entry& e) {
  if (auto* d = std::get_if<digest_check>(&e))
    return to_hex(d->zxid) + " digest " + to_hex(static_cast<int64_t>(d->digest));
  auto& t = std::get<txn>(e);
  std::string out = to_hex(t.zxid) + " " + when(t.time) + " session " + to_hex(t.session) + " ";
  std::visit(overload{[&](const txn_multi& m) {
                        out += "multi [";
                        for (size_t i = 0; i < m.ops.size(); ++i)
                          out += (i ? "; " : "") + op_text(m.ops[i]);
                        out += "]";
                      },
                      [&](const txn_create_session& c) {
                        out += "createSession timeout " + std::to_string(c.timeout_ms) + " ms";
                      },
                      [&](const txn_close_session& c) {
                        out += "closeSession (" + std::to_string(c.ephemerals.size()) + " ephemerals)";
                      },
                      [&](const txn_reconfig& c) {
                        auto text = config_text(c.next);
                        std::replace(text.begin(), text.end(), '\n', ' ');
                        out += "reconfig " + text;
                      },
                      [&](const auto& single) { out += op_text(txn_op{single}); }},
             t.body);
  return out;
}

} // namespace corral::persistence
