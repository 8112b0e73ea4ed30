// The TLS stream layer (security/tls): two streams in memory, bytes passed by hand, certificates
// made by the openssl command.
#include <gtest/gtest.h>

#include "security/tls.hpp"
#include "tests/common/test_certs.hpp"

using namespace corral;
using security::client_auth;
using security::tls_context;
using security::tls_files;
using security::tls_stream;

namespace {

const test::test_certs& certs() { return test::shared_test_certs(); }

std::shared_ptr<tls_context> server_ctx(client_auth auth) {
  auto c = tls_context::server({certs().server_cert, certs().server_key, certs().ca}, auth);
  if (!c)
    throw std::runtime_error(c.error().detail);
  return *c;
}

std::shared_ptr<tls_context> client_ctx(const std::string& cert = "", const std::string& key = "",
                                        const std::string& ca = certs().ca) {
  auto c = tls_context::client({cert, key, ca});
  if (!c)
    throw std::runtime_error(c.error().detail);
  return *c;
}

// Moves bytes both ways until neither side has anything to send; returns false if either failed.
bool exchange(tls_stream& a, tls_stream& b, std::string& a_got, std::string& b_got) {
  for (int round = 0; round < 20; ++round) {
    std::vector<char> ab, ba;
    a.take_output(ab);
    b.take_output(ba);
    if (ab.empty() && ba.empty())
      break;
    if (!b.receive(ab.data(), ab.size(), b_got) || !a.receive(ba.data(), ba.size(), a_got))
      return false;
  }
  return !a.failed() && !b.failed();
}

} // namespace

TEST(tls, data_flows_both_ways_after_the_handshake) {
  tls_stream server(server_ctx(client_auth::none));
  tls_stream client(client_ctx());
  std::string s_got, c_got;
  ASSERT_TRUE(client.send("hello", 5)); // buffered until the handshake is done
  ASSERT_TRUE(exchange(client, server, c_got, s_got)) << client.reason() << server.reason();
  EXPECT_TRUE(client.handshake_done());
  EXPECT_TRUE(server.handshake_done());
  EXPECT_EQ(s_got, "hello");
  std::string big(100000, 'z');
  ASSERT_TRUE(server.send(big.data(), big.size()));
  ASSERT_TRUE(exchange(client, server, c_got, s_got));
  EXPECT_EQ(c_got, big);
  EXPECT_EQ(server.peer_subject(), ""); // no client certificate asked for
}

TEST(tls, a_client_certificate_gives_its_subject) {
  tls_stream server(server_ctx(client_auth::want));
  tls_stream client(client_ctx(certs().client_cert, certs().client_key));
  std::string s_got, c_got;
  ASSERT_TRUE(exchange(client, server, c_got, s_got)) << client.reason() << server.reason();
  EXPECT_EQ(server.peer_subject(), "CN=app,O=Corral");
}

TEST(tls, want_accepts_a_client_without_a_certificate_need_does_not) {
  {
    tls_stream server(server_ctx(client_auth::want));
    tls_stream client(client_ctx());
    std::string s_got, c_got;
    EXPECT_TRUE(exchange(client, server, c_got, s_got)) << server.reason();
  }
  tls_stream server(server_ctx(client_auth::need));
  tls_stream client(client_ctx());
  std::string s_got, c_got;
  std::string dummy;
  client.send("x", 1);
  EXPECT_FALSE(exchange(client, server, c_got, s_got) && !s_got.empty());
  EXPECT_TRUE(server.failed());
  EXPECT_NE(server.reason().find("TLS handshake failed"), std::string::npos) << server.reason();
}

TEST(tls, a_certificate_from_an_unknown_ca_is_refused_both_ways) {
  // A client certificate the server's CA did not sign.
  tls_stream server(server_ctx(client_auth::want));
  tls_stream client(client_ctx(certs().stranger_cert, certs().stranger_key));
  std::string s_got, c_got;
  EXPECT_FALSE(exchange(client, server, c_got, s_got));
  EXPECT_TRUE(server.failed());
  // A server the client's CA does not vouch for.
  tls_stream server2(server_ctx(client_auth::none));
  tls_stream client2(client_ctx("", "", certs().other_ca));
  EXPECT_FALSE(exchange(client2, server2, c_got, s_got));
  EXPECT_TRUE(client2.failed());
  EXPECT_NE(client2.reason().find("certificate"), std::string::npos) << client2.reason();
}

TEST(tls, garbage_instead_of_a_handshake_fails_cleanly) {
  tls_stream server(server_ctx(client_auth::none));
  std::string got;
  std::string junk = "GET / HTTP/1.0\r\n\r\n";
  EXPECT_FALSE(server.receive(junk.data(), junk.size(), got));
  EXPECT_TRUE(server.failed());
  EXPECT_TRUE(got.empty());
}

TEST(tls, contexts_refuse_missing_and_exposed_files) {
  auto missing = tls_context::server({"/nonexistent.pem", certs().server_key, ""}, client_auth::none);
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().detail.find("/nonexistent.pem"), std::string::npos);
  auto no_ca = tls_context::server({certs().server_cert, certs().server_key, ""}, client_auth::need);
  ASSERT_FALSE(no_ca);
  EXPECT_NE(no_ca.error().detail.find("CA"), std::string::npos);
  ::chmod(certs().server_key.c_str(), 0644);
  auto exposed = tls_context::server({certs().server_cert, certs().server_key, ""}, client_auth::none);
  ::chmod(certs().server_key.c_str(), 0600);
  ASSERT_FALSE(exposed);
  EXPECT_NE(exposed.error().detail.find("chmod 600"), std::string::npos) << exposed.error().detail;
  auto mismatched = tls_context::server({certs().server_cert, certs().client_key, ""}, client_auth::none);
  ASSERT_FALSE(mismatched);
  EXPECT_NE(mismatched.error().detail.find("does not match"), std::string::npos) << mismatched.error().detail;
  EXPECT_FALSE(tls_context::client({"", "", ""}));
}
