// ZooKeeper's client protocol (jute): round trips of every request, replies byte for byte as
// Apache ZooKeeper 3.8 sent them (captured from the Debian package's server), and decoders fed
// arbitrary bytes.
#include <gtest/gtest.h>

#include <random>

#include "core/format.hpp"
#include "protocol/four_letter_words.hpp"
#include "protocol/jute_codec.hpp"

using namespace corral;
using namespace corral::protocol;

namespace {

std::string hex(const std::vector<char>& v, size_t from = 0) {
  return from >= v.size() ? std::string() : hex_bytes(v.data() + from, v.size() - from);
}

// The body of the single packet in `v` (without its length).
std::string body_of(const std::vector<char>& v) {
  EXPECT_GE(v.size(), 4u);
  return std::string(v.begin() + 4, v.end());
}

std::vector<char> encoded(const request& r, const jute::reply_shape& shape) {
  std::vector<char> out;
  jute::encode_request(r, shape, out);
  return out;
}

// decode(encode(r)) encodes to the same bytes, and the op and sub-ops survive.
void expect_round_trip(const request& r, jute::reply_shape shape) {
  auto bytes = encoded(r, shape);
  auto d = jute::decode_request(body_of(bytes));
  ASSERT_TRUE(d.ok()) << d.error().detail;
  EXPECT_EQ(d->shape.op, shape.op);
  EXPECT_EQ(d->shape.sub_ops, shape.sub_ops);
  EXPECT_EQ(d->req.xid, r.xid);
  EXPECT_EQ(d->req.body.index(), r.body.index());
  EXPECT_EQ(hex(encoded(d->req, d->shape)), hex(bytes));
}

acl_list open_acl() { return {acl_entry{perm::all, "world", "anyone"}}; }

node_stat sample_stat() {
  node_stat s;
  s.czxid = 0x22;
  s.mzxid = 0x22;
  s.ctime = 0x1a2135450ba;
  s.mtime = 0x1a2135450ba;
  s.num_children = 1;
  s.data_length = 1;
  s.pzxid = 0x22;
  return s;
}

} // namespace

TEST(jute, every_request_survives_a_round_trip) {
  using oc = op_code;
  expect_round_trip({1, create_request{"/a", "data", open_acl(), create_mode::ephemeral_sequential, -1}},
                    {oc::create, {}});
  expect_round_trip({2, create_request{"/a", "", open_acl(), create_mode::persistent, -1}}, {oc::create2, {}});
  expect_round_trip({3, create_request{"/c", "", open_acl(), create_mode::container, -1}}, {oc::create_container, {}});
  expect_round_trip({4, create_request{"/t", "x", open_acl(), create_mode::persistent_with_ttl, 5000}},
                    {oc::create_ttl, {}});
  expect_round_trip({5, delete_request{"/a", 3}}, {oc::remove, {}});
  expect_round_trip({6, exists_request{"/a", true}}, {oc::exists, {}});
  expect_round_trip({7, get_data_request{"/a", false}}, {oc::get_data, {}});
  expect_round_trip({8, set_data_request{"/a", std::string(1000, 'z'), -1}}, {oc::set_data, {}});
  expect_round_trip({9, get_acl_request{"/a"}}, {oc::get_acl, {}});
  expect_round_trip({10, set_acl_request{"/a", open_acl(), 2}}, {oc::set_acl, {}});
  expect_round_trip({11, get_children_request{"/", true}}, {oc::get_children, {}});
  expect_round_trip({12, get_children_request{"/", false}}, {oc::get_children2, {}});
  expect_round_trip({13, sync_request{"/a"}}, {oc::sync, {}});
  expect_round_trip({14, check_request{"/a", 1}}, {oc::check, {}});
  multi_request m;
  m.ops = {create_request{"/m", "", open_acl(), create_mode::persistent, -1}, delete_request{"/x", -1},
           set_data_request{"/m", "d", 0}, check_request{"/m", 1}};
  expect_round_trip({15, m}, {oc::multi, {oc::create2, oc::remove, oc::set_data, oc::check}});
  multi_read_request mr;
  mr.ops = {get_data_request{"/a", false}, get_children_request{"/", true}};
  expect_round_trip({16, mr}, {oc::multi_read, {oc::get_data, oc::get_children}});
  expect_round_trip({17, remove_watches_request{"/a", watcher_type::data, true}}, {oc::check_watches, {}});
  expect_round_trip({18, remove_watches_request{"/a", watcher_type::any, false}}, {oc::remove_watches, {}});
  expect_round_trip({19, get_ephemerals_request{"/"}}, {oc::get_ephemerals, {}});
  expect_round_trip({20, get_all_children_number_request{"/a"}}, {oc::get_all_children_number, {}});
  expect_round_trip({21, add_watch_request{"/a", add_watch_mode::persistent_recursive}}, {oc::add_watch, {}});
  set_watches_request w{7, {"/d"}, {"/e1", "/e2"}, {"/c"}, {}, {}};
  expect_round_trip({jute::set_watches_xid, w}, {oc::set_watches, {}});
  set_watches_request w2{7, {"/d"}, {}, {"/c"}, {"/p"}, {"/r"}};
  expect_round_trip({jute::set_watches_xid, w2}, {oc::set_watches2, {}});
  expect_round_trip({jute::auth_xid, auth_request{"digest", "user:pass"}}, {oc::auth, {}});
  expect_round_trip({22, who_am_i_request{}}, {oc::who_am_i, {}});
  expect_round_trip({jute::ping_xid, ping_request{}}, {oc::ping, {}});
  expect_round_trip({23, close_request{}}, {oc::close_session, {}});
  expect_round_trip({24, reconfig_request{}}, {oc::reconfig, {}});
  expect_round_trip({25, sasl_request{std::string("\0token", 6)}}, {oc::sasl, {}});
}

