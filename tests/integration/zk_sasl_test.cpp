// SASL DIGEST-MD5 on the ZooKeeper port (corral.sasl-jaas-file, users as ZooKeeper's JAAS Server
// section): kazoo with sasl_options and zkCli.sh with a JAAS Client section authenticate, get the
// sasl identity for ACLs, and a wrong password is AuthFailed.
#include <sys/stat.h>

#include <fstream>

#include <boost/filesystem.hpp>
#include <gtest/gtest.h>

#include "tests/integration/harness.hpp"

namespace {

using namespace corral;

// A file of `text` with `mode`, removed at the end.
struct temp_file {
  temp_file(const std::string& text, mode_t mode) {
    path = (boost::filesystem::temp_directory_path() / boost::filesystem::unique_path("corral-jaas-%%%%%%")).string();
    std::ofstream(path) << text;
    ::chmod(path.c_str(), mode);
  }
  ~temp_file() { boost::filesystem::remove(path); }
  std::string path;
};

const char* server_jaas = R"(Server {
  org.apache.zookeeper.server.auth.DigestLoginModule required
  user_super="adminsecret"
  user_bob="bobsecret";
};
)";

const char* kazoo_script = R"(
import logging, sys
from kazoo.client import KazooClient
from kazoo.exceptions import AuthFailedError, NoAuthError
from kazoo.security import make_acl
port, password = sys.argv[1:3]
# kazoo logs "AUTH_FAILED closing" when the server refuses it; start() may then raise
# AuthFailedError or give up by time-out, and the client's state may already be CLOSED.
class Seen(logging.Handler):
    auth_failed = False
    def emit(self, record):
        if "AUTH_FAILED" in record.getMessage():
            Seen.auth_failed = True
logging.getLogger("kazoo").addHandler(Seen())
zk = KazooClient(hosts="127.0.0.1:" + port, timeout=10,
                 sasl_options={"mechanism": "DIGEST-MD5", "username": "bob", "password": password})
try:
    zk.start(timeout=10)
    zk.create("/bobs", b"only bob", acl=[make_acl("sasl", "bob", all=True)])
except Exception as e:
    print("auth failed" if Seen.auth_failed or isinstance(e, AuthFailedError)
          else "failed otherwise: %r in state %s" % (e, zk.client_state))
    sys.exit(0)
print("bob reads", zk.get("/bobs")[0].decode())
other = KazooClient(hosts="127.0.0.1:" + port, timeout=10)
other.start(timeout=10)
try:
    other.get("/bobs")
    print("anonymous reads it")
except NoAuthError:
    print("anonymous: no auth")
other.stop()
zk.stop()
)";

} // namespace

TEST(zk_sasl, kazoo_authenticates_with_digest_md5_and_a_wrong_password_fails) {
  temp_file jaas(server_jaas, 0600);
  test::server_process server({"--corral.sasl-jaas-file=" + jaas.path});
  auto port = std::to_string(server.zk_port());
  auto ok = test::run_tool("/usr/bin/python3", {"-c", kazoo_script, port, "bobsecret"});
  EXPECT_NE(ok.out.find("bob reads only bob"), std::string::npos) << ok.out << ok.err;
  EXPECT_NE(ok.out.find("anonymous: no auth"), std::string::npos) << ok.out << ok.err;
  auto bad = test::run_tool("/usr/bin/python3", {"-c", kazoo_script, port, "guess"});
  EXPECT_NE(bad.out.find("auth failed"), std::string::npos) << bad.out << bad.err;
  EXPECT_TRUE(test::eventually([&] { return server.log().find("user bob: wrong password") != std::string::npos; }))
      << server.log();
}

TEST(zk_sasl, zkcli_authenticates_with_a_jaas_client_section) {
  temp_file jaas(server_jaas, 0600);
  test::server_process server({"--corral.sasl-jaas-file=" + jaas.path});
  temp_file client(R"(Client {
  org.apache.zookeeper.server.auth.DigestLoginModule required username="bob" password="bobsecret";
};
)",
                   0600);
  auto flags = "-Djava.security.auth.login.config=" + client.path;
  ::setenv("CLIENT_JVMFLAGS", flags.c_str(), 1);
  auto r = test::run_tool("/usr/share/zookeeper/bin/zkCli.sh", {"-server", server.zk_address()},
                          "ls /\nls /\ncreate /zk-sasl x\nwhoami\nquit\n", 1500);
  ::unsetenv("CLIENT_JVMFLAGS");
  EXPECT_NE((r.out + r.err).find("Created /zk-sasl"), std::string::npos) << r.out << r.err;
  EXPECT_NE(r.out.find("sasl: bob"), std::string::npos) << r.out;
}

TEST(zk_sasl, sasl_is_refused_when_not_configured_and_the_server_checks_its_file) {
  test::server_process server;
  auto r = test::run_tool("/usr/bin/python3", {"-c", kazoo_script, std::to_string(server.zk_port()), "bobsecret"});
  EXPECT_NE(r.out.find("auth failed"), std::string::npos) << r.out << r.err;
  temp_file exposed(server_jaas, 0644);
  auto bad = test::run_tool(CORRAL_SERVER_BIN,
                            {"--corral.port=0", "--corral.zk-port=0", "--corral.data-dir=/nonexistent-corral-sasl",
                             "--corral.sasl-jaas-file=" + exposed.path});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_NE(bad.err.find("chmod 600"), std::string::npos) << bad.err;
}

TEST(zk_sasl, a_sasl_identity_on_a_follower_writes_through_the_leader) {
  temp_file jaas(server_jaas, 0600);
  test::local_ensemble e(3, 0, {"--corral.sasl-jaas-file=" + jaas.path});
  int leader = -1;
  ASSERT_TRUE(test::eventually([&] { return (leader = e.leader()) >= 0; }, std::chrono::seconds(15)));
  auto& follower = *e.servers[static_cast<size_t>(leader == 0 ? 1 : 0)];
  ASSERT_TRUE(test::eventually(
      [&] {
        return test::four_letter_word(static_cast<uint16_t>(follower.zk_port()), "srvr").find("Mode: follower") !=
               std::string::npos;
      },
      std::chrono::seconds(15)));
  // bob makes a node only bob may change, through the follower; its writes go to the leader with
  // bob's identity, so the ACL check there passes.
  std::string script = R"(
import sys
from kazoo.client import KazooClient
from kazoo.security import make_acl
zk = KazooClient(hosts="127.0.0.1:" + sys.argv[1], timeout=10,
                 sasl_options={"mechanism": "DIGEST-MD5", "username": "bob", "password": "bobsecret"})
zk.start(timeout=10)
zk.create("/bob-only", b"1", acl=[make_acl("sasl", "bob", all=True)])
zk.set("/bob-only", b"2")
print("bob wrote", zk.get("/bob-only")[0].decode())
zk.stop()
)";
  auto r = test::run_tool("/usr/bin/python3", {"-c", script, std::to_string(follower.zk_port())});
  EXPECT_NE(r.out.find("bob wrote 2"), std::string::npos) << r.out << r.err;
}
