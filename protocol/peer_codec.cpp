#include "core/overload.hpp"
#include "protocol/peer_codec.hpp"

#include "schema/reader_limits.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include "peer.capnp.h"
#include "persistence/txn_capnp.hpp"
#include "protocol/client_capnp.hpp"
#include "protocol/frame.hpp"
#include "schema/scratch_builder.hpp"

namespace corral::protocol {

namespace {

using namespace corral::zab;

void put_entry(peerwire::Entry::Builder b, const entry& e) {
  b.setZxid(e.zxid);
  persistence::put_txn(b.initTxn(), *e.payload);
}

result<entry> get_entry(peerwire::Entry::Reader r) {
  auto t = persistence::get_txn(r.getTxn());
  if (!t)
    return t.error();
  if (t->zxid != r.getZxid())
    return error_info{error_code::marshalling_error, "entry zxid does not match its txn"};
  return entry{r.getZxid(), std::make_shared<const txn>(std::move(*t))};
}

void put_membership(peerwire::Membership::Builder b, const membership& m) {
  b.setVersion(m.version);
  auto l = b.initMembers(static_cast<unsigned>(m.members.size()));
  for (unsigned i = 0; i < m.members.size(); ++i) {
    auto& x = m.members[i];
    l[i].setId(x.id);
    l[i].setHost(x.host);
    l[i].setQuorumPort(x.quorum_port);
    l[i].setClientPort(x.client_port);
    l[i].setZkPort(x.zk_port);
    l[i].setObserver(x.observer);
  }
}

result<membership> get_membership(peerwire::Membership::Reader r) {
  membership m;
  m.version = r.getVersion();
  for (auto x : r.getMembers()) {
    if (x.getId() < 1 || x.getId() > max_server_id || (!m.members.empty() && m.members.back().id >= x.getId()))
      return error_info{error_code::marshalling_error, "a membership's server ids must rise from 1 to 254"};
    m.members.push_back(
        member{x.getId(), x.getHost(), x.getQuorumPort(), x.getClientPort(), x.getZkPort(), x.getObserver()});
  }
  return m;
}

void put_message(peerwire::ZabMessage::Builder b, const message& m) {
  b.setFrom(m.from);
  b.setTo(m.to);
  b.setEpoch(m.epoch);
  std::visit(
      overload{[&](const notification& n) {
                 auto g = b.initNotification();
                 auto v = g.initVote();
                 v.setLeader(n.v.leader);
                 v.setZxid(n.v.zxid);
                 v.setEpoch(n.v.epoch);
                 g.setRound(n.round);
                 g.setSenderRole(static_cast<uint8_t>(n.sender_role));
                 put_membership(g.initConfig(), n.config);
               },
               [&](const follower_info& f) {
                 auto g = b.initFollowerInfo();
                 g.setAcceptedEpoch(f.accepted_epoch);
                 g.setLastZxid(f.last_zxid);
                 g.setObserver(f.observer);
                 g.setAttempt(f.attempt);
               },
               [&](const leader_info& l) { b.setLeaderInfo(l.new_epoch); },
               [&](const ack_epoch& a) {
                 auto g = b.initAckEpoch();
                 g.setCurrentEpoch(a.current_epoch);
                 g.setLastZxid(a.last_zxid);
                 g.setLogStart(a.log_start);
                 auto l = g.initEpochEnds(static_cast<unsigned>(a.epoch_ends.size()));
                 for (unsigned i = 0; i < a.epoch_ends.size(); ++i)
                   l.set(i, a.epoch_ends[i]);
               },
               [&](const catch_up& s) {
                 auto g = b.initCatchUp();
                 g.setHow(static_cast<uint8_t>(s.how));
                 g.setTruncTo(s.trunc_to);
                 g.setSnapZxid(s.snap_zxid);
                 if (s.snapshot) {
                   auto& bytes = *std::static_pointer_cast<const std::string>(s.snapshot);
                   g.setSnapshot(kj::arrayPtr(reinterpret_cast<const kj::byte*>(bytes.data()), bytes.size()));
                 }
                 auto l = g.initEntries(static_cast<unsigned>(s.entries.size()));
                 for (unsigned i = 0; i < s.entries.size(); ++i)
                   put_entry(l[i], s.entries[i]);
                 g.setCommit(s.commit);
                 g.setNewEpoch(s.new_epoch);
                 put_membership(g.initActive(), s.active);
               },
               [&](const ack& a) { b.setAck(a.zxid); }, [&](const ack_newleader& a) { b.setAckNewLeader(a.epoch); },
               [&](const up_to_date& u) { b.setUpToDate(u.commit); },
               [&](const proposal& p) { put_entry(b.initProposal(), p.e); },
               [&](const commit& c) { b.setCommit(c.zxid); }, [&](const inform& i) { put_entry(b.initInform(), i.e); },
               [&](const ping& p) { b.setPing(p.commit); }, [&](const pong&) { b.setPong(); }},
      m.what);
}

result<message> get_message(peerwire::ZabMessage::Reader r) {
  message m;
  m.from = r.getFrom();
  m.to = r.getTo();
  m.epoch = r.getEpoch();
  using W = peerwire::ZabMessage;
  switch (r.which()) {
    case W::NOTIFICATION: {
      auto g = r.getNotification();
      if (g.getSenderRole() > 3)
        return error_info{error_code::marshalling_error, "unknown role"};
      auto config = get_membership(g.getConfig());
      if (!config)
        return config.error();
      m.what = notification{vote{g.getVote().getLeader(), g.getVote().getZxid(), g.getVote().getEpoch()}, g.getRound(),
                            static_cast<role>(g.getSenderRole()), std::move(*config)};
      break;
    }
    case W::FOLLOWER_INFO: {
      auto g = r.getFollowerInfo();
      m.what = follower_info{g.getAcceptedEpoch(), g.getLastZxid(), g.getObserver(), g.getAttempt()};
      break;
    }
    case W::LEADER_INFO: m.what = leader_info{r.getLeaderInfo()}; break;
    case W::ACK_EPOCH: {
      auto g = r.getAckEpoch();
      ack_epoch a{g.getCurrentEpoch(), g.getLastZxid(), g.getLogStart(), {}};
      for (auto z : g.getEpochEnds())
        a.epoch_ends.push_back(z);
      m.what = std::move(a);
      break;
    }
    case W::CATCH_UP: {
      auto g = r.getCatchUp();
      if (g.getHow() > 2)
        return error_info{error_code::marshalling_error, "unknown catch-up kind"};
      catch_up s;
      s.how = static_cast<catch_up::kind>(g.getHow());
      s.trunc_to = g.getTruncTo();
      s.snap_zxid = g.getSnapZxid();
      if (s.how == catch_up::kind::snap) {
        auto d = g.getSnapshot();
        s.snapshot = std::make_shared<const std::string>(reinterpret_cast<const char*>(d.begin()), d.size());
      }
      for (auto e : g.getEntries()) {
        auto x = get_entry(e);
        if (!x)
          return x.error();
        s.entries.push_back(std::move(*x));
      }
      s.commit = g.getCommit();
      s.new_epoch = g.getNewEpoch();
      auto active = get_membership(g.getActive());
      if (!active)
        return active.error();
      s.active = std::move(*active);
      m.what = std::move(s);
      break;
    }
    case W::ACK: m.what = ack{r.getAck()}; break;
    case W::ACK_NEW_LEADER: m.what = ack_newleader{r.getAckNewLeader()}; break;
    case W::UP_TO_DATE: m.what = up_to_date{r.getUpToDate()}; break;
    case W::PROPOSAL: {
      auto x = get_entry(r.getProposal());
      if (!x)
        return x.error();
      m.what = proposal{std::move(*x)};
      break;
    }
    case W::COMMIT: m.what = commit{r.getCommit()}; break;
    case W::INFORM: {
      auto x = get_entry(r.getInform());
      if (!x)
        return x.error();
      m.what = inform{std::move(*x)};
      break;
    }
    case W::PING: m.what = ping{r.getPing()}; break;
    case W::PONG: m.what = pong{}; break;
    default: return error_info{error_code::marshalling_error, "unknown peer message"};
  }
  return m;
}

kj::ArrayPtr<const kj::byte> bytes_of(const std::string& s) {
  return kj::arrayPtr(reinterpret_cast<const kj::byte*>(s.data()), s.size());
}

std::string string_of(capnp::Data::Reader d) { return std::string(reinterpret_cast<const char*>(d.begin()), d.size()); }

} // namespace

void encode(const peer_frame& f, std::vector<char>& out) {
  scratch_builder mb;
  auto root = mb.initRoot<peerwire::PeerFrame>();
  std::visit(overload{[&](const peer_hello& h) {
                        auto g = root.initHello();
                        g.setServerId(h.server);
                        g.setProtocolVersion(h.version);
                        g.setNonce(bytes_of(h.nonce));
                      },
                      [&](const peer_challenge& c) {
                        auto g = root.initChallenge();
                        g.setServerId(c.server);
                        g.setNonce(bytes_of(c.nonce));
                        g.setProof(bytes_of(c.proof));
                      },
                      [&](const peer_proof& p) { root.setProof(bytes_of(p.proof)); },
                      [&](const message& m) { put_message(root.initZab(), m); },
                      [&](const forwarded_request& x) {
                        auto g = root.initForward();
                        g.setSession(x.session);
                        put_request(g.initRequest(), x.req);
                        auto l = g.initAuth(static_cast<unsigned>(x.auth.size()));
                        for (unsigned i = 0; i < x.auth.size(); ++i) {
                          l[i].setScheme(x.auth[i].scheme);
                          l[i].setId(x.auth[i].id);
                        }
                      },
                      [&](const open_session_request& x) {
                        auto g = root.initOpenSession();
                        g.setSessionId(x.id);
                        g.setTimeoutMs(x.timeout_ms);
                        g.setPassword(
                            kj::arrayPtr(reinterpret_cast<const kj::byte*>(x.password.data()), x.password.size()));
                      },
                      [&](const session_touches& x) {
                        auto l = root.initTouch(static_cast<unsigned>(x.sessions.size()));
                        for (unsigned i = 0; i < x.sessions.size(); ++i)
                          l.set(i, x.sessions[i]);
                      },
                      [&](const sync_request_frame& x) { root.setSyncRequest(x.token); },
                      [&](const sync_reply_frame& x) {
                        auto g = root.initSyncReply();
                        g.setToken(x.token);
                        g.setZxid(x.zxid);
                      }},
             f);
  append_frame(out, mb.getSegmentsForOutput());
}

result<peer_frame> decode_peer(kj::ArrayPtr<const capnp::word> frame) {
  try {
    capnp::FlatArrayMessageReader reader(frame, schema::bounded_reading(frame.size())); // a CATCHUP's snapshot too
    auto root = reader.getRoot<peerwire::PeerFrame>();
    using W = peerwire::PeerFrame;
    auto text = [](capnp::Text::Reader t) { return std::string(t.begin(), t.size()); };
    switch (root.which()) {
      case W::HELLO: {
        auto g = root.getHello();
        return peer_frame{peer_hello{g.getServerId(), g.getProtocolVersion(), string_of(g.getNonce())}};
      }
      case W::CHALLENGE: {
        auto g = root.getChallenge();
        return peer_frame{peer_challenge{g.getServerId(), string_of(g.getNonce()), string_of(g.getProof())}};
      }
      case W::PROOF: return peer_frame{peer_proof{string_of(root.getProof())}};
      case W::ZAB: {
        auto m = get_message(root.getZab());
        if (!m)
          return m.error();
        return peer_frame{std::move(*m)};
      }
      case W::FORWARD: {
        auto g = root.getForward();
        auto req = get_request(g.getRequest());
        if (!req)
          return req.error();
        forwarded_request x;
        x.session = g.getSession();
        x.req = std::move(*req);
        for (auto a : g.getAuth())
          x.auth.push_back({text(a.getScheme()), text(a.getId())});
        return peer_frame{std::move(x)};
      }
      case W::OPEN_SESSION: {
        auto g = root.getOpenSession();
        auto pw = g.getPassword();
        return peer_frame{open_session_request{g.getSessionId(), g.getTimeoutMs(),
                                               std::string(reinterpret_cast<const char*>(pw.begin()), pw.size())}};
      }
      case W::TOUCH: {
        session_touches x;
        for (auto id : root.getTouch())
          x.sessions.push_back(id);
        return peer_frame{std::move(x)};
      }
      case W::SYNC_REQUEST: return peer_frame{sync_request_frame{root.getSyncRequest()}};
      case W::SYNC_REPLY:
        return peer_frame{sync_reply_frame{root.getSyncReply().getToken(), root.getSyncReply().getZxid()}};
      default: return error_info{error_code::marshalling_error, "unknown peer frame"};
    }
  } catch (const kj::Exception& e) {
    return error_info{error_code::marshalling_error, std::string("malformed peer frame: ") + e.getDescription().cStr()};
  }
}

} // namespace corral::protocol