TEST(jute, a_sasl_step_carries_its_token_both_ways) {
  auto d = jute::decode_request(body_of(encoded({3, sasl_request{"username=\"bob\""}}, {op_code::sasl, {}})));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(std::get<sasl_request>(d->req.body).token, "username=\"bob\"");
  // SetSASLResponse: the reply header, then the server's token as a buffer.
  response r;
  r.xid = 3;
  r.body = std::string("rspauth=abc");
  std::vector<char> out;
  jute::encode_reply(r, {op_code::sasl, {}}, out);
  std::string body(out.begin() + 4, out.end());
  ASSERT_EQ(body.size(), 16u + 4u + 11u);
  EXPECT_EQ(body.substr(20), "rspauth=abc");
}

TEST(jute, decoded_fields_are_the_ones_sent) {
  auto bytes = encoded({5, create_request{"/t", "x", open_acl(), create_mode::persistent_with_ttl, 5000}},
                       {op_code::create_ttl, {}});
  auto d = jute::decode_request(body_of(bytes));
  ASSERT_TRUE(d.ok());
  auto& c = std::get<create_request>(d->req.body);
  EXPECT_EQ(c.path, "/t");
  EXPECT_EQ(c.data, "x");
  EXPECT_EQ(c.mode, create_mode::persistent_with_ttl);
  EXPECT_EQ(c.ttl, 5000);
  ASSERT_EQ(c.acl.size(), 1u);
  EXPECT_EQ(c.acl[0].scheme, "world");
  auto cw = jute::decode_request(
      body_of(encoded({1, remove_watches_request{"/w", watcher_type::children, true}}, {op_code::check_watches, {}})));
  ASSERT_TRUE(cw.ok());
  EXPECT_TRUE(std::get<remove_watches_request>(cw->req.body).check_only);
}

TEST(jute, connect_request_with_and_without_the_read_only_flag) {
  connect_request c;
  c.last_zxid_seen = 0x1234;
  c.timeout_ms = 30000;
  c.session = 0x55;
  c.password = std::string(16, 'p');
  for (bool flag : {true, false}) {
    std::vector<char> out;
    jute::encode_connect_request(c, flag, out);
    auto p = jute::decode_connect(body_of(out));
    ASSERT_TRUE(p.ok()) << p.error().detail;
    EXPECT_EQ(p->has_read_only, flag);
    EXPECT_EQ(p->req.last_zxid_seen, 0x1234);
    EXPECT_EQ(p->req.timeout_ms, 30000);
    EXPECT_EQ(p->req.session, 0x55);
    EXPECT_EQ(p->req.password, c.password);
  }
}

