// Connection isolation: a server's answer goes to the connection that asked for it, and is dropped
// if that connection is gone; it never reaches a later connection that reuses the same socket
// descriptor. Clients that hang up while their Connect is being answered (a timeout, a busy or
// paused server) must not cause another session's id and password to reach somebody else.
//
// Each round opens a few connections that ask for a session (alternately a new one and a resume)
// and hang up at once, then one that stays and resumes a session of its own. The operating system
// hands the staying connection the descriptor a leaver just gave back, so a reply routed by
// descriptor reaches it. Every staying connection must then see exactly its own ConnectResponse,
// the reply to its one request, and nothing else.
#include <signal.h>

#include <algorithm>
#include <iostream>

#include <gtest/gtest.h>

#include "tests/integration/harness.hpp"

namespace {

using namespace corral;
using namespace std::chrono_literals;

// The sessions must outlive the test (the harness's tick makes the longest timeout 2 s), and the
// churn may briefly hold more than ZooKeeper's 60 connections from one address.
const std::vector<std::string> long_sessions{"--corral.max-session-timeout-ms=60000", "--corral.max-client-cnxns=0"};

struct credentials {
  session_id id = 0;
  std::string password = std::string(16, '\0');
};

enum class port_kind { native, zookeeper };

// One client connection on either client port, whose packets are described as short strings.
class probe {
public:
  probe(port_kind kind, uint16_t port) : kind_(kind) {
    if (kind == port_kind::native)
      native_ = std::make_unique<test::raw_client>(port);
    else
      jute_ = std::make_unique<test::raw_jute_client>(port);
  }

  void connect(const credentials& c, int32_t timeout_ms = 20000) {
    if (native_) {
      protocol::connect_request req;
      req.session = c.id;
      req.password = c.password;
      req.timeout_ms = timeout_ms;
      native_->send(protocol::client_message{req});
    } else {
      jute_->send_connect(c.id, c.password, timeout_ms);
    }
  }

  // exists("/") with this xid.
  void ask(int32_t xid) {
    request r{xid, exists_request{"/", false}};
    if (native_)
      native_->send(protocol::client_message{r});
    else
      jute_->send_request(r, {op_code::exists, {}});
  }

