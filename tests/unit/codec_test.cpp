// The native protocol: every request and response survives a round trip; framing works in any
// chunking; oversize and malformed frames are rejected with a reason; decoders survive arbitrary bytes.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "protocol/client_codec.hpp"
#include "protocol/frame.hpp"

using namespace corral;
using namespace corral::protocol;

namespace {

std::vector<char> frame_of(const client_message& m) {
  std::vector<char> out;
  encode(m, out);
  return out;
}

// Feeds `bytes` to a reader `chunk` bytes at a time and decodes every whole frame.
std::vector<client_message> read_all(const std::vector<char>& bytes, size_t chunk, size_t max = 1 << 20) {
  frame_reader reader(max);
  std::vector<client_message> out;
  for (size_t i = 0; i < bytes.size(); i += chunk) {
    reader.feed(bytes.data() + i, std::min(chunk, bytes.size() - i));
    kj::ArrayPtr<const capnp::word> f;
    while (reader.next(f) == frame_reader::status::frame) {
      auto m = decode_client(f);
      EXPECT_TRUE(m.ok());
      if (m.ok())
        out.push_back(std::move(*m));
    }
  }
  return out;
}

request round_trip(const request& r) {
  auto bytes = frame_of(r);
  auto all = read_all(bytes, bytes.size());
  EXPECT_EQ(all.size(), 1u);
  return std::get<request>(all.at(0));
}

// Encodes a server message as one frame and decodes it back.
server_message round_trip(const server_message& m) {
  std::vector<char> bytes;
  encode(m, bytes);
  frame_reader reader(1 << 20);
  reader.feed(bytes.data(), bytes.size());
  kj::ArrayPtr<const capnp::word> f;
  EXPECT_EQ(reader.next(f), frame_reader::status::frame);
  auto back = decode_server(f);
  EXPECT_TRUE(back.ok()) << (back.ok() ? "" : back.error().detail);
  return back.ok() ? *back : server_message{};
}

} // namespace

TEST(codec, create_round_trip) {
  acl_list acl{{perm::read | perm::write, "digest", "u:h="}, {perm::all, "world", "anyone"}};
  request r{42, create_request{"/a/b", std::string("d\0ta", 4), acl, create_mode::persistent_with_ttl, 5000}};
  auto back = round_trip(r);
  EXPECT_EQ(back.xid, 42);
  auto& c = std::get<create_request>(back.body);
  EXPECT_EQ(c.path, "/a/b");
  EXPECT_EQ(c.data, std::string("d\0ta", 4));
  EXPECT_EQ(c.acl, acl);
  EXPECT_EQ(c.mode, create_mode::persistent_with_ttl);
  EXPECT_EQ(c.ttl, 5000);
}

TEST(codec, every_request_kind_keeps_its_type) {
  std::vector<request_body> bodies{
      create_request{"/a", "", open_acl_unsafe(), create_mode::ephemeral, -1},
      delete_request{"/a", 3},
      exists_request{"/a", true},
      get_data_request{"/a", true},
      set_data_request{"/a", "x", 7},
      get_acl_request{"/a"},
      set_acl_request{"/a", read_acl_unsafe(), 2},
      get_children_request{"/a", true},
      sync_request{"/a"},
      check_request{"/a", 1},
      multi_request{{create_request{"/m", "", open_acl_unsafe(), create_mode::persistent, -1}, delete_request{"/m", -1},
                     set_data_request{"/m", "v", 0}, check_request{"/m", 0}}},
      multi_read_request{{get_data_request{"/a", false}, get_children_request{"/b", false}}},
      get_ephemerals_request{"/p"},
      get_all_children_number_request{"/a"},
      add_watch_request{"/a", add_watch_mode::persistent_recursive},
      remove_watches_request{"/a", watcher_type::children, true},
      set_watches_request{9, {"/d"}, {"/e"}, {"/c"}, {"/p"}, {"/r"}},
      auth_request{"digest", "u:p"},
      who_am_i_request{},
      ping_request{},
      close_request{},
      reconfig_request{},
  };
  // Every kind but SASL, which is ZooKeeper's protocol only: sent natively it becomes an auth of
  // scheme "sasl", which servers refuse.
  ASSERT_EQ(bodies.size() + 1, std::variant_size_v<request_body>);
  for (auto& b : bodies) {
    auto back = round_trip(request{1, b});
    EXPECT_EQ(back.body.index(), b.index()) << request_name(b);
  }
  auto sasl = round_trip(request{1, sasl_request{"token"}});
  ASSERT_TRUE(std::holds_alternative<auth_request>(sasl.body));
  EXPECT_EQ(std::get<auth_request>(sasl.body).scheme, "sasl");
  auto m = std::get<multi_request>(round_trip(request{1, bodies[10]}).body);
  ASSERT_EQ(m.ops.size(), 4u);
  EXPECT_EQ(std::get<set_data_request>(m.ops[2]).data, "v");
  auto sw = std::get<set_watches_request>(round_trip(request{1, bodies[16]}).body);
  EXPECT_EQ(sw.relative_zxid, 9);
  EXPECT_EQ(sw.persistent_recursive, std::vector<std::string>{"/r"});
  EXPECT_TRUE(std::get<remove_watches_request>(round_trip(request{1, bodies[15]}).body).check_only);
}

