// The client library and corral-cli over TLS to the native secure port (corral.secure-port).
#include <gtest/gtest.h>

#include "actors/client/blocking_client.hpp"
#include "tests/common/test_certs.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace corral;
using namespace std::chrono_literals;

const test::test_certs& certs() { return test::shared_test_certs(); }

std::vector<std::string> secure_args() {
  return {"--corral.secure-port=0", "--corral.tls-cert-file=" + certs().server_cert,
          "--corral.tls-key-file=" + certs().server_key, "--corral.tls-ca-file=" + certs().ca,
          "--corral.tls-client-auth=want"};
}

client::client_options secure_client(const test::server_process& s, const std::string& ca, bool with_cert,
                                     const std::string& host = "127.0.0.1") {
  client::client_options o;
  o.servers = {host + ":" + std::to_string(s.secure_port())};
  o.tls_ca_file = ca;
  if (with_cert) {
    o.tls_cert_file = certs().client_cert;
    o.tls_key_file = certs().client_key;
  }
  return o;
}

} // namespace

TEST(native_tls, the_client_library_works_over_tls_and_presents_its_certificate) {
  test::server_process server(secure_args());
  ASSERT_GT(server.secure_port(), 0);
  client::blocking_client c(secure_client(server, certs().ca, true));
  ASSERT_TRUE(c.wait_connected(5s));
  ASSERT_TRUE(c.create("/native-tls", "v"));
  auto got = c.get("/native-tls");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->data, "v");
  auto me = c.call(who_am_i_request{});
  auto* ids = std::get_if<auth_list>(&me.body);
  ASSERT_NE(ids, nullptr);
  EXPECT_NE(std::find(ids->begin(), ids->end(), auth_id{"x509", "CN=app,O=Corral"}), ids->end());
  // By name too: the server certificate names localhost.
  client::blocking_client by_name(secure_client(server, certs().ca, false, "localhost"));
  EXPECT_TRUE(by_name.wait_connected(5s));
}

TEST(native_tls, a_client_that_does_not_trust_the_server_never_connects) {
  test::server_process server(secure_args());
  client::blocking_client c(secure_client(server, certs().other_ca, false));
  EXPECT_FALSE(c.wait_connected(2s));
}

TEST(native_tls, corral_cli_takes_tls_flags) {
  test::server_process server(secure_args());
  auto r = test::run_cli(
      {"--server", "127.0.0.1:" + std::to_string(server.secure_port()), "--tls-ca", certs().ca, "ls", "/"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("[zookeeper]"), std::string::npos) << r.out << r.err;
  auto bad = test::run_cli(
      {"--server", "127.0.0.1:" + std::to_string(server.secure_port()), "--tls-ca", "/nonexistent/ca.pem", "ls", "/"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("/nonexistent/ca.pem"), std::string::npos) << bad.err;
}
