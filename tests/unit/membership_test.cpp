// An ensemble's membership (core/membership): Corral's and ZooKeeper's text forms both ways, and the
// memberships reconfig requests make, with the refusals ZooKeeper gives.
#include <gtest/gtest.h>

#include "core/membership.hpp"
#include "three_servers.hpp"

using namespace corral;
using corral::test::three_servers;

TEST(membership, corrals_member_form_round_trips_and_bad_ones_say_why) {
  auto m = parse_member("5=127.0.0.1:2285:2895:observer;2185");
  ASSERT_TRUE(m.ok()) << m.error().detail;
  EXPECT_EQ(m->id, 5);
  EXPECT_EQ(m->client_port, 2285);
  EXPECT_EQ(m->quorum_port, 2895);
  EXPECT_EQ(m->zk_port, 2185);
  EXPECT_TRUE(m->observer);
  EXPECT_EQ(member_text(*m), "5=127.0.0.1:2285:2895:observer;2185");
  auto plain = parse_member("1=localhost:2281:2891");
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->observer);
  EXPECT_EQ(plain->zk_port, -1);
  EXPECT_TRUE(parse_member("2=[::1]:2282:2892:participant").ok());
  for (auto text : {"0=h:1:2", "255=h:1:2", "1=h:1", "1=h:1:2:voter", "1=h:1:99999", "x=h:1:2", "1=h:1:2;zk", "1"}) {
    auto e = parse_member(text);
    ASSERT_FALSE(e.ok()) << text;
    EXPECT_EQ(e.error().code, error_code::bad_arguments);
    EXPECT_NE(e.error().detail.find(text), std::string::npos) << "the reason quotes the input: " << e.error().detail;
  }
}

TEST(membership, the_config_text_is_zookeepers_and_parses_back) {
  auto m = three_servers(0x100000000);
  m.members[2].observer = true;
  auto text = config_text(m);
  EXPECT_EQ(text, "server.1=127.0.0.1:2891:2281:participant;127.0.0.1:2181\n"
                  "server.2=127.0.0.1:2892:2282:participant;127.0.0.1:2182\n"
                  "server.3=127.0.0.1:2893:2283:observer;127.0.0.1:2183\n"
                  "version=100000000");
  auto back = parse_config_text(text);
  ASSERT_TRUE(back.ok()) << back.error().detail;
  EXPECT_EQ(*back, m);
  EXPECT_EQ(back->voters(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(back->observers(), (std::vector<int64_t>{3}));
  // ZooKeeper's client part may be a bare port or name 0.0.0.0; the role may be left out.
  auto zk = parse_server_line("server.4", "10.0.0.4:2888:3888;2181");
  ASSERT_TRUE(zk.ok());
  EXPECT_EQ(zk->quorum_port, 2888);
  EXPECT_EQ(zk->client_port, 3888) << "ZooKeeper's election port slot carries the native port";
  EXPECT_EQ(zk->zk_port, 2181);
  EXPECT_FALSE(zk->observer);
  EXPECT_FALSE(parse_config_text("server.1=h:1:2\nserver.1=h:3:4").ok()) << "an id named twice";
  EXPECT_FALSE(parse_config_text("weight.1=3").ok());
  EXPECT_FALSE(parse_config_text("server.1=h:1:2\nversion=zz").ok());
}

TEST(membership, incremental_changes_add_replace_and_remove) {
  auto cur = three_servers(0x100000000);
  reconfig_change add;
  add.joining = "server.5=127.0.0.1:2895:2285:observer;2185,server.4=127.0.0.1:2894:2284:participant;2184";
  auto next = changed_membership(cur, add);
  ASSERT_TRUE(next.ok()) << next.error().detail;
  EXPECT_EQ(next->version, 0u) << "the txn's zxid becomes the version";
  EXPECT_EQ(next->voters(), (std::vector<int64_t>{1, 2, 3, 4}));
  EXPECT_EQ(next->observers(), (std::vector<int64_t>{5}));
  reconfig_change remove;
  remove.leaving = "3, 5";
  auto fewer = changed_membership(*next, remove);
  ASSERT_TRUE(fewer.ok());
  EXPECT_EQ(fewer->voters(), (std::vector<int64_t>{1, 2, 4}));
  EXPECT_TRUE(fewer->observers().empty());
  reconfig_change demote; // a known id joining again replaces it: a voter becomes an observer
  demote.joining = "server.4=127.0.0.1:2894:2284:observer;2184";
  auto demoted = changed_membership(*fewer, demote);
  ASSERT_TRUE(demoted.ok());
  EXPECT_EQ(demoted->voters(), (std::vector<int64_t>{1, 2}));
  reconfig_change whole;
  whole.members = "server.1=127.0.0.1:2891:2281;2181\nserver.2=127.0.0.1:2892:2282;2182";
  auto replaced = changed_membership(cur, whole);
  ASSERT_TRUE(replaced.ok());
  EXPECT_EQ(replaced->members.size(), 2u);
}

TEST(membership, a_reconfig_that_would_break_the_ensemble_is_refused_with_the_reason) {
  auto cur = three_servers(0x100000000);
  auto refused = [&](reconfig_change c) {
    auto r = changed_membership(cur, c);
    EXPECT_FALSE(r.ok());
    return r.ok() ? std::string() : r.error().detail;
  };
  reconfig_change to_one;
  to_one.leaving = "2,3";
  EXPECT_NE(refused(to_one).find("at least 2"), std::string::npos);
  reconfig_change clash;
  clash.joining = "server.4=127.0.0.1:2891:2284;2184"; // server 1's quorum port
  EXPECT_NE(refused(clash).find("servers 1 and 4 both use 127.0.0.1:2891"), std::string::npos);
  reconfig_change both;
  both.joining = "server.4=127.0.0.1:2894:2284;2184";
  both.members = "server.1=127.0.0.1:2891:2281;2181";
  EXPECT_NE(refused(both).find("not both"), std::string::npos);
  reconfig_change garbage;
  garbage.leaving = "three";
  EXPECT_NE(refused(garbage).find("'three' is not a server id"), std::string::npos);
  reconfig_change bad_line;
  bad_line.joining = "server.4=127.0.0.1";
  EXPECT_FALSE(refused(bad_line).empty());
}
