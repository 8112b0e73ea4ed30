#include "core/overload.hpp"
#include "protocol/client_codec.hpp"

#include "schema/reader_limits.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include "client.capnp.h"
#include "protocol/client_capnp.hpp"
#include "protocol/frame.hpp"
#include "schema/scratch_builder.hpp"

namespace corral::protocol {

namespace {

kj::ArrayPtr<const kj::byte> bytes(const std::string& s) {
  return kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}
std::string str(capnp::Data::Reader d) { return std::string(reinterpret_cast<const char*>(d.begin()), d.size()); }
std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }

void put_stat(wire::Stat::Builder b, const node_stat& s) {
  b.setCzxid(s.czxid);
  b.setMzxid(s.mzxid);
  b.setCtime(s.ctime);
  b.setMtime(s.mtime);
  b.setVersion(s.version);
  b.setCversion(s.cversion);
  b.setAversion(s.aversion);
  b.setEphemeralOwner(s.ephemeral_owner);
  b.setDataLength(s.data_length);
  b.setNumChildren(s.num_children);
  b.setPzxid(s.pzxid);
}

node_stat get_stat(wire::Stat::Reader r) {
  node_stat s;
  s.czxid = r.getCzxid();
  s.mzxid = r.getMzxid();
  s.ctime = r.getCtime();
  s.mtime = r.getMtime();
  s.version = r.getVersion();
  s.cversion = r.getCversion();
  s.aversion = r.getAversion();
  s.ephemeral_owner = r.getEphemeralOwner();
  s.data_length = r.getDataLength();
  s.num_children = r.getNumChildren();
  s.pzxid = r.getPzxid();
  return s;
}

void put_acl(capnp::List<wire::Acl>::Builder b, const acl_list& acl) {
  for (unsigned i = 0; i < acl.size(); ++i) {
    b[i].setPerms(acl[i].perms);
    b[i].setScheme(acl[i].scheme);
    b[i].setId(acl[i].id);
  }
}

acl_list get_acl(capnp::List<wire::Acl>::Reader r) {
  acl_list out;
  for (auto a : r)
    out.push_back({a.getPerms(), str(a.getScheme()), str(a.getId())});
  return out;
}

void put_texts(capnp::List<capnp::Text>::Builder b, const std::vector<std::string>& v) {
  for (unsigned i = 0; i < v.size(); ++i)
    b.set(i, v[i]);
}

std::vector<std::string> get_texts(capnp::List<capnp::Text>::Reader r) {
  std::vector<std::string> out;
  out.reserve(r.size());
  for (auto t : r)
    out.push_back(str(t));
  return out;
}

void put_create(wire::Create::Builder b, const create_request& c) {
  b.setPath(c.path);
  b.setData(bytes(c.data));
  put_acl(b.initAcl(static_cast<unsigned>(c.acl.size())), c.acl);
  b.setMode(static_cast<int32_t>(c.mode));
  b.setTtl(c.ttl);
  b.setNullData(c.null_data);
}

create_request get_create(wire::Create::Reader r) {
  create_request c{str(r.getPath()), str(r.getData()), get_acl(r.getAcl()), static_cast<create_mode>(r.getMode()),
                   r.getTtl(),       r.getNullData()};
  if (c.null_data)
    c.data.clear(); // null is no data
  return c;
}

set_data_request get_set_data(wire::SetData::Reader s) {
  set_data_request out{str(s.getPath()), str(s.getData()), s.getVersion(), s.getNullData()};
  if (out.null_data)
    out.data.clear();
  return out;
}

void put_pv(wire::PathVersion::Builder b, const std::string& path, int32_t version) {
  b.setPath(path);
  b.setVersion(version);
}

void put_set_data(wire::SetData::Builder b, const set_data_request& s) {
  b.setPath(s.path);
  b.setData(bytes(s.data));
  b.setVersion(s.version);
  b.setNullData(s.null_data);
}

} // namespace

