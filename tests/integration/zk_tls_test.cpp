// ZooKeeper's protocol over TLS on the secure port (corral.secure-zk-port, ZooKeeper's
// secureClientPort): a TLS client of our own, kazoo with use_ssl, client certificates and the
// x509 ACL scheme, and what happens to clients that do not speak TLS or bring no certificate.
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "security/tls.hpp"
#include "tests/common/test_certs.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace corral;
using namespace std::chrono_literals;

const test::test_certs& certs() { return test::shared_test_certs(); }

std::vector<std::string> secure_server_args(const std::string& client_auth) {
  return {"--corral.secure-zk-port=0", "--corral.tls-cert-file=" + certs().server_cert,
          "--corral.tls-key-file=" + certs().server_key, "--corral.tls-ca-file=" + certs().ca,
          "--corral.tls-client-auth=" + client_auth};
}

// A blocking ZooKeeper-protocol client over TLS, built on the project's own TLS stream layer.
class tls_jute_client {
public:
  tls_jute_client(uint16_t port, const std::string& cert = "", const std::string& key = "")
      : fd_(test::connect_to(port)) {
    auto ctx = security::tls_context::client({cert, key, certs().ca});
    if (!ctx)
      throw std::runtime_error(ctx.error().detail);
    tls_ = std::make_unique<security::tls_stream>(*ctx);
    flush();
  }
  ~tls_jute_client() { ::close(fd_); }

  void send(const std::vector<char>& plain) {
    tls_->send(plain.data(), plain.size());
    flush();
  }
  // The next packet, or nothing (timeout, closed, or TLS failed: see failure()).
  std::optional<std::string> next(int timeout_ms = 5000) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    std::string body;
    for (;;) {
      if (packets_.next(body) == protocol::jute::packet_reader::status::packet)
        return body;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      pollfd p{fd_, POLLIN, 0};
      if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
        return std::nullopt;
      char buf[65536];
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0)
        return std::nullopt;
      std::string plain;
      bool ok = tls_->receive(buf, static_cast<size_t>(n), plain);
      flush();
      if (!ok)
        return std::nullopt;
      packets_.feed(plain.data(), plain.size());
    }
  }
  std::optional<protocol::connect_response> connect() {
    protocol::connect_request req;
    req.timeout_ms = 10000;
    req.password = std::string(16, '\0');
    std::vector<char> out;
    protocol::jute::encode_connect_request(req, true, out);
    send(out);
    auto p = next();
    if (!p)
      return std::nullopt;
    auto r = protocol::jute::decode_connect_response(*p);
    return r ? std::optional<protocol::connect_response>(*r) : std::nullopt;
  }
  // Sends a request and returns its reply's error code and body (after the header).
  std::pair<error_code, std::string> call(const request& r, protocol::jute::reply_shape shape) {
    std::vector<char> out;
    protocol::jute::encode_request(r, shape, out);
    send(out);
    while (auto p = next()) {
      auto h = protocol::jute::decode_reply_header(*p);
      if (h && h->xid == r.xid)
        return {h->err, p->substr(16)};
    }
    return {error_code::connection_loss, ""};
  }
  const security::tls_stream& tls() const { return *tls_; }

private:
  void flush() {
    std::vector<char> out;
    tls_->take_output(out);
    if (!out.empty())
      ::send(fd_, out.data(), out.size(), MSG_NOSIGNAL);
  }
  int fd_;
  std::unique_ptr<security::tls_stream> tls_;
  protocol::jute::packet_reader packets_{4u << 20};
};

// The data of a GetDataResponse body (buffer, then stat).
std::string data_of(const std::string& body) {
  if (body.size() < 4)
    return "";
  auto n = (static_cast<uint32_t>(static_cast<uint8_t>(body[0])) << 24) |
           (static_cast<uint32_t>(static_cast<uint8_t>(body[1])) << 16) |
           (static_cast<uint32_t>(static_cast<uint8_t>(body[2])) << 8) | static_cast<uint8_t>(body[3]);
  return body.substr(4, n);
}

