// Reconfig requests in the database (core/database): ZooKeeper's checks and error codes, in its
// order; the txn a reconfig becomes (its membership's version is its zxid); /zookeeper/config read
// as the starting membership until a reconfig writes it, then as the new one (its watchers hear,
// its mzxid moves, its dataVersion stays -1 as in ZooKeeper); the jute form of the request and reply.
#include "db_fixture.hpp"
#include "protocol/jute_codec.hpp"
#include "three_servers.hpp"

using namespace corral;
using corral::test::db_fixture;
using corral::test::three_servers;

namespace {

class reconfig : public db_fixture {
protected:
  database_options opts() {
    auto o = db_fixture::opts();
    o.super_digest = "super:D/InIHSb7yEEbrWz8b9l71RjZJU="; // super:test
    o.starting_config = config_text(three_servers());
    return o;
  }
  void SetUp() override {
    db = std::make_unique<database>(opts(), now);
    admin = open();
    ASSERT_EQ(run(admin, auth_request{"digest", "super:test"}).resp.err, error_code::ok);
    view.active = three_servers();
    view.quorum_synced = [this](const membership&) { return synced; };
  }
  // Prepares and applies a reconfig from `s`; the txn's outcome.
  outcome ask(session_id s, reconfig_request r, const membership_view* v) {
    request req{++xid, std::move(r)};
    auto t = db->prepare(s, req, now, v);
    last = t;
    auto out = db->apply(t, req.xid);
    events.insert(events.end(), out.events.begin(), out.events.end());
    return out;
  }
  outcome ask(session_id s, reconfig_request r) { return ask(s, std::move(r), &view); }
  std::string config_data() {
    auto out = run(admin, get_data_request{std::string(config_path), false});
    auto* d = std::get_if<data_result>(&out.resp.body);
    return d ? d->data : "";
  }

  session_id admin = 0;
  membership_view view;
  bool synced = true;
  txn last;
};

reconfig_request add_observer() {
  reconfig_request r;
  r.joining = "server.4=127.0.0.1:2894:2284:observer;127.0.0.1:2184";
  return r;
}

} // namespace

TEST_F(reconfig, a_superuser_adds_an_observer_and_the_txn_carries_the_membership_at_its_zxid) {
  auto before = config_data();
  EXPECT_EQ(before, config_text(three_servers())) << "read as the starting membership until a reconfig";
  run(admin, get_data_request{std::string(config_path), true}); // a watch
  take_events();
  auto out = ask(admin, add_observer());
  ASSERT_EQ(out.resp.err, error_code::ok) << out.resp.detail;
  auto* r = std::get_if<txn_reconfig>(&last.body);
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->next.version, last.zxid);
  EXPECT_EQ(r->next.voters(), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(r->next.observers(), (std::vector<int64_t>{4}));
  auto* answer = std::get_if<data_result>(&out.resp.body);
  ASSERT_NE(answer, nullptr) << "ZooKeeper answers with the new configuration";
  EXPECT_EQ(answer->data, config_text(r->next));
  EXPECT_EQ(config_data(), config_text(r->next));
  auto st = stat(std::string(config_path));
  EXPECT_EQ(st.mzxid, last.zxid);
  EXPECT_EQ(st.version, -1) << "ZooKeeper's reconfig txn leaves dataVersion -1";
  auto heard = take_events();
  ASSERT_EQ(heard.size(), 1u);
  EXPECT_EQ(heard[0].event.type, event_type::node_data_changed);
  EXPECT_EQ(heard[0].event.path, config_path);
}

TEST_F(reconfig, refusals_have_zookeepers_codes_and_change_nothing) {
  auto world = open();
  EXPECT_EQ(ask(world, add_observer()).resp.err, error_code::no_auth) << "world may only read /zookeeper/config";
  EXPECT_EQ(ask(admin, add_observer(), nullptr).resp.err, error_code::reconfig_disabled)
      << "a standalone server, as a standalone ZooKeeper with its defaults";
  view.enabled = false;
  EXPECT_EQ(ask(admin, add_observer()).resp.err, error_code::reconfig_disabled);
  view.enabled = true;
  auto stale = add_observer();
  stale.from_config = 0x500000001;
  EXPECT_EQ(ask(admin, stale).resp.err, error_code::bad_version);
  reconfig_request garbage;
  garbage.leaving = "one";
  EXPECT_EQ(ask(admin, garbage).resp.err, error_code::bad_arguments);
  synced = false;
  EXPECT_EQ(ask(admin, add_observer()).resp.err, error_code::new_config_no_quorum);
  synced = true;
  view.pending = three_servers();
  view.pending->version = 0x100000007;
  EXPECT_EQ(ask(admin, add_observer()).resp.err, error_code::reconfig_in_progress);
  EXPECT_TRUE(std::holds_alternative<txn_error>(last.body)) << "a refusal is an error txn, as ZooKeeper's";
  EXPECT_EQ(config_data(), config_text(three_servers()));
  EXPECT_EQ(stat(std::string(config_path)).mzxid, 0);
}

TEST_F(reconfig, the_version_the_client_saw_must_be_the_active_one) {
  auto current = add_observer();
  current.from_config = 0;
  EXPECT_EQ(ask(admin, current).resp.err, error_code::ok);
}

TEST(reconfig_wire, the_request_keeps_null_apart_from_empty_and_the_reply_is_data_and_stat) {
  reconfig_request r;
  r.joining = "server.4=h:1:2;3";
  r.members = "";
  r.from_config = 0x100000004;
  std::vector<char> buf;
  protocol::jute::encode_request(request{5, r}, {op_code::reconfig, {}}, buf);
  auto back = protocol::jute::decode_request(std::string(buf.begin() + 4, buf.end()));
  ASSERT_TRUE(back.ok()) << back.error().detail;
  auto& x = std::get<reconfig_request>(back->req.body);
  EXPECT_EQ(x.joining, r.joining);
  EXPECT_FALSE(x.leaving.has_value()) << "null stays null";
  EXPECT_EQ(x.members, std::optional<std::string>("")) << "empty stays empty";
  EXPECT_EQ(x.from_config, 0x100000004);
  response resp;
  resp.xid = 5;
  resp.body = data_result{"version=1", node_stat{}, false};
  std::vector<char> reply;
  protocol::jute::encode_reply(resp, back->shape, reply);
  // header (xid 4 + zxid 8 + err 4), then the data's length and bytes, then the stat.
  ASSERT_GT(reply.size(), 4u + 16u + 4u + 9u);
  EXPECT_EQ(std::string(reply.data() + 4 + 16 + 4, 9), "version=1");
}