void put_request(wire::Request::Builder b, const request& r) {
  b.setXid(r.xid);
  std::visit(overload{[&](const create_request& x) { put_create(b.initCreate(), x); },
                      [&](const delete_request& x) { put_pv(b.initDelete(), x.path, x.version); },
                      [&](const exists_request& x) {
                        auto e = b.initExists();
                        e.setPath(x.path);
                        e.setWatch(x.watch);
                      },
                      [&](const get_data_request& x) {
                        auto e = b.initGetData();
                        e.setPath(x.path);
                        e.setWatch(x.watch);
                      },
                      [&](const set_data_request& x) { put_set_data(b.initSetData(), x); },
                      [&](const get_acl_request& x) { b.setGetAcl(x.path); },
                      [&](const set_acl_request& x) {
                        auto e = b.initSetAcl();
                        e.setPath(x.path);
                        put_acl(e.initAcl(static_cast<unsigned>(x.acl.size())), x.acl);
                        e.setVersion(x.version);
                      },
                      [&](const get_children_request& x) {
                        auto e = b.initGetChildren();
                        e.setPath(x.path);
                        e.setWatch(x.watch);
                      },
                      [&](const sync_request& x) { b.setSync(x.path); },
                      [&](const check_request& x) { put_pv(b.initCheck(), x.path, x.version); },
                      [&](const multi_request& x) {
                        auto ops = b.initMulti(static_cast<unsigned>(x.ops.size()));
                        for (unsigned i = 0; i < x.ops.size(); ++i) {
                          std::visit(
                              overload{[&](const create_request& c) { put_create(ops[i].initCreate(), c); },
                                       [&](const delete_request& d) { put_pv(ops[i].initDelete(), d.path, d.version); },
                                       [&](const set_data_request& s) { put_set_data(ops[i].initSetData(), s); },
                                       [&](const check_request& c) { put_pv(ops[i].initCheck(), c.path, c.version); }},
                              x.ops[i]);
                        }
                      },
                      [&](const multi_read_request& x) {
                        auto ops = b.initMultiRead(static_cast<unsigned>(x.ops.size()));
                        for (unsigned i = 0; i < x.ops.size(); ++i) {
                          std::visit(overload{[&](const get_children_request& c) {
                                                auto e = ops[i].initGetChildren();
                                                e.setPath(c.path);
                                                e.setWatch(c.watch);
                                              },
                                              [&](const get_data_request& d) {
                                                auto e = ops[i].initGetData();
                                                e.setPath(d.path);
                                                e.setWatch(d.watch);
                                              }},
                                     x.ops[i]);
                        }
                      },
                      [&](const get_ephemerals_request& x) { b.setGetEphemerals(x.prefix); },
                      [&](const get_all_children_number_request& x) { b.setGetAllChildrenNumber(x.path); },
                      [&](const add_watch_request& x) {
                        auto e = b.initAddWatch();
                        e.setPath(x.path);
                        e.setMode(static_cast<int32_t>(x.mode));
                      },
                      [&](const remove_watches_request& x) {
                        auto e = b.initRemoveWatches();
                        e.setPath(x.path);
                        e.setType(static_cast<int32_t>(x.type));
                        e.setCheckOnly(x.check_only);
                      },
                      [&](const set_watches_request& x) {
                        auto e = b.initSetWatches();
                        e.setRelativeZxid(x.relative_zxid);
                        put_texts(e.initData(static_cast<unsigned>(x.data.size())), x.data);
                        put_texts(e.initExist(static_cast<unsigned>(x.exist.size())), x.exist);
                        put_texts(e.initChild(static_cast<unsigned>(x.child.size())), x.child);
                        put_texts(e.initPersistent(static_cast<unsigned>(x.persistent.size())), x.persistent);
                        put_texts(e.initPersistentRecursive(static_cast<unsigned>(x.persistent_recursive.size())),
                                  x.persistent_recursive);
                      },
                      [&](const auth_request& x) {
                        auto e = b.initAuth();
                        e.setScheme(x.scheme);
                        e.setCredentials(bytes(x.credentials));
                      },
                      [&](const who_am_i_request&) { b.setWhoAmI(); }, [&](const ping_request&) { b.setPing(); },
                      [&](const close_request&) { b.setClose(); },
                      [&](const reconfig_request& x) {
                        auto rc = b.initReconfigChange();
                        if (x.joining)
                          rc.setJoining(*x.joining);
                        if (x.leaving)
                          rc.setLeaving(*x.leaving);
                        if (x.members)
                          rc.setMembers(*x.members);
                        rc.setFromConfig(x.from_config);
                      },
                      // SASL is ZooKeeper's protocol only; sent natively it is an auth the server refuses.
                      [&](const sasl_request& x) {
                        auto e = b.initAuth();
                        e.setScheme("sasl");
                        e.setCredentials(bytes(x.token));
                      }},
             r.body);
}