TEST(jute, connect_response_as_zookeeper_sends_it) {
  connect_response r;
  r.timeout_ms = 30000;
  r.session = 0x100009d16df0001;
  r.password = std::string("\xe6\x26\x5f\x2f\x04\x8a\x37\x5b\x5e\x77\x38\xdb\x21\x78\xac\x92", 16);
  std::vector<char> out;
  jute::encode_connect_response(r, true, out);
  EXPECT_EQ(hex(out, 4), "00000000000075300100009d16df000100000010e6265f2f048a375b5e7738db2178ac9200");
  // A read-only session: the last byte (the client reads it as ConnectedReadOnly), and back.
  r.read_only = true;
  out.clear();
  jute::encode_connect_response(r, true, out);
  EXPECT_EQ(hex(out, 4), "00000000000075300100009d16df000100000010e6265f2f048a375b5e7738db2178ac9201");
  auto back = jute::decode_connect_response(std::string(out.begin() + 4, out.end()));
  ASSERT_TRUE(back.ok());
  EXPECT_TRUE(back->read_only);
  r.read_only = false;
  // An expired session: timeout 0, session 0, a zero password (the client then reports expiry).
  r.err = error_code::session_expired;
  out.clear();
  jute::encode_connect_response(r, false, out);
  EXPECT_EQ(hex(out, 4), "00000000"
                         "00000000"
                         "0000000000000000"
                         "00000010" +
                             std::string(32, '0'));
}

TEST(jute, replies_match_zookeeper_byte_for_byte) {
  // create -> the path; header {xid, zxid, err}.
  response r;
  r.xid = 1;
  r.zxid = 0x26;
  r.body = create_result{"/mt0", sample_stat()};
  std::vector<char> out;
  jute::encode_reply(r, {op_code::create, {}}, out);
  EXPECT_EQ(hex(out, 4), "00000001"
                         "0000000000000026"
                         "00000000"
                         "000000042f6d7430");
  // An error: the header only.
  out.clear();
  response e;
  e.xid = 1;
  e.zxid = 0x27;
  e.err = error_code::node_exists;
  e.body = create_result{"/mt", {}};
  jute::encode_reply(e, {op_code::create2, {}}, out);
  EXPECT_EQ(hex(out, 4), "00000001"
                         "0000000000000027"
                         "ffffff92");
  // A failed multi: the header says ok, every result is an error result (ok before the failure).
  response m;
  m.xid = 2;
  m.zxid = 0x21;
  m.err = error_code::no_node;
  std::vector<op_result> results(2);
  results[0].err = error_code::ok;
  results[0].type = op_code::create;
  results[1].err = error_code::no_node;
  m.body = results;
  out.clear();
  jute::encode_reply(m, {op_code::multi, {op_code::create, op_code::remove}}, out);
  EXPECT_EQ(hex(out, 4), "00000002"
                         "0000000000000021"
                         "00000000"
                         "ffffffff"
                         "00"
                         "00000000"
                         "00000000"
                         "ffffffff"
                         "00"
                         "ffffff9b"
                         "ffffff9b"
                         "ffffffff"
                         "01"
                         "ffffffff");
  // multiRead: per-op results, a failed read among successful ones.
  response mr;
  mr.xid = 4;
  mr.zxid = 0x22;
  std::vector<op_result> reads(3);
  reads[0].type = op_code::get_data;
  reads[0].data = "x";
  reads[0].stat = sample_stat();
  reads[1].type = op_code::error;
  reads[1].err = error_code::no_node;
  reads[2].type = op_code::get_children;
  reads[2].children = {"b"};
  mr.body = reads;
  out.clear();
  jute::encode_reply(mr, {op_code::multi_read, {op_code::get_data, op_code::get_data, op_code::get_children}}, out);
  EXPECT_EQ(hex(out, 4), "00000004000000000000002200000000"
                         "000000040000000000000000017800000000000000220000000000000022000001a2135450ba000001a2135450ba"
                         "000000000000000000000000000000000000000000000001000000010000000000000022"
                         "ffffffff00ffffff9bffffff9b"
                         "000000080000000000000000010000000162"
                         "ffffffff01ffffffff");
  // In a multi, create2 reports as create (the path), createContainer and createTTL as create2.
  response c;
  c.xid = 3;
  c.zxid = 0x22;
  std::vector<op_result> created(2);
  created[0].type = op_code::create;
  created[0].path = "/mt/b";
  created[1].type = op_code::check;
  c.body = created;
  out.clear();
  jute::encode_reply(c, {op_code::multi, {op_code::create2, op_code::check}}, out);
  EXPECT_EQ(hex(out, 4), "00000003000000000000002200000000"
                         "000000010000000000000000052f6d742f62"
                         "0000000d0000000000"
                         "ffffffff01ffffffff");
  // whoAmI: (scheme, user) pairs.
  response w;
  w.xid = 9;
  w.zxid = 0x2b;
  w.body = auth_list{{"ip", "127.0.0.1"}};
  out.clear();
  jute::encode_reply(w, {op_code::who_am_i, {}}, out);
  EXPECT_EQ(hex(out, 4), "00000009000000000000002b00000000"
                         "00000001000000026970000000093132372e302e302e31");
  // addWatch: a body of one int 0 (an ErrorResponse), which Java clients read.
  response aw;
  aw.xid = 2;
  aw.zxid = 0x3a;
  out.clear();
  jute::encode_reply(aw, {op_code::add_watch, {}}, out);
  EXPECT_EQ(hex(out, 4), "00000002000000000000003a0000000000000000");
  // auth: zxid 0 in the header, as ZooKeeper sends.
  response a;
  a.xid = jute::auth_xid;
  a.zxid = 0x2b;
  out.clear();
  jute::encode_reply(a, {op_code::auth, {}}, out);
  EXPECT_EQ(hex(out, 4), "fffffffc000000000000000000000000");
}