  // The next packet: "session <id>" for a ConnectResponse, "reply <xid>" for a reply, "event", or
  // "" when nothing came within `timeout_ms` (or the server closed the connection).
  // `expect_connect` says whether a jute packet is to be read as a ConnectResponse (jute packets do
  // not say what they are; a ConnectResponse is 37 bytes, a reply to exists 84).
  std::string next(int timeout_ms, bool expect_connect, credentials* got = nullptr) {
    if (native_) {
      auto m = native_->recv(timeout_ms);
      if (!m)
        return "";
      if (auto* c = std::get_if<protocol::connect_response>(&*m)) {
        if (got)
          *got = {c->session, c->password};
        return "session " + std::to_string(c->session);
      }
      if (auto* r = std::get_if<response>(&*m))
        return "reply " + std::to_string(r->xid);
      return "event";
    }
    auto p = jute_->next(timeout_ms);
    if (!p)
      return "";
    if (expect_connect || p->size() == 37) {
      auto c = protocol::jute::decode_connect_response(*p);
      if (!c)
        return "undecodable packet";
      if (got)
        *got = {c->session, c->password};
      return "session " + std::to_string(c->session);
    }
    auto h = protocol::jute::decode_reply_header(*p);
    if (!h)
      return "undecodable packet";
    return h->xid == protocol::jute::notification_xid ? "event" : "reply " + std::to_string(h->xid);
  }

private:
  port_kind kind_;
  std::unique_ptr<test::raw_client> native_;
  std::unique_ptr<test::raw_jute_client> jute_;
};

// `n` sessions opened through `port`; their connections close, the sessions live on (20 s timeout).
// A server that has just been paused may be resyncing and refuse for a moment, so each is retried.
std::vector<credentials> open_sessions(port_kind kind, uint16_t port, int n) {
  std::vector<credentials> out;
  for (int i = 0; i < n; ++i) {
    credentials c;
    std::string first;
    test::eventually([&] {
      probe p(kind, port);
      p.connect({});
      first = p.next(5000, true, &c);
      return c.id != 0;
    });
    if (c.id == 0)
      throw std::runtime_error("could not open a session: got '" + first + "'");
    out.push_back(c);
  }
  return out;
}

struct churn_options {
  int rounds = 30;
  int leavers = 4;                      // connections per round that ask and hang up
  pid_t pause = -1;                     // a server to SIGSTOP during each round (-1: none)
  std::chrono::milliseconds paused{0};  // how long it stays stopped
  std::chrono::milliseconds between{5}; // after each round: lets the server take the hang-ups
  int min_served = 30;                  // staying connections that must be served (others may be
                                        // closed without a word by a server that is not serving)
};

// Runs the rounds against `port` and checks every staying connection.
void expect_no_crossing(port_kind kind, uint16_t port, const churn_options& o) {
  auto stayers = open_sessions(kind, port, o.rounds);
  auto leaver_session = open_sessions(kind, port, 1).front();
  std::vector<std::unique_ptr<probe>> kept;
  for (int i = 0; i < o.rounds; ++i) {
    if (o.pause > 0)
      ::kill(o.pause, SIGSTOP);
    for (int l = 0; l < o.leavers; ++l) {
      probe leaver(kind, port);
      leaver.connect(l % 2 == 0 ? credentials{} : leaver_session);
    } // hangs up here
    kept.push_back(std::make_unique<probe>(kind, port));
    kept.back()->connect(stayers[static_cast<size_t>(i)]);
    if (o.pause > 0) {
      std::this_thread::sleep_for(o.paused);
      ::kill(o.pause, SIGCONT);
    }
    std::this_thread::sleep_for(o.between);
  }
  // First each connection's ConnectResponse and the reply to one request, then (after a moment for
  // late packets to arrive) nothing more.
  std::vector<bool> served(kept.size(), false);
  for (size_t i = 0; i < kept.size(); ++i) {
    auto want = "session " + std::to_string(stayers[i].id);
    auto first = kept[i]->next(8000, true);
    // A server that is not serving (a paused follower its leader dropped) refuses or closes the
    // connection without a word. Anything else must be exactly this connection's own answer.
    if (first.empty() || first == "session 0")
      continue;
    EXPECT_EQ(first, want) << "round " << i << ": the first packet is another connection's ConnectResponse";
    kept[i]->ask(7);
    auto reply = kept[i]->next(5000, false);
    if (reply.empty() && o.pause > 0)
      continue; // the server stopped serving after the handshake
    EXPECT_EQ(reply, "reply 7") << "round " << i;
    served[i] = first == want && reply == "reply 7";
  }
  std::this_thread::sleep_for(300ms);
  for (size_t i = 0; i < kept.size(); ++i) {
    if (served[i]) {
      EXPECT_EQ(kept[i]->next(1, false), "") << "round " << i << ": a packet after the last reply";
    }
  }
  EXPECT_GE(std::count(served.begin(), served.end(), true), o.min_served);
}

TEST(ConnectionIsolation, StandaloneNativePort) {
  test::server_process server(long_sessions);
  expect_no_crossing(port_kind::native, server.port(), {});
}

TEST(ConnectionIsolation, StandaloneZooKeeperPort) {
  test::server_process server(long_sessions);
  expect_no_crossing(port_kind::zookeeper, static_cast<uint16_t>(server.zk_port()), {});
}

TEST(ConnectionIsolation, StandaloneBothPortsWhilePaused) {
  test::server_process server(long_sessions);
  churn_options o;
  o.rounds = 8;
  o.pause = server.pid();
  o.paused = 300ms;
  o.min_served = 8;
  expect_no_crossing(port_kind::zookeeper, static_cast<uint16_t>(server.zk_port()), o);
  expect_no_crossing(port_kind::native, server.port(), o);
}

// A follower forwards new sessions to the leader, so their answers come late.
// Waits until that follower serves clients (srvr says so).
int follower_of(const test::local_ensemble& e) {
  int leader = -1;
  test::eventually([&] { return (leader = e.leader()) >= 0; }, 15s);
  int f = leader == 0 ? 1 : 0;
  auto port = static_cast<uint16_t>(e.servers[static_cast<size_t>(f)]->zk_port());
  test::eventually([&] { return test::four_letter_word(port, "srvr").find("Mode: follower") != std::string::npos; },
                   15s);
  return f;
}

TEST(ConnectionIsolation, EnsembleFollowerBothPorts) {
  test::local_ensemble e(3, 0, long_sessions);
  auto& f = *e.servers[static_cast<size_t>(follower_of(e))];
  expect_no_crossing(port_kind::zookeeper, static_cast<uint16_t>(f.zk_port()), {});
  expect_no_crossing(port_kind::native, f.port(), {});
}

TEST(ConnectionIsolation, EnsembleFollowerWhilePaused) {
  test::local_ensemble e(3, 0, long_sessions);
  auto& f = *e.servers[static_cast<size_t>(follower_of(e))];
  churn_options o;
  o.rounds = 6;
  o.pause = f.pid();
  o.paused = 150ms;
  o.between = 300ms; // the follower catches up with its leader between pauses
  o.min_served = 4;  // a paused follower may be dropped by its leader (zab tick 50 ms) and resync
  expect_no_crossing(port_kind::zookeeper, static_cast<uint16_t>(f.zk_port()), o);
  expect_no_crossing(port_kind::native, f.port(), o);
  if (::testing::Test::HasFailure())
    std::cerr << f.log();
}

} // namespace