result<request> get_request(wire::Request::Reader r) {
  request out;
  out.xid = r.getXid();
  using W = wire::Request;
  switch (r.which()) {
    case W::CREATE: out.body = get_create(r.getCreate()); break;
    case W::DELETE: out.body = delete_request{str(r.getDelete().getPath()), r.getDelete().getVersion()}; break;
    case W::EXISTS: out.body = exists_request{str(r.getExists().getPath()), r.getExists().getWatch()}; break;
    case W::GET_DATA: out.body = get_data_request{str(r.getGetData().getPath()), r.getGetData().getWatch()}; break;
    case W::SET_DATA: {
      out.body = get_set_data(r.getSetData());
      break;
    }
    case W::GET_ACL: out.body = get_acl_request{str(r.getGetAcl())}; break;
    case W::SET_ACL: {
      auto s = r.getSetAcl();
      out.body = set_acl_request{str(s.getPath()), get_acl(s.getAcl()), s.getVersion()};
      break;
    }
    case W::GET_CHILDREN:
      out.body = get_children_request{str(r.getGetChildren().getPath()), r.getGetChildren().getWatch()};
      break;
    case W::SYNC: out.body = sync_request{str(r.getSync())}; break;
    case W::CHECK: out.body = check_request{str(r.getCheck().getPath()), r.getCheck().getVersion()}; break;
    case W::MULTI: {
      multi_request m;
      for (auto op : r.getMulti()) {
        switch (op.which()) {
          case wire::MultiOp::CREATE: m.ops.push_back(get_create(op.getCreate())); break;
          case wire::MultiOp::DELETE:
            m.ops.push_back(delete_request{str(op.getDelete().getPath()), op.getDelete().getVersion()});
            break;
          case wire::MultiOp::SET_DATA: {
            m.ops.push_back(get_set_data(op.getSetData()));
            break;
          }
          case wire::MultiOp::CHECK:
            m.ops.push_back(check_request{str(op.getCheck().getPath()), op.getCheck().getVersion()});
            break;
          default: return error_info{error_code::marshalling_error, "unknown multi op"};
        }
      }
      out.body = std::move(m);
      break;
    }
    case W::MULTI_READ: {
      multi_read_request m;
      for (auto op : r.getMultiRead()) {
        switch (op.which()) {
          case wire::ReadOp::GET_CHILDREN:
            m.ops.push_back(get_children_request{str(op.getGetChildren().getPath()), op.getGetChildren().getWatch()});
            break;
          case wire::ReadOp::GET_DATA:
            m.ops.push_back(get_data_request{str(op.getGetData().getPath()), op.getGetData().getWatch()});
            break;
          default: return error_info{error_code::marshalling_error, "unknown multiRead op"};
        }
      }
      out.body = std::move(m);
      break;
    }
    case W::GET_EPHEMERALS: out.body = get_ephemerals_request{str(r.getGetEphemerals())}; break;
    case W::GET_ALL_CHILDREN_NUMBER:
      out.body = get_all_children_number_request{str(r.getGetAllChildrenNumber())};
      break;
    case W::ADD_WATCH:
      out.body =
          add_watch_request{str(r.getAddWatch().getPath()), static_cast<add_watch_mode>(r.getAddWatch().getMode())};
      break;
    case W::REMOVE_WATCHES:
      out.body = remove_watches_request{str(r.getRemoveWatches().getPath()),
                                        static_cast<watcher_type>(r.getRemoveWatches().getType()),
                                        r.getRemoveWatches().getCheckOnly()};
      break;
    case W::SET_WATCHES: {
      auto s = r.getSetWatches();
      set_watches_request w;
      w.relative_zxid = s.getRelativeZxid();
      w.data = get_texts(s.getData());
      w.exist = get_texts(s.getExist());
      w.child = get_texts(s.getChild());
      w.persistent = get_texts(s.getPersistent());
      w.persistent_recursive = get_texts(s.getPersistentRecursive());
      out.body = std::move(w);
      break;
    }
    case W::AUTH: out.body = auth_request{str(r.getAuth().getScheme()), str(r.getAuth().getCredentials())}; break;
    case W::WHO_AM_I: out.body = who_am_i_request{}; break;
    case W::PING: out.body = ping_request{}; break;
    case W::CLOSE: out.body = close_request{}; break;
    case W::RECONFIG: out.body = reconfig_request{}; break;
    case W::RECONFIG_CHANGE: {
      auto rc = r.getReconfigChange();
      reconfig_request x;
      if (rc.hasJoining())
        x.joining = str(rc.getJoining());
      if (rc.hasLeaving())
        x.leaving = str(rc.getLeaving());
      if (rc.hasMembers())
        x.members = str(rc.getMembers());
      x.from_config = rc.getFromConfig();
      out.body = std::move(x);
      break;
    }
    default:
      return error_info{error_code::marshalling_error,
                        "unknown request type " + std::to_string(static_cast<int>(r.which()))};
  }
  return out;
}