TEST(jute, a_reply_header_decodes_from_what_the_encoder_wrote) {
  response r;
  r.xid = 77;
  r.zxid = 0x100000005;
  r.err = error_code::no_node;
  std::vector<char> out;
  jute::encode_reply(r, {op_code::get_data, {}}, out);
  auto h = jute::decode_reply_header(body_of(out));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->xid, 77);
  EXPECT_EQ(h->zxid, 0x100000005);
  EXPECT_EQ(h->err, error_code::no_node);
  EXPECT_FALSE(jute::decode_reply_header(std::string(15, '\0')).ok());
}

TEST(jute, the_stat_is_68_bytes_in_zookeepers_order) {
  response r;
  r.xid = 1;
  r.body = sample_stat();
  std::vector<char> out;
  jute::encode_reply(r, {op_code::exists, {}}, out);
  ASSERT_EQ(out.size(), 4u + 16u + 68u);
  EXPECT_EQ(hex(out, 20), "0000000000000022"
                          "0000000000000022"
                          "000001a2135450ba"
                          "000001a2135450ba"
                          "00000000"
                          "00000000"
                          "00000000"
                          "0000000000000000"
                          "00000001"
                          "00000001"
                          "0000000000000022");
}

TEST(jute, a_watch_event_is_a_notification_with_zxid_minus_one) {
  std::vector<char> out;
  jute::encode_event({event_type::node_data_changed, keeper_state::sync_connected, "/a", 0x42}, out);
  EXPECT_EQ(hex(out, 4), "ffffffff"
                         "ffffffffffffffff"
                         "00000000"
                         "00000003"
                         "00000003"
                         "000000022f61");
}

TEST(jute, packet_reader_splits_a_stream_and_bounds_lengths) {
  jute::packet_reader r(100);
  std::string stream = std::string("\0\0\0\3abc\0\0\0\1", 11) + "z";
  std::string body;
  for (char ch : stream)
    r.feed(&ch, 1); // byte by byte
  ASSERT_EQ(r.next(body), jute::packet_reader::status::packet);
  EXPECT_EQ(body, "abc");
  ASSERT_EQ(r.next(body), jute::packet_reader::status::packet);
  EXPECT_EQ(body, "z");
  EXPECT_EQ(r.next(body), jute::packet_reader::status::need_more);
  std::string big("\0\0\0\x65", 4); // 101 > 100
  r.feed(big.data(), big.size());
  EXPECT_EQ(r.next(body), jute::packet_reader::status::bad);
  EXPECT_NE(r.reason().find("101"), std::string::npos);
  jute::packet_reader neg(100);
  neg.feed("\xff\xff\xff\xff", 4);
  EXPECT_EQ(neg.next(body), jute::packet_reader::status::bad);
}