const acl_list open_acl{{perm::all, "world", "anyone"}};

} // namespace

TEST(zk_tls, a_tls_client_works_on_the_secure_port_and_plain_bytes_are_refused) {
  test::server_process server(secure_server_args("want"));
  auto port = static_cast<uint16_t>(server.secure_zk_port());
  ASSERT_GT(server.secure_zk_port(), 0);
  tls_jute_client c(port);
  auto session = c.connect();
  ASSERT_TRUE(session) << c.tls().reason();
  EXPECT_NE(session->session, 0);
  EXPECT_EQ(
      c.call({1, create_request{"/t", "over tls", open_acl, create_mode::persistent}}, {op_code::create, {}}).first,
      error_code::ok);
  auto got = c.call({2, get_data_request{"/t", false}}, {op_code::get_data, {}});
  EXPECT_EQ(got.first, error_code::ok);
  EXPECT_EQ(data_of(got.second), "over tls");

  // A client that does not speak TLS gets no ConnectResponse; the log says why.
  test::raw_jute_client plain(port);
  plain.send_connect();
  auto answer = plain.next(3000);
  EXPECT_TRUE(!answer || answer->size() != 37) << "a plaintext ConnectResponse on the secure port";
  EXPECT_TRUE(test::eventually([&] { return server.log().find("TLS handshake failed") != std::string::npos; }));
  // The plain port is still plain.
  test::raw_jute_client on_plain_port(static_cast<uint16_t>(server.zk_port()));
  EXPECT_NE(on_plain_port.handshake().session, 0);
}

TEST(zk_tls, a_client_certificate_is_an_x509_identity_for_acls) {
  test::server_process server(secure_server_args("want"));
  auto port = static_cast<uint16_t>(server.secure_zk_port());
  tls_jute_client owner(port, certs().client_cert, certs().client_key);
  ASSERT_TRUE(owner.connect()) << owner.tls().reason();
  EXPECT_EQ(owner.tls().reason(), "");
  acl_list mine{{perm::all, "x509", "CN=app,O=Corral"}};
  ASSERT_EQ(
      owner.call({1, create_request{"/mine", "secret", mine, create_mode::persistent}}, {op_code::create, {}}).first,
      error_code::ok);
  auto got = owner.call({2, get_data_request{"/mine", false}}, {op_code::get_data, {}});
  EXPECT_EQ(got.first, error_code::ok);
  EXPECT_EQ(data_of(got.second), "secret");
  // The "auth" scheme takes the certificate identity too.
  ASSERT_EQ(owner
                .call({3, create_request{"/auth", "a", {{perm::all, "auth", ""}}, create_mode::persistent}},
                      {op_code::create, {}})
                .first,
            error_code::ok);

  tls_jute_client anonymous(port);
  ASSERT_TRUE(anonymous.connect());
  EXPECT_EQ(anonymous.call({1, get_data_request{"/mine", false}}, {op_code::get_data, {}}).first, error_code::no_auth);
  EXPECT_EQ(anonymous.call({2, get_data_request{"/auth", false}}, {op_code::get_data, {}}).first, error_code::no_auth);
  test::raw_jute_client plain(static_cast<uint16_t>(server.zk_port()));
  plain.handshake();
  plain.send_request({1, get_data_request{"/mine", false}}, {op_code::get_data, {}});
  auto p = plain.next();
  ASSERT_TRUE(p);
  EXPECT_EQ(protocol::jute::decode_reply_header(*p)->err, error_code::no_auth);
}

TEST(zk_tls, need_refuses_clients_without_a_trusted_certificate) {
  test::server_process server(secure_server_args("need"));
  auto port = static_cast<uint16_t>(server.secure_zk_port());
  tls_jute_client without(port);
  EXPECT_FALSE(without.connect());
  tls_jute_client stranger(port, certs().stranger_cert, certs().stranger_key);
  EXPECT_FALSE(stranger.connect());
  tls_jute_client trusted(port, certs().client_cert, certs().client_key);
  EXPECT_TRUE(trusted.connect()) << trusted.tls().reason();
}

