// The quorum handshake (security/peer_handshake): who is admitted, who is refused, and that the
// secret cannot be replayed, reflected or skipped. Both sides run in memory, frames passed by hand.
#include <sys/stat.h>

#include <fstream>

#include <boost/filesystem.hpp>
#include <gtest/gtest.h>

#include "security/peer_handshake.hpp"
#include "security/secret_file.hpp"

using namespace corral;
using security::peer_handshake;
using state = peer_handshake::state;

namespace {

const std::string secret = "correct horse battery staple";
const std::vector<security::roster_entry> roster{{1, {"10.0.0.1"}}, {2, {"10.0.0.2"}}, {3, {"10.0.0.3", "::1"}}};

// Runs a whole exchange between `i` and `a`; returns the frames the initiator received.
std::vector<protocol::peer_frame> run(peer_handshake& i, peer_handshake& a) {
  std::vector<protocol::peer_frame> to_initiator;
  auto challenge = a.on_frame(i.hello());
  to_initiator = challenge;
  for (auto& c : challenge) {
    for (auto& p : i.on_frame(c))
      a.on_frame(p);
  }
  return to_initiator;
}

} // namespace

TEST(peer_handshake, servers_with_the_same_secret_admit_each_other) {
  auto i = peer_handshake::initiator(3, 1, secret);
  auto a = peer_handshake::acceptor(1, "10.0.0.3", roster, secret);
  run(i, a);
  ASSERT_EQ(i.current(), state::admitted) << i.reason();
  ASSERT_EQ(a.current(), state::admitted) << a.reason();
  EXPECT_EQ(i.peer(), 1);
  EXPECT_EQ(a.peer(), 3);
}

TEST(peer_handshake, without_a_secret_the_configuration_alone_admits) {
  auto i = peer_handshake::initiator(2, 1, "");
  auto a = peer_handshake::acceptor(1, "10.0.0.2", roster, "");
  run(i, a);
  EXPECT_EQ(i.current(), state::admitted);
  EXPECT_EQ(a.current(), state::admitted);
}

TEST(peer_handshake, an_unknown_server_is_refused_and_told_nothing) {
  auto i = peer_handshake::initiator(9, 1, secret);
  auto a = peer_handshake::acceptor(1, "10.0.0.9", roster, secret);
  auto answer = a.on_frame(i.hello());
  EXPECT_TRUE(answer.empty());
  EXPECT_EQ(a.current(), state::refused);
  EXPECT_NE(a.reason().find("no such server"), std::string::npos) << a.reason();
}

TEST(peer_handshake, a_configured_id_from_another_address_is_refused) {
  auto i = peer_handshake::initiator(3, 1, secret);
  auto a = peer_handshake::acceptor(1, "10.0.0.66", roster, secret);
  EXPECT_TRUE(a.on_frame(i.hello()).empty());
  EXPECT_EQ(a.current(), state::refused);
  EXPECT_NE(a.reason().find("elsewhere"), std::string::npos) << a.reason();
  // Any of the configured addresses will do.
  auto i6 = peer_handshake::initiator(3, 1, secret);
  auto a6 = peer_handshake::acceptor(1, "::1", roster, secret);
  run(i6, a6);
  EXPECT_EQ(a6.current(), state::admitted);
}

TEST(peer_handshake, a_lower_id_does_not_connect) {
  auto i = peer_handshake::initiator(1, 2, secret);
  auto a = peer_handshake::acceptor(2, "10.0.0.1", roster, secret);
  EXPECT_TRUE(a.on_frame(i.hello()).empty());
  EXPECT_EQ(a.current(), state::refused);
}

TEST(peer_handshake, a_wrong_secret_is_refused_by_both_sides) {
  // The initiator has the wrong secret: it cannot check the acceptor's proof, and stops there.
  auto i = peer_handshake::initiator(3, 1, "not the right secret at all");
  auto a = peer_handshake::acceptor(1, "10.0.0.3", roster, secret);
  run(i, a);
  EXPECT_EQ(i.current(), state::refused);
  EXPECT_NE(i.reason().find("shared secret"), std::string::npos) << i.reason();
  EXPECT_NE(a.current(), state::admitted);
  // An initiator that skips the check and answers with a made-up proof is refused by the acceptor.
  auto a2 = peer_handshake::acceptor(1, "10.0.0.3", roster, secret);
  auto i2 = peer_handshake::initiator(3, 1, "");
  a2.on_frame(i2.hello());
  a2.on_frame(protocol::peer_proof{std::string(32, 'x')});
  EXPECT_EQ(a2.current(), state::refused);
  EXPECT_NE(a2.reason().find("does not know the shared secret"), std::string::npos) << a2.reason();
}

TEST(peer_handshake, a_secret_on_one_side_only_is_refused) {
  auto i = peer_handshake::initiator(3, 1, "");
  auto a = peer_handshake::acceptor(1, "10.0.0.3", roster, secret);
  run(i, a);
  EXPECT_EQ(i.current(), state::refused);
  EXPECT_NE(i.reason().find("corral.peer-secret-file"), std::string::npos);
  auto i2 = peer_handshake::initiator(3, 1, secret);
  auto a2 = peer_handshake::acceptor(1, "10.0.0.3", roster, "");
  run(i2, a2);
  EXPECT_EQ(i2.current(), state::refused);
  EXPECT_NE(a2.current(), state::admitted);
}