namespace {

void put_op_result(wire::OpResult::Builder b, const op_result& r) {
  b.setType(static_cast<int32_t>(r.type));
  b.setErr(static_cast<int32_t>(r.err));
  b.setPath(r.path);
  put_stat(b.initStat(), r.stat);
  b.setData(bytes(r.data));
  b.setNullData(r.null_data);
  put_texts(b.initChildren(static_cast<unsigned>(r.children.size())), r.children);
}

op_result get_op_result(wire::OpResult::Reader r) {
  op_result out;
  out.type = static_cast<op_code>(r.getType());
  out.err = error_from_int(r.getErr());
  out.path = str(r.getPath());
  out.stat = get_stat(r.getStat());
  out.data = str(r.getData());
  out.null_data = r.getNullData();
  out.children = get_texts(r.getChildren());
  return out;
}

void put_response(wire::Response::Builder b, const response& r) {
  b.setXid(r.xid);
  b.setZxid(r.zxid);
  b.setErr(static_cast<int32_t>(r.err));
  b.setDetail(r.detail);
  std::visit(
      overload{[&](const std::monostate&) { b.setNone(); },
               [&](const create_result& x) {
                 auto c = b.initCreated();
                 c.setPath(x.path);
                 put_stat(c.initStat(), x.stat);
               },
               [&](const node_stat& x) { put_stat(b.initStat(), x); },
               [&](const data_result& x) {
                 auto d = b.initData();
                 d.setData(bytes(x.data));
                 d.setNullData(x.null_data);
                 put_stat(d.initStat(), x.stat);
               },
               [&](const children_result& x) {
                 auto c = b.initChildren();
                 put_texts(c.initChildren(static_cast<unsigned>(x.children.size())), x.children);
                 put_stat(c.initStat(), x.stat);
               },
               [&](const acl_result& x) {
                 auto a = b.initAcl();
                 put_acl(a.initAcl(static_cast<unsigned>(x.acl.size())), x.acl);
                 put_stat(a.initStat(), x.stat);
               },
               [&](const std::vector<op_result>& x) {
                 auto l = b.initMulti(static_cast<unsigned>(x.size()));
                 for (unsigned i = 0; i < x.size(); ++i)
                   put_op_result(l[i], x[i]);
               },
               [&](const std::vector<std::string>& x) { put_texts(b.initPaths(static_cast<unsigned>(x.size())), x); },
               [&](const int32_t& x) { b.setNumber(x); },
               [&](const auth_list& x) {
                 auto l = b.initIdentities(static_cast<unsigned>(x.size()));
                 for (unsigned i = 0; i < x.size(); ++i) {
                   l[i].setScheme(x[i].scheme);
                   l[i].setId(x[i].id);
                 }
               },
               [&](const std::string& x) { b.setPath(x); }},
      r.body);
}

response get_response(wire::Response::Reader r) {
  response out;
  out.xid = r.getXid();
  out.zxid = r.getZxid();
  out.err = error_from_int(r.getErr());
  out.detail = str(r.getDetail());
  using W = wire::Response;
  switch (r.which()) {
    case W::CREATED: out.body = create_result{str(r.getCreated().getPath()), get_stat(r.getCreated().getStat())}; break;
    case W::STAT: out.body = get_stat(r.getStat()); break;
    case W::DATA:
      out.body = data_result{str(r.getData().getData()), get_stat(r.getData().getStat()), r.getData().getNullData()};
      break;
    case W::CHILDREN:
      out.body = children_result{get_texts(r.getChildren().getChildren()), get_stat(r.getChildren().getStat())};
      break;
    case W::ACL: out.body = acl_result{get_acl(r.getAcl().getAcl()), get_stat(r.getAcl().getStat())}; break;
    case W::MULTI: {
      std::vector<op_result> v;
      for (auto x : r.getMulti())
        v.push_back(get_op_result(x));
      out.body = std::move(v);
      break;
    }
    case W::PATHS: out.body = get_texts(r.getPaths()); break;
    case W::NUMBER: out.body = r.getNumber(); break;
    case W::IDENTITIES: {
      auth_list ids;
      for (auto x : r.getIdentities())
        ids.push_back({str(x.getScheme()), str(x.getId())});
      out.body = std::move(ids);
      break;
    }
    case W::PATH: out.body = str(r.getPath()); break;
    default: break;
  }
  return out;
}

template <class F>
auto guarded(F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const kj::Exception& e) {
    return error_info{error_code::marshalling_error, std::string("malformed frame: ") + e.getDescription().cStr()};
  }
}

} // namespace