TEST(zk_tls, corral_server_refuses_to_start_with_bad_tls_files) {
  auto args = [](std::vector<std::string> extra) {
    std::vector<std::string> a{"--corral.port=0", "--corral.zk-port=-1", "--corral.secure-zk-port=0",
                               "--corral.data-dir=/nonexistent-corral-tls-test"};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  auto no_cert = test::run_tool(CORRAL_SERVER_BIN, args({}));
  EXPECT_EQ(no_cert.exit_code, 2);
  EXPECT_NE(no_cert.err.find("corral.tls-cert-file"), std::string::npos) << no_cert.err;
  auto missing = test::run_tool(CORRAL_SERVER_BIN, args({"--corral.tls-cert-file=/nonexistent/server.pem",
                                                         "--corral.tls-key-file=" + certs().server_key}));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("/nonexistent/server.pem"), std::string::npos) << missing.err;
  auto bad_mode = test::run_tool(
      CORRAL_SERVER_BIN, args({"--corral.tls-cert-file=" + certs().server_cert,
                               "--corral.tls-key-file=" + certs().server_key, "--corral.tls-client-auth=sometimes"}));
  EXPECT_EQ(bad_mode.exit_code, 2);
  EXPECT_NE(bad_mode.err.find("need, want or none"), std::string::npos) << bad_mode.err;
}

TEST(zk_tls, kazoo_connects_with_use_ssl) {
  test::server_process server(secure_server_args("need"));
  std::string script = R"(
import sys
from kazoo.client import KazooClient
port, ca, cert, key = sys.argv[1:5]
zk = KazooClient(hosts="127.0.0.1:" + port, use_ssl=True, ca=ca, certfile=cert, keyfile=key, verify_certs=True,
                 timeout=10)
zk.start(timeout=10)
zk.create("/kazoo-tls", b"hello")
data, stat = zk.get("/kazoo-tls")
print("got", data.decode(), stat.version)
zk.stop()
)";
  auto r = test::run_tool("/usr/bin/python3", {"-c", script, std::to_string(server.secure_zk_port()), certs().ca,
                                               certs().client_cert, certs().client_key});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("got hello 0"), std::string::npos) << r.out << r.err;
}

TEST(zk_tls, zkcli_connects_with_the_netty_socket_and_pem_stores) {
  test::server_process server(secure_server_args("need"));
  // Debian's zookeeper.jar names its Netty jars in its manifest but not netty-resolver and
  // netty-codec, which the Netty client needs: they go on the class path by hand (see
  // docs/security.md). A later -cp overrides the one zkCli.sh sets.
  std::string flags =
      "-cp /etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/netty-resolver.jar:"
      "/usr/share/java/netty-codec.jar -Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty "
      "-Dzookeeper.client.secure=true -Dzookeeper.ssl.trustStore.type=PEM -Dzookeeper.ssl.trustStore.location=" +
      certs().ca +
      " -Dzookeeper.ssl.keyStore.type=PEM -Dzookeeper.ssl.keyStore.location=" + certs().client_key_and_cert;
  ::setenv("CLIENT_JVMFLAGS", flags.c_str(), 1);
  auto r = test::run_tool("/usr/share/zookeeper/bin/zkCli.sh",
                          {"-server", "127.0.0.1:" + std::to_string(server.secure_zk_port())},
                          "ls /\nls /\ncreate /zkcli-tls hi\nget /zkcli-tls\nwhoami\nquit\n", 1500);
  ::unsetenv("CLIENT_JVMFLAGS");
  EXPECT_NE((r.out + r.err).find("Created /zkcli-tls"), std::string::npos) << r.out << r.err; // zkCli says it on stderr
  EXPECT_NE(r.out.find("\nhi\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("x509: CN=app,O=Corral"), std::string::npos) << r.out;
}