TEST(peer_handshake, a_recorded_proof_does_not_open_a_new_connection) {
  auto i = peer_handshake::initiator(3, 1, secret);
  auto a = peer_handshake::acceptor(1, "10.0.0.3", roster, secret);
  auto hello = i.hello();
  auto challenge = a.on_frame(hello);
  ASSERT_EQ(challenge.size(), 1u);
  auto proof = i.on_frame(challenge[0]);
  ASSERT_EQ(proof.size(), 1u);
  a.on_frame(proof[0]);
  ASSERT_EQ(a.current(), state::admitted);
  // An eavesdropper replays the hello and the proof to a fresh acceptor: its nonce is new.
  auto replayed = peer_handshake::acceptor(1, "10.0.0.3", roster, secret);
  replayed.on_frame(hello);
  replayed.on_frame(proof[0]);
  EXPECT_EQ(replayed.current(), state::refused);
}

TEST(peer_handshake, the_acceptors_own_proof_reflected_back_is_refused) {
  auto i = peer_handshake::initiator(3, 1, secret);
  auto a = peer_handshake::acceptor(1, "10.0.0.3", roster, secret);
  auto challenge = a.on_frame(i.hello());
  ASSERT_EQ(challenge.size(), 1u);
  auto& c = std::get<protocol::peer_challenge>(challenge[0]);
  a.on_frame(protocol::peer_proof{c.proof});
  EXPECT_EQ(a.current(), state::refused);
}

TEST(peer_handshake, the_initiator_checks_it_reached_the_server_it_dialled) {
  auto i = peer_handshake::initiator(3, 1, secret);
  auto a = peer_handshake::acceptor(2, "10.0.0.3", roster, secret); // server 2 answers at 1's address
  run(i, a);
  EXPECT_EQ(i.current(), state::refused);
  EXPECT_NE(i.reason().find("answers as server 2"), std::string::npos) << i.reason();
}

TEST(peer_handshake, anything_but_the_handshake_first_is_refused) {
  auto a = peer_handshake::acceptor(1, "10.0.0.3", roster, secret);
  a.on_frame(protocol::peer_frame{protocol::sync_request_frame{1}});
  EXPECT_EQ(a.current(), state::refused);
  auto old = peer_handshake::acceptor(1, "10.0.0.3", roster, "");
  old.on_frame(protocol::peer_hello{3, 1, std::string(security::nonce_bytes, 'n')});
  EXPECT_EQ(old.current(), state::refused);
  EXPECT_NE(old.reason().find("peer protocol 1"), std::string::npos) << old.reason();
}

TEST(peer_handshake, proofs_depend_on_every_input) {
  std::string ni(32, 'i'), na(32, 'a');
  auto p = security::initiator_proof(secret, 3, 1, ni, na);
  EXPECT_EQ(p.size(), 32u);
  EXPECT_NE(p, security::acceptor_proof(secret, 3, 1, ni, na));
  EXPECT_NE(p, security::initiator_proof(secret + "x", 3, 1, ni, na));
  EXPECT_NE(p, security::initiator_proof(secret, 2, 1, ni, na));
  EXPECT_NE(p, security::initiator_proof(secret, 3, 2, ni, na));
  EXPECT_NE(p, security::initiator_proof(secret, 3, 1, na, ni));
  EXPECT_TRUE(security::initiator_proof("", 3, 1, ni, na).empty());
}

namespace {

std::string temp_file(const std::string& content, mode_t mode) {
  auto path =
      (boost::filesystem::temp_directory_path() / boost::filesystem::unique_path("corral-secret-%%%%%%")).string();
  std::ofstream(path) << content;
  ::chmod(path.c_str(), mode);
  return path;
}

} // namespace

TEST(secret_file, reads_a_private_file_without_its_trailing_newline) {
  auto path = temp_file("0123456789abcdefXYZ\n", 0600);
  auto s = security::read_secret_file(path, "corral.peer-secret-file");
  ASSERT_TRUE(s) << s.error().detail;
  EXPECT_EQ(*s, "0123456789abcdefXYZ");
  boost::filesystem::remove(path);
}

TEST(secret_file, refuses_missing_exposed_and_short_files) {
  auto missing = security::read_secret_file("/nonexistent/corral/secret", "corral.peer-secret-file");
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().detail.find("corral.peer-secret-file"), std::string::npos);
  EXPECT_NE(missing.error().detail.find("No such file"), std::string::npos) << missing.error().detail;

  auto exposed_path = temp_file("0123456789abcdefXYZ", 0644);
  auto exposed = security::read_secret_file(exposed_path, "corral.peer-secret-file");
  ASSERT_FALSE(exposed);
  EXPECT_NE(exposed.error().detail.find("chmod 600"), std::string::npos) << exposed.error().detail;
  boost::filesystem::remove(exposed_path);

  auto short_path = temp_file("tooshort", 0600);
  auto too_short = security::read_secret_file(short_path, "corral.peer-secret-file");
  ASSERT_FALSE(too_short);
  EXPECT_NE(too_short.error().detail.find("at least 16"), std::string::npos) << too_short.error().detail;
  boost::filesystem::remove(short_path);

  EXPECT_FALSE(security::read_secret_file(boost::filesystem::temp_directory_path().string(), "x"));
}
