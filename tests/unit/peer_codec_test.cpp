// The peer protocol: every ZAB message survives a round trip, txns inside entries intact; decoders
// survive arbitrary bytes.
#include <gtest/gtest.h>

#include <random>

#include "protocol/frame.hpp"
#include "protocol/peer_codec.hpp"

using namespace corral;
using namespace corral::zab;

namespace {

entry make_entry(zxid_t z, const std::string& path) {
  auto t = std::make_shared<txn>();
  t->zxid = z;
  t->time = 42;
  t->session = 7;
  t->body = txn_create{path, "data", open_acl_unsafe(), 0, 3};
  return entry{z, t};
}

message round_trip(const message& m) {
  std::vector<char> bytes;
  protocol::encode(protocol::peer_frame{m}, bytes);
  protocol::frame_reader reader(1 << 26);
  reader.feed(bytes.data(), bytes.size());
  kj::ArrayPtr<const capnp::word> f;
  EXPECT_EQ(reader.next(f), protocol::frame_reader::status::frame);
  auto back = protocol::decode_peer(f);
  EXPECT_TRUE(back.ok()) << (back.ok() ? "" : back.error().detail);
  return std::get<message>(*back);
}

} // namespace

TEST(peer_codec, every_message_kind_round_trips) {
  zab::catch_up s;
  s.how = zab::catch_up::kind::snap;
  s.trunc_to = 5;
  s.snap_zxid = 9;
  s.snapshot = std::make_shared<const std::string>(std::string("snap\0bytes", 10));
  s.entries = {make_entry(make_zxid(2, 1), "/a"), make_entry(make_zxid(2, 2), "/b")};
  s.commit = make_zxid(2, 1);
  s.new_epoch = 3;
  membership config;
  config.version = make_zxid(2, 2);
  config.members = {member{1, "127.0.0.1", 2891, 2281, 2181, false}, member{4, "10.0.0.4", 2894, 2284, -1, true}};
  s.active = config;
  std::vector<body> bodies{notification{vote{2, 77, 4}, 9, role::leading, config},
                           follower_info{5, 66, true},
                           leader_info{6},
                           ack_epoch{4, 55, 10, {make_zxid(1, 9), make_zxid(3, 2)}},
                           s,
                           ack{make_zxid(6, 3)},
                           up_to_date{44},
                           proposal{make_entry(make_zxid(6, 1), "/p")},
                           commit{make_zxid(6, 1)},
                           inform{make_entry(make_zxid(6, 2), "/i")},
                           ping{33},
                           pong{},
                           ack_newleader{6}};
  ASSERT_EQ(bodies.size(), std::variant_size_v<body>);
  for (auto& b : bodies) {
    auto back = round_trip(message{1, 2, 6, b});
    EXPECT_EQ(back.what.index(), b.index()) << message_name(b);
    EXPECT_EQ(back.from, 1);
    EXPECT_EQ(back.to, 2);
    EXPECT_EQ(back.epoch, 6u);
  }
  auto got = std::get<zab::catch_up>(round_trip(message{1, 2, 6, s}).what);
  EXPECT_EQ(got.how, zab::catch_up::kind::snap);
  EXPECT_EQ(*std::static_pointer_cast<const std::string>(got.snapshot), std::string("snap\0bytes", 10));
  ASSERT_EQ(got.entries.size(), 2u);
  EXPECT_EQ(std::get<txn_create>(got.entries[1].payload->body).path, "/b");
  EXPECT_EQ(got.entries[1].payload->session, 7);
  EXPECT_EQ(got.active, config) << "the leader's membership travels with the catch-up";
  EXPECT_EQ(std::get<notification>(round_trip(message{1, 2, 6, bodies[0]}).what).config, config)
      << "and with every vote";
  auto ae = std::get<ack_epoch>(round_trip(message{1, 2, 6, bodies[3]}).what);
  EXPECT_EQ(ae.epoch_ends, (std::vector<zxid_t>{make_zxid(1, 9), make_zxid(3, 2)}));
  auto n = std::get<notification>(round_trip(message{1, 2, 0, bodies[0]}).what);
  EXPECT_EQ(n.v, (vote{2, 77, 4}));
  EXPECT_EQ(n.sender_role, role::leading);
}

TEST(peer_codec, hello_and_garbage) {
  std::vector<char> bytes;
  protocol::encode(protocol::peer_frame{protocol::peer_hello{3, 1, std::string(32, 'n')}}, bytes);
  protocol::frame_reader reader(1 << 20);
  reader.feed(bytes.data(), bytes.size());
  kj::ArrayPtr<const capnp::word> f;
  ASSERT_EQ(reader.next(f), protocol::frame_reader::status::frame);
  auto h = std::get<protocol::peer_hello>(*protocol::decode_peer(f));
  EXPECT_EQ(h.server, 3);
  EXPECT_EQ(h.nonce, std::string(32, 'n'));
  std::mt19937 rng(5);
  std::vector<char> valid;
  protocol::encode(protocol::peer_frame{message{1, 2, 3, proposal{make_entry(make_zxid(3, 1), "/x")}}}, valid);
  int rejected = 0;
  for (int i = 0; i < 5000; ++i) {
    auto b = valid;
    b[rng() % b.size()] ^= static_cast<char>(1 << (rng() % 8));
    protocol::frame_reader r(1 << 20);
    r.feed(b.data(), b.size());
    kj::ArrayPtr<const capnp::word> g;
    if (r.next(g) != protocol::frame_reader::status::frame || !protocol::decode_peer(g).ok())
      ++rejected;
  }
  EXPECT_GT(rejected, 0);
}

TEST(peer_codec, learner_frames_round_trip) {
  auto rt = [](const protocol::peer_frame& f) {
    std::vector<char> bytes;
    protocol::encode(f, bytes);
    protocol::frame_reader reader(1 << 20);
    reader.feed(bytes.data(), bytes.size());
    kj::ArrayPtr<const capnp::word> g;
    EXPECT_EQ(reader.next(g), protocol::frame_reader::status::frame);
    auto back = protocol::decode_peer(g);
    EXPECT_TRUE(back.ok());
    return *back;
  };
  protocol::forwarded_request fwd{
      77, request{5, set_data_request{"/a", "v", 3}}, {{"digest", "bob:h"}, {"ip", "127.0.0.1"}}};
  auto f = std::get<protocol::forwarded_request>(rt(fwd));
  EXPECT_EQ(f.session, 77);
  EXPECT_EQ(f.req.xid, 5);
  EXPECT_EQ(std::get<set_data_request>(f.req.body).version, 3);
  EXPECT_EQ(f.auth, (auth_list{{"digest", "bob:h"}, {"ip", "127.0.0.1"}}));
  auto o =
      std::get<protocol::open_session_request>(rt(protocol::open_session_request{9, 4000, std::string("p\0w", 3)}));
  EXPECT_EQ(o.id, 9);
  EXPECT_EQ(o.timeout_ms, 4000);
  EXPECT_EQ(o.password, std::string("p\0w", 3));
  auto t = std::get<protocol::session_touches>(rt(protocol::session_touches{{1, 2, 3}}));
  EXPECT_EQ(t.sessions, (std::vector<session_id>{1, 2, 3}));
  EXPECT_EQ(std::get<protocol::sync_request_frame>(rt(protocol::sync_request_frame{11})).token, 11u);
  auto r = std::get<protocol::sync_reply_frame>(rt(protocol::sync_reply_frame{11, 99}));
  EXPECT_EQ(r.token, 11u);
  EXPECT_EQ(r.zxid, 99);
}