TEST(jute, decoders_reject_bad_input_with_a_reason) {
  auto bad = [](std::string body) {
    auto d = jute::decode_request(body);
    EXPECT_FALSE(d.ok());
    return d.ok() ? std::string() : d.error().detail;
  };
  EXPECT_NE(bad(std::string("\0\0\0\1", 4)).find("RequestHeader"), std::string::npos); // truncated header
  EXPECT_NE(bad(std::string("\0\0\0\1\0\0\0\x63", 8)).find("op code 99"), std::string::npos);
  // getData whose path claims 1000 bytes.
  EXPECT_NE(bad(std::string("\0\0\0\1\0\0\0\4\0\0\x03\xe8/a", 14)).find("length 1000"), std::string::npos);
  // A vector count far beyond what is left.
  EXPECT_NE(bad(std::string("\0\0\0\1\0\0\0\x0f\0\0\0\2/a\0\0\0\0\x7f\xff\xff\xff", 22)).find("count"),
            std::string::npos);
  // Trailing bytes.
  EXPECT_NE(bad(std::string("\0\0\0\1\0\0\0\x0b!", 9)).find("after its last field"), std::string::npos);
  // A multi holding a getData.
  EXPECT_NE(bad(std::string("\0\0\0\1\0\0\0\x0e\0\0\0\4\0\xff\xff\xff\xff\0\0\0\2/a\0", 24)).find("multi may hold"),
            std::string::npos);
  EXPECT_FALSE(jute::decode_connect(std::string("\0\0\0\0", 4)).ok());
}

TEST(jute, decoders_survive_random_and_mutated_bytes) {
  std::mt19937_64 rng(20261125);
  std::vector<std::string> seeds;
  auto add = [&](const request& r, jute::reply_shape s) { seeds.push_back(body_of(encoded(r, s))); };
  add({1, create_request{"/a", "data", open_acl(), create_mode::persistent, -1}}, {op_code::create, {}});
  multi_request m;
  m.ops = {create_request{"/m", "", open_acl(), create_mode::persistent, -1}, check_request{"/m", 1}};
  add({2, m}, {op_code::multi, {op_code::create, op_code::check}});
  add({3, set_watches_request{7, {"/d"}, {"/e"}, {"/c"}, {"/p"}, {"/r"}}}, {op_code::set_watches2, {}});
  add({4, set_acl_request{"/a", open_acl(), 2}}, {op_code::set_acl, {}});
  size_t accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string body;
    if (i % 2 == 0) {
      body.resize(rng() % 64);
      for (auto& ch : body)
        ch = static_cast<char>(rng());
    } else {
      body = seeds[rng() % seeds.size()];
      for (int k = 0, n = 1 + static_cast<int>(rng() % 4); k < n && !body.empty(); ++k)
        body[rng() % body.size()] = static_cast<char>(rng());
      if (rng() % 4 == 0)
        body.resize(rng() % (body.size() + 1));
    }
    auto d = jute::decode_request(body);
    auto c = jute::decode_connect(body);
    if (d.ok()) {
      ++accepted;
      // What decoded encodes to a normal form (nulls become empty, fields ZooKeeper ignores are
      // rewritten) that decodes and encodes to itself.
      std::vector<char> again, third;
      jute::encode_request(d->req, d->shape, again);
      auto d2 = jute::decode_request(body_of(again));
      ASSERT_TRUE(d2.ok()) << d2.error().detail;
      jute::encode_request(d2->req, d2->shape, third);
      EXPECT_EQ(hex(third), hex(again));
    } else {
      EXPECT_FALSE(d.error().detail.empty());
    }
    if (!c.ok()) {
      EXPECT_FALSE(c.error().detail.empty());
    }
  }
  EXPECT_GT(accepted, 0u); // mutations that stay valid are decoded, not rejected wholesale
}

