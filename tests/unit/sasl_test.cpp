// SASL DIGEST-MD5 (security/sasl_digest): RFC 2831's own example exchange, the refusals, and the
// JAAS "Server" section ZooKeeper's users are kept in.
#include <gtest/gtest.h>

#include "security/sasl_digest.hpp"

using namespace corral;
using security::digest_md5_options;
using status = sasl_server::status;

namespace {

std::shared_ptr<const security::sasl_users> users() {
  return std::make_shared<security::sasl_users>(security::sasl_users{{"chris", "secret"}, {"bob", "bobsecret"}});
}

// RFC 2831, section 4: the server side of its example exchange.
std::unique_ptr<sasl_server> rfc_server() {
  digest_md5_options o;
  o.realm = "elwood.innosoft.com";
  o.service = "imap";
  o.nonce = "OA6MG9tEQGm2hh";
  return security::make_digest_md5_server(users(), o);
}

const std::string rfc_response =
    "charset=utf-8,username=\"chris\",realm=\"elwood.innosoft.com\",nonce=\"OA6MG9tEQGm2hh\",nc=00000001,"
    "cnonce=\"OA6MHXh6VqTrRk\",digest-uri=\"imap/elwood.innosoft.com\","
    "response=d388dad90d4bbd760a152321f2143af7,qop=auth";

} // namespace

TEST(sasl_digest, the_rfc_2831_example_authenticates_with_its_rspauth) {
  auto s = rfc_server();
  std::string challenge, final_token;
  ASSERT_EQ(s->step("", challenge), status::more);
  EXPECT_NE(challenge.find("nonce=\"OA6MG9tEQGm2hh\""), std::string::npos) << challenge;
  EXPECT_NE(challenge.find("realm=\"elwood.innosoft.com\""), std::string::npos);
  EXPECT_NE(challenge.find("algorithm=md5-sess"), std::string::npos);
  ASSERT_EQ(s->step(rfc_response, final_token), status::done) << s->reason();
  EXPECT_EQ(final_token, "rspauth=ea40f60335c427b5527b84dbabcdfffd");
  EXPECT_EQ(s->user(), "chris");
}

TEST(sasl_digest, a_wrong_password_or_a_changed_field_fails) {
  auto tamper = [](const std::string& from, const std::string& to) {
    auto r = rfc_response;
    r.replace(r.find(from), from.size(), to);
    return r;
  };
  struct {
    std::string token, reason;
  } cases[] = {
      {tamper("d388dad9", "d388dad8"), "wrong password"},
      {tamper("OA6MHXh6VqTrRk", "OA6MHXh6VqTrRl"), "wrong password"}, // cnonce changed under the digest
      {tamper("OA6MG9tEQGm2hh", "OA6MG9tEQGm2hX"), "nonce"},          // a replayed or made-up nonce
      {tamper("nc=00000001", "nc=00000002"), "nonce count"},
      {tamper("qop=auth", "qop=auth-int"), "qop"},
      {tamper("imap/elwood", "smtp/elwood"), "digest-uri"},
      {tamper("username=\"chris\"", "username=\"mallory\""), "unknown user"},
      {"username=\"chris,realm=x", "malformed"},
      {"", "without username"},
  };
  for (auto& c : cases) {
    auto s = rfc_server();
    std::string out;
    ASSERT_EQ(s->step("", out), status::more);
    EXPECT_EQ(s->step(c.token, out), status::failed) << c.token;
    EXPECT_NE(s->reason().find(c.reason), std::string::npos) << s->reason() << " for " << c.token;
    std::string again;
    EXPECT_EQ(s->step(rfc_response, again), status::failed); // no second try on one exchange
  }
}

TEST(sasl_digest, each_exchange_gets_a_fresh_nonce_and_must_start_empty) {
  auto a = security::make_digest_md5_server(users()), b = security::make_digest_md5_server(users());
  std::string ca, cb;
  a->step("", ca);
  b->step("", cb);
  EXPECT_NE(ca, cb);
  EXPECT_NE(ca.find("realm=\"zk-sasl-md5\""), std::string::npos); // ZooKeeper's realm by default
  auto c = security::make_digest_md5_server(users());
  std::string out;
  EXPECT_EQ(c->step("username=\"bob\"", out), status::failed);
}

TEST(sasl_digest, users_come_from_the_jaas_server_section) {
  auto u = security::parse_jaas_server_users(R"(
Client {
  org.apache.zookeeper.server.auth.DigestLoginModule required username="bob" password="ignored";
};
Server {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       user_super="adminsecret"
       user_bob="bob's secret";
};
)");
  ASSERT_TRUE(u) << u.error().detail;
  EXPECT_EQ(u->size(), 2u);
  EXPECT_EQ(u->at("super"), "adminsecret");
  EXPECT_EQ(u->at("bob"), "bob's secret");
  EXPECT_FALSE(security::parse_jaas_server_users("Client { user_x=\"y\"; };"));
  EXPECT_FALSE(security::parse_jaas_server_users("Server { org.Foo required; };"));
  EXPECT_FALSE(security::parse_jaas_server_users("Server { user_x=\"unterminated; };"));
}