void encode(const client_message& msg, std::vector<char>& out) {
  scratch_builder builder;
  auto root = builder.initRoot<wire::ClientFrame>();
  std::visit(overload{[&](const connect_request& c) {
                        auto b = root.initConnect();
                        b.setProtocolVersion(c.protocol_version);
                        b.setLastZxidSeen(c.last_zxid_seen);
                        b.setTimeoutMs(c.timeout_ms);
                        b.setSessionId(c.session);
                        b.setPassword(bytes(c.password));
                        b.setReadOnly(c.read_only);
                      },
                      [&](const request& r) { put_request(root.initRequest(), r); }},
             msg);
  append_frame(out, builder.getSegmentsForOutput());
}

void encode(const request& r, std::vector<char>& out) {
  scratch_builder builder;
  put_request(builder.initRoot<wire::ClientFrame>().initRequest(), r);
  append_frame(out, builder.getSegmentsForOutput());
}

void encode(const server_message& msg, std::vector<char>& out) {
  scratch_builder builder;
  auto root = builder.initRoot<wire::ServerFrame>();
  std::visit(overload{[&](const connect_response& c) {
                        auto b = root.initConnected();
                        b.setErr(static_cast<int32_t>(c.err));
                        b.setDetail(c.detail);
                        b.setTimeoutMs(c.timeout_ms);
                        b.setSessionId(c.session);
                        b.setPassword(bytes(c.password));
                        b.setLastZxid(c.last_zxid);
                        b.setReadOnly(c.read_only);
                      },
                      [&](const response& r) { put_response(root.initResponse(), r); },
                      [&](const watch_event& e) {
                        auto b = root.initEvent();
                        b.setType(static_cast<int32_t>(e.type));
                        b.setState(static_cast<int32_t>(e.state));
                        b.setPath(e.path);
                        b.setZxid(e.zxid);
                      }},
             msg);
  append_frame(out, builder.getSegmentsForOutput());
}

result<client_message> decode_client(kj::ArrayPtr<const capnp::word> frame) {
  return guarded([&]() -> result<client_message> {
    capnp::FlatArrayMessageReader reader(frame, schema::bounded_reading(frame.size()));
    auto root = reader.getRoot<wire::ClientFrame>();
    switch (root.which()) {
      case wire::ClientFrame::CONNECT: {
        auto c = root.getConnect();
        connect_request out;
        out.protocol_version = c.getProtocolVersion();
        out.last_zxid_seen = c.getLastZxidSeen();
        out.timeout_ms = c.getTimeoutMs();
        out.session = c.getSessionId();
        out.password = str(c.getPassword());
        out.read_only = c.getReadOnly();
        return client_message{std::move(out)};
      }
      case wire::ClientFrame::REQUEST: {
        auto r = get_request(root.getRequest());
        if (!r)
          return r.error();
        return client_message{std::move(*r)};
      }
      default: return error_info{error_code::marshalling_error, "unknown client frame type"};
    }
  });
}

result<server_message> decode_server(kj::ArrayPtr<const capnp::word> frame) {
  return guarded([&]() -> result<server_message> {
    capnp::FlatArrayMessageReader reader(frame, schema::bounded_reading(frame.size()));
    auto root = reader.getRoot<wire::ServerFrame>();
    switch (root.which()) {
      case wire::ServerFrame::CONNECTED: {
        auto c = root.getConnected();
        connect_response out;
        out.err = error_from_int(c.getErr());
        out.detail = str(c.getDetail());
        out.timeout_ms = c.getTimeoutMs();
        out.session = c.getSessionId();
        out.password = str(c.getPassword());
        out.last_zxid = c.getLastZxid();
        out.read_only = c.getReadOnly();
        return server_message{std::move(out)};
      }
      case wire::ServerFrame::RESPONSE: return server_message{get_response(root.getResponse())};
      case wire::ServerFrame::EVENT: {
        auto e = root.getEvent();
        watch_event out;
        out.type = static_cast<event_type>(e.getType());
        out.state = static_cast<keeper_state>(e.getState());
        out.path = str(e.getPath());
        out.zxid = e.getZxid();
        return server_message{std::move(out)};
      }
      default: return error_info{error_code::marshalling_error, "unknown server frame type"};
    }
  });
}

} // namespace corral::protocol
