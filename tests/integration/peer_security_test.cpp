// Quorum ports admit only configured servers that prove they know the ensemble's shared secret
// (corral.peer-secret-file); anybody else is refused, logged, and learns nothing. Real server
// processes on 127.0.0.1; the impostor is a raw socket speaking the peer protocol.
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>

#include <boost/filesystem.hpp>
#include <gtest/gtest.h>

#include "actors/client/blocking_client.hpp"
#include "protocol/frame.hpp"
#include "protocol/peer_codec.hpp"
#include "tests/common/test_certs.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace corral;
using namespace std::chrono_literals;

// A secret file (mode 600) that removes itself.
struct secret_file {
  explicit secret_file(const std::string& secret, mode_t mode = 0600) {
    path = (boost::filesystem::temp_directory_path() / boost::filesystem::unique_path("corral-peer-%%%%%%")).string();
    std::ofstream(path) << secret << "\n";
    ::chmod(path.c_str(), mode);
  }
  ~secret_file() { boost::filesystem::remove(path); }
  std::string option() const { return "--corral.peer-secret-file=" + path; }
  std::string path;
};

// A raw quorum connection: sends peer frames, collects what the server sends until it closes.
class impostor {
public:
  explicit impostor(uint16_t port) : fd_(test::connect_to(port)) {}
  ~impostor() { ::close(fd_); }
  void send(const protocol::peer_frame& f) {
    std::vector<char> out;
    protocol::encode(f, out);
    ::send(fd_, out.data(), out.size(), MSG_NOSIGNAL);
  }
  // Frames received until the server closes the connection (true) or `timeout` passes (false).
  bool read_until_closed(std::vector<protocol::peer_frame>& got, std::chrono::milliseconds timeout = 5s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0)
        continue;
      char buf[65536];
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0)
        return true;
      reader_.feed(buf, static_cast<size_t>(n));
      kj::ArrayPtr<const capnp::word> f;
      while (reader_.next(f) == protocol::frame_reader::status::frame)
        if (auto m = protocol::decode_peer(f))
          got.push_back(std::move(*m));
    }
    return false;
  }

private:
  int fd_;
  protocol::frame_reader reader_{1 << 20};
};

const std::string good = "the ensemble's shared secret, 32B";

client::client_options at(const std::string& address) {
  client::client_options o;
  o.servers = {address};
  return o;
}

bool serving(const test::server_process& s) {
  auto text = test::four_letter_word(static_cast<uint16_t>(s.zk_port()), "srvr");
  return text.find("Mode: leader") != std::string::npos || text.find("Mode: follower") != std::string::npos ||
         text.find("Mode: observer") != std::string::npos;
}

} // namespace

TEST(peer_security, an_unconfigured_server_id_is_refused_and_learns_nothing) {
  test::local_ensemble e(2);
  ASSERT_TRUE(test::eventually([&] { return serving(*e.servers[0]) && serving(*e.servers[1]); }, 15s));
  impostor x(e.quorum_ports[0]);
  x.send(protocol::peer_hello{99, protocol::peer_protocol_version, std::string(32, 'n')});
  std::vector<protocol::peer_frame> got;
  EXPECT_TRUE(x.read_until_closed(got));
  EXPECT_TRUE(got.empty()) << got.size() << " frames sent to an unconfigured server";
  EXPECT_TRUE(test::eventually(
      [&] { return e.servers[0]->log().find("server 99 from 127.0.0.1: no such server") != std::string::npos; }));
}

TEST(peer_security, without_the_secret_a_configured_id_gets_only_a_challenge) {
  secret_file s(good);
  test::local_ensemble e(2, 1, {s.option()}); // server 3 (an observer) is configured but not started
  ASSERT_TRUE(test::eventually([&] { return serving(*e.servers[0]) && serving(*e.servers[1]); }, 15s));
  client::blocking_client c(at(e.address(0)));
  ASSERT_TRUE(c.create("/secret", "tree contents"));
  // An impostor names server 3 from its configured address, then guesses a proof.
  impostor x(e.quorum_ports[0]);
  x.send(protocol::peer_hello{3, protocol::peer_protocol_version, std::string(32, 'n')});
  x.send(protocol::peer_proof{std::string(32, 'g')});
  std::vector<protocol::peer_frame> got;
  EXPECT_TRUE(x.read_until_closed(got));
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(std::holds_alternative<protocol::peer_challenge>(got[0]));
  EXPECT_TRUE(test::eventually([&] {
    return e.servers[0]->log().find("server 3 at 127.0.0.1 does not know the shared secret") != std::string::npos;
  }));
}