TEST(codec, server_messages_round_trip) {
  node_stat st;
  st.czxid = 1;
  st.mzxid = 2;
  st.ctime = 3;
  st.mtime = 4;
  st.version = 5;
  st.cversion = 6;
  st.aversion = 7;
  st.ephemeral_owner = 8;
  st.data_length = 9;
  st.num_children = 10;
  st.pzxid = 11;
  std::vector<response_body> bodies{
      std::monostate{},
      create_result{"/a0000000001", st},
      st,
      data_result{"bytes", st},
      children_result{{"x", "y"}, st},
      acl_result{open_acl_unsafe(), st},
      std::vector<op_result>{op_result{op_code::create, error_code::ok, "/p", st, "", false, {}}},
      std::vector<std::string>{"/e1", "/e2"},
      int32_t{17},
      auth_list{{"digest", "bob"}},
      std::string("/s")};
  for (auto& b : bodies) {
    response r;
    r.xid = 5;
    r.zxid = 99;
    r.err = error_code::no_node;
    r.detail = "/a";
    r.body = b;
    auto back = round_trip(server_message{r});
    ASSERT_TRUE(std::holds_alternative<response>(back));
    auto& got = std::get<response>(back);
    EXPECT_EQ(got.body.index(), b.index());
    EXPECT_EQ(got.err, error_code::no_node);
    EXPECT_EQ(got.zxid, 99);
    EXPECT_EQ(got.detail, "/a");
  }
  auto back = round_trip(server_message{watch_event{event_type::node_deleted, keeper_state::sync_connected, "/w", 3}});
  ASSERT_TRUE(std::holds_alternative<watch_event>(back));
  auto ev = std::get<watch_event>(back);
  EXPECT_EQ(ev.type, event_type::node_deleted);
  EXPECT_EQ(ev.path, "/w");
  connect_response c;
  c.session = 0x42;
  c.read_only = true;
  auto connected = std::get<connect_response>(round_trip(server_message{c}));
  EXPECT_EQ(connected.session, 0x42);
  EXPECT_TRUE(connected.read_only);
}

TEST(codec, frames_split_at_every_chunk_size) {
  std::vector<char> bytes;
  for (int i = 0; i < 20; ++i)
    encode(client_message{request{i, set_data_request{"/k" + std::to_string(i), std::string(i * 37, 'x'), i}}}, bytes);
  for (size_t chunk : {1, 3, 7, 8, 13, 64, 4096}) {
    auto all = read_all(bytes, chunk);
    ASSERT_EQ(all.size(), 20u) << "chunk " << chunk;
    for (int i = 0; i < 20; ++i)
      EXPECT_EQ(std::get<set_data_request>(std::get<request>(all[i]).body).data.size(), size_t(i * 37));
  }
}