TEST(jute, four_letter_words_are_recognised_from_the_first_int) {
  auto word = [](const char* s) {
    return static_cast<int32_t>((static_cast<uint32_t>(static_cast<uint8_t>(s[0])) << 24) |
                                (static_cast<uint32_t>(static_cast<uint8_t>(s[1])) << 16) |
                                (static_cast<uint32_t>(static_cast<uint8_t>(s[2])) << 8) |
                                static_cast<uint32_t>(static_cast<uint8_t>(s[3])));
  };
  EXPECT_EQ(jute::four_letter_word(word("ruok")), "ruok");
  EXPECT_EQ(jute::four_letter_word(word("mntr")), "mntr");
  EXPECT_EQ(jute::four_letter_word(word("abcd")), "");
  EXPECT_EQ(jute::four_letter_word(45), ""); // a ConnectRequest's length
}

TEST(four_letter_words, srvr_and_wchs_in_zookeepers_layout) {
  server_stats s;
  s.mode = "follower";
  s.zxid = 0x2e;
  s.node_count = 19;
  s.watch_sessions = 2;
  s.watch_paths = 3;
  s.watches = 4;
  listener_stats l;
  l.received = 27;
  l.sent = 25;
  l.latency_min_ms = 1;
  l.latency_avg_ms = 3.08333;
  l.latency_max_ms = 16;
  l.connections.push_back({"127.0.0.1:41952", 0, 1, 0});
  auto srvr = four_letter_text("srvr", s, l, {});
  EXPECT_NE(srvr.find("Zookeeper version: "), std::string::npos);
  EXPECT_NE(srvr.find("Latency min/avg/max: 1/3.0833/16\n"), std::string::npos);
  EXPECT_NE(
      srvr.find("Received: 27\nSent: 25\nConnections: 1\nOutstanding: 0\nZxid: 0x2e\nMode: follower\nNode count: 19\n"),
      std::string::npos);
  auto stat = four_letter_text("stat", s, l, {});
  EXPECT_NE(stat.find("Clients:\n /127.0.0.1:41952[1](queued=0,recved=1,sent=0)\n\n"), std::string::npos);
  EXPECT_EQ(four_letter_text("wchs", s, l, {}), "2 connections watching 3 paths\nTotal watches:4\n");
  EXPECT_EQ(four_letter_text("ruok", s, l, {}), "imok");
  EXPECT_EQ(four_letter_text("conf", s, l, {{"clientPort", "2181"}, {"tickTime", "2000"}}),
            "clientPort=2181\ntickTime=2000\n");
  EXPECT_NE(four_letter_text("mntr", s, l, {}).find("zk_server_state\tfollower\n"), std::string::npos);
  EXPECT_EQ(four_letter_text("isro", s, l, {}), "rw");
  s.mode = "read-only"; // ZooKeeper's read-only server: isro, srvr and mntr say so
  EXPECT_EQ(four_letter_text("isro", s, l, {}), "ro");
  EXPECT_NE(four_letter_text("srvr", s, l, {}).find("\nREAD-ONLY mode; serving only read-only clients\nLatency"),
            std::string::npos);
  EXPECT_NE(four_letter_text("mntr", s, l, {}).find("zk_server_state\tread-only\n"), std::string::npos);
  s.serving = false;
  EXPECT_EQ(four_letter_text("srvr", s, l, {}), "This ZooKeeper instance is not currently serving requests\n");
}

// ZooKeeper's null byte array (length -1) for znode data is kept apart from an empty one, both ways.
TEST(jute, null_data_is_length_minus_one) {
  auto null_create = jute::decode_request(body_of(
      encoded({1, create_request{"/n", "", open_acl(), create_mode::persistent, -1, true}}, {op_code::create, {}})));
  ASSERT_TRUE(null_create.ok());
  EXPECT_TRUE(std::get<create_request>(null_create->req.body).null_data);
  auto empty_set = jute::decode_request(body_of(encoded({2, set_data_request{"/n", "", -1}}, {op_code::set_data, {}})));
  ASSERT_TRUE(empty_set.ok());
  EXPECT_FALSE(std::get<set_data_request>(empty_set->req.body).null_data);
  response r;
  r.xid = 3;
  r.zxid = 0x10;
  r.body = data_result{"", {}, true};
  std::vector<char> out;
  jute::encode_reply(r, {op_code::get_data, {}}, out);
  // header (xid, zxid, err), then the data's length -1 and no bytes, then the stat
  EXPECT_EQ(hex(out, 4).substr(0, 40), "00000003"
                                       "0000000000000010"
                                       "00000000"
                                       "ffffffff");
}