TEST(peer_security, a_server_with_another_secret_never_joins_and_one_with_the_secret_does) {
  secret_file s(good), wrong("a different secret, also long enough");
  test::local_ensemble e(2, 2, {s.option()});
  ASSERT_TRUE(test::eventually([&] { return serving(*e.servers[0]) && serving(*e.servers[1]); }, 15s));
  client::blocking_client c(at(e.address(0)));
  ASSERT_TRUE(c.create("/members", "x"));
  e.extra_ = {wrong.option()};
  e.start(3);
  e.extra_ = {s.option()};
  e.start(4);
  // The observer with the secret syncs and serves the tree; the other one never does.
  ASSERT_TRUE(test::eventually([&] { return serving(*e.servers[3]); }, 15s));
  client::blocking_client reader(at(e.address(3)));
  auto got = reader.get("/members");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->data, "x");
  EXPECT_TRUE(test::eventually([&] {
    return e.servers[2]->log().find("does not know the shared secret") != std::string::npos;
  })) << e.servers[2]->log();
  EXPECT_FALSE(serving(*e.servers[2]));
  EXPECT_EQ(e.servers[2]->log().find("serving"), std::string::npos);
}

TEST(peer_security, corral_server_refuses_a_missing_or_exposed_secret_file) {
  auto port = std::to_string(test::free_port());
  std::vector<std::string> base{"--corral.server-id=1",
                                "--corral.ensemble=[\"1=127.0.0.1:" + port + ":" + std::to_string(test::free_port()) +
                                    "\"]",
                                "--corral.zk-port=-1", "--corral.data-dir=/nonexistent-corral-test"};
  auto args = base;
  args.push_back("--corral.peer-secret-file=/nonexistent/secret");
  auto missing = test::run_tool(CORRAL_SERVER_BIN, args);
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("corral.peer-secret-file: cannot use /nonexistent/secret"), std::string::npos)
      << missing.err;

  secret_file exposed(good, 0644);
  args = base;
  args.push_back(exposed.option());
  auto r = test::run_tool(CORRAL_SERVER_BIN, args);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("chmod 600"), std::string::npos) << r.err;
}

namespace {

const test::test_certs& certs() { return test::shared_test_certs(); }

std::vector<std::string> quorum_tls(const std::string& cert, const std::string& key, const std::string& ca) {
  return {"--corral.quorum-tls", "--corral.tls-cert-file=" + cert, "--corral.tls-key-file=" + key,
          "--corral.tls-ca-file=" + ca};
}

} // namespace

TEST(peer_security, quorum_tls_admits_only_certificates_of_the_ca_that_name_the_server) {
  auto good = quorum_tls(certs().server_cert, certs().server_key, certs().ca); // names 127.0.0.1
  test::local_ensemble e(2, 3, good);
  ASSERT_TRUE(test::eventually([&] { return serving(*e.servers[0]) && serving(*e.servers[1]); }, 15s));
  EXPECT_NE(e.servers[0]->log().find("over mutual TLS"), std::string::npos);
  client::blocking_client c(at(e.address(0)));
  ASSERT_TRUE(c.create("/tls-members", "x"));
  e.extra_ = quorum_tls(certs().stranger_cert, certs().stranger_key, certs().other_ca); // another CA
  e.start(3);
  e.extra_ = quorum_tls(certs().client_cert, certs().client_key, certs().ca); // right CA, names no address
  e.start(4);
  e.extra_ = good;
  e.start(5);
  ASSERT_TRUE(test::eventually([&] { return serving(*e.servers[4]); }, 15s));
  client::blocking_client reader(at(e.address(4)));
  auto got = reader.get("/tls-members");
  ASSERT_TRUE(got);
  EXPECT_EQ(got->data, "x");
  auto voters_log = [&] { return e.servers[0]->log() + e.servers[1]->log(); };
  EXPECT_TRUE(test::eventually([&] { return voters_log().find("TLS handshake failed") != std::string::npos; }))
      << voters_log();
  EXPECT_TRUE(test::eventually([&] {
    return voters_log().find("the TLS certificate of server 4 does not name the address") != std::string::npos;
  })) << voters_log();
  EXPECT_FALSE(serving(*e.servers[2]));
  EXPECT_FALSE(serving(*e.servers[3]));
  // Plain TCP to a TLS quorum port gets nothing it can read.
  impostor x(e.quorum_ports[0]);
  x.send(protocol::peer_hello{5, protocol::peer_protocol_version, std::string(32, 'n')});
  std::vector<protocol::peer_frame> frames;
  EXPECT_TRUE(x.read_until_closed(frames));
  EXPECT_TRUE(frames.empty());
}
