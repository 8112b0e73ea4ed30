// The peer transport between two servers in one process, over 127.0.0.1: the higher id connects,
// messages arrive in order with their sender checked, and when one side goes away and comes back the
// other hears `gone` and then `connected` again.
#include <gtest/gtest.h>

#include "actors/messages.hpp"
#include "actors/server/peer_transport.hpp"

using namespace corral;
using namespace corral::server;
using namespace std::chrono_literals;

namespace {

struct config : caf::actor_system_config {
  config() {
    load<caf::io::middleman>();
    set("scheduler.max-threads", 2);
  }
};

uint16_t open(caf::scoped_actor& self, const transport_actor& t) {
  uint16_t port = 0;
  self->request(t, 5s, atoms::open::value).receive([&](uint16_t p) { port = p; }, [&](caf::error&) {});
  return port;
}

zab::message ping_msg(zab::server_id from, zab::server_id to, zxid_t n) {
  return zab::message{from, to, 1, zab::ping{n}};
}

// Waits for a (connected|gone, id) event, skipping other messages.
bool wait_event(caf::scoped_actor& self, bool connected, zab::server_id id) {
  bool seen = false;
  for (int i = 0; i < 50 && !seen; ++i)
    self->receive([&](atoms::connected, zab::server_id s) { seen = connected && s == id; },
                  [&](atoms::gone, zab::server_id s) { seen = !connected && s == id; }, [&](zab::message&) {},
                  caf::after(200ms) >> [] {});
  return seen;
}

} // namespace

TEST(peer_transport, connects_delivers_in_order_and_reconnects) {
  config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor owner1{sys}, owner2{sys};
  transport_options o1, o2;
  o1.self = 1;
  o2.self = 2;
  auto t1 = spawn_peer_transport(sys, o1, caf::actor_cast<peer_events>(owner1));
  auto t2 = spawn_peer_transport(sys, o2, caf::actor_cast<peer_events>(owner2));
  auto p1 = open(owner1, t1), p2 = open(owner2, t2);
  ASSERT_NE(p1, 0);
  ASSERT_NE(p2, 0);
  std::vector<peer_address> ensemble{{1, "127.0.0.1", p1}, {2, "127.0.0.1", p2}};
  caf::anon_send(t1, atoms::connect::value, ensemble);
  caf::anon_send(t2, atoms::connect::value, ensemble);
  ASSERT_TRUE(wait_event(owner1, true, 2));
  ASSERT_TRUE(wait_event(owner2, true, 1));
  // In order, both ways, in batches of 1 to 9 (a leader's proposals of one turn); a message to a
  // server that is not connected is dropped without holding up the others.
  for (zxid_t n = 1; n <= 500;) {
    std::vector<zab::message> batch;
    for (zxid_t k = 0; k < 1 + n % 9 && n <= 500; ++k) {
      batch.push_back(ping_msg(1, 2, n++));
      if (k == 2)
        batch.push_back(ping_msg(1, 7, 0));
    }
    caf::anon_send(t1, std::move(batch));
  }
  zxid_t expect = 1;
  while (expect <= 500) {
    bool got = false;
    owner2->receive(
        [&](zab::message& m) {
          EXPECT_EQ(m.from, 1);
          EXPECT_EQ(std::get<zab::ping>(m.what).commit, expect);
          ++expect;
          got = true;
        },
        caf::after(5s) >> [] {});
    ASSERT_TRUE(got) << "message " << expect << " never arrived";
  }
  caf::anon_send(t2, std::vector<zab::message>{zab::message{2, 1, 1, zab::pong{}}});
  bool pong = false;
  owner1->receive([&](zab::message& m) { pong = m.from == 2 && std::holds_alternative<zab::pong>(m.what); },
                  caf::after(5s) >> [] {});
  EXPECT_TRUE(pong);
  // Other frames (a learner forwarding a client's write) pass through, tagged with their sender.
  caf::anon_send(t2, atoms::peer_frame::value, zab::server_id{1},
                 protocol::peer_frame{protocol::session_touches{{42, 43}}});
  bool touched = false;
  owner1->receive(
      [&](atoms::peer_frame, zab::server_id from, protocol::peer_frame& f) {
        touched = from == 2 && std::get<protocol::session_touches>(f).sessions == std::vector<session_id>{42, 43};
      },
      caf::after(5s) >> [] {});
  EXPECT_TRUE(touched);
  // Server 2 goes away: server 1 hears it. A new server 2 on the same port connects again.
  caf::anon_send_exit(t2, caf::exit_reason::user_shutdown);
  ASSERT_TRUE(wait_event(owner1, false, 2));
  o2.listen_port = p2;
  auto t2b = spawn_peer_transport(sys, o2, caf::actor_cast<peer_events>(owner2));
  ASSERT_EQ(open(owner2, t2b), p2);
  caf::anon_send(t2b, atoms::connect::value, ensemble);
  ASSERT_TRUE(wait_event(owner1, true, 2));
  // Server 1 closes the connection on purpose: the initiator (2) reconnects by itself.
  caf::anon_send(t1, atoms::close::value, zab::server_id{2});
  EXPECT_TRUE(wait_event(owner2, false, 1));
  EXPECT_TRUE(wait_event(owner2, true, 1));
  caf::anon_send_exit(t1, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(t2b, caf::exit_reason::user_shutdown);
}