// Frames are built in one reused scratch segment (schema/scratch_builder.hpp): what a big message
// or one with every field set left there must not show through in the next, small one.
TEST(codec, a_frame_encoded_after_a_bigger_one_carries_only_its_own_fields) {
  acl_list acl{{perm::all, "digest", "user:secret"}};
  auto big = round_trip(
      request{7, create_request{"/full", std::string(20000, 'x'), acl, create_mode::ephemeral_sequential, 0}});
  EXPECT_EQ(std::get<create_request>(big.body).data.size(), 20000u);
  auto small = round_trip(request{8, get_data_request{"/g", false}});
  EXPECT_EQ(small.xid, 8);
  auto* g = std::get_if<get_data_request>(&small.body);
  ASSERT_NE(g, nullptr);
  EXPECT_EQ(g->path, "/g");
  EXPECT_FALSE(g->watch);
  auto plain = round_trip(request{9, create_request{"/p", "", {}, create_mode::persistent, -1}});
  auto& c = std::get<create_request>(plain.body);
  EXPECT_EQ(c.data, "");
  EXPECT_TRUE(c.acl.empty());
  EXPECT_EQ(c.mode, create_mode::persistent);
}

TEST(codec, oversize_frames_are_refused_before_they_arrive) {
  auto bytes = frame_of(request{1, set_data_request{"/big", std::string(200000, 'x'), -1}});
  frame_reader reader(100000);
  reader.feed(bytes.data(), 64); // the segment table alone says it is too big
  kj::ArrayPtr<const capnp::word> f;
  EXPECT_EQ(reader.next(f), frame_reader::status::too_large);
  EXPECT_NE(reader.reason().find("exceeds the limit"), std::string::npos);
}

TEST(codec, absurd_segment_tables_are_malformed) {
  std::vector<char> bytes(16, 0);
  uint32_t count = 0xFFFFFFF0u;
  std::memcpy(bytes.data(), &count, 4);
  frame_reader reader(1 << 20);
  reader.feed(bytes.data(), bytes.size());
  kj::ArrayPtr<const capnp::word> f;
  EXPECT_EQ(reader.next(f), frame_reader::status::malformed);
}

TEST(codec, decoders_survive_random_and_mutated_bytes) {
  std::mt19937 rng(12345);
  auto valid =
      frame_of(request{7, multi_request{{create_request{"/a", "data", open_acl_unsafe(), create_mode::persistent, -1},
                                         set_data_request{"/a", "x", 1}}}});
  int decoded = 0, rejected = 0;
  for (int round = 0; round < 20000; ++round) {
    std::vector<char> bytes;
    if (round % 2 == 0) {
      bytes = valid;
      int flips = 1 + static_cast<int>(rng() % 8);
      for (int k = 0; k < flips; ++k)
        bytes[rng() % bytes.size()] ^= static_cast<char>(1 << (rng() % 8));
    } else {
      bytes.resize(8 + rng() % 256);
      for (auto& b : bytes)
        b = static_cast<char>(rng());
    }
    frame_reader reader(1 << 16);
    reader.feed(bytes.data(), bytes.size());
    kj::ArrayPtr<const capnp::word> f;
    auto st = reader.next(f);
    if (st != frame_reader::status::frame) {
      ++rejected;
      continue;
    }
    auto m = decode_client(f);
    auto s = decode_server(f);
    (m.ok() ? decoded : rejected) += 1;
    (void)s;
  }
  EXPECT_GT(decoded + rejected, 0);
  EXPECT_GT(rejected, 0) << "random bytes should not all decode";
}

// Null data (no byte array) is not empty data, in requests and in getData's answer.
TEST(codec, null_data_survives_a_round_trip) {
  auto c = round_trip(request{1, create_request{"/n", "", open_acl_unsafe(), create_mode::persistent, -1, true}});
  EXPECT_TRUE(std::get<create_request>(c.body).null_data);
  auto e = round_trip(request{2, create_request{"/e", "", open_acl_unsafe(), create_mode::persistent, -1}});
  EXPECT_FALSE(std::get<create_request>(e.body).null_data);
  auto s = round_trip(request{3, multi_request{{set_data_request{"/n", "", -1, true}}}});
  EXPECT_TRUE(std::get<set_data_request>(std::get<multi_request>(s.body).ops.at(0)).null_data);
  response r;
  r.body = data_result{"", {}, true};
  auto back = std::get<response>(round_trip(server_message{r}));
  EXPECT_TRUE(std::get<data_result>(back.body).null_data);
  op_result read;
  read.type = op_code::get_data;
  read.null_data = true;
  r.body = std::vector<op_result>{read}; // multiRead's getData
  auto multi = std::get<response>(round_trip(server_message{r}));
  EXPECT_TRUE(std::get<std::vector<op_result>>(multi.body).at(0).null_data);
}
