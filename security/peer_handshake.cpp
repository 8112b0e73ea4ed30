#include "security/peer_handshake.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

namespace corral::security {

namespace {

std::string random_nonce() {
  std::string n(nonce_bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(n.data()), static_cast<int>(n.size())) != 1)
    throw std::runtime_error("OpenSSL's random generator failed");
  return n;
}

void put_id(std::string& out, server_id id) {
  for (int i = 7; i >= 0; --i)
    out.push_back(static_cast<char>(static_cast<uint64_t>(id) >> (8 * i)));
}

std::string proof(const char* label, const std::string& secret, server_id initiator, server_id acceptor,
                  const std::string& nonce_i, const std::string& nonce_a) {
  if (secret.empty())
    return {};
  std::string msg = label;
  put_id(msg, initiator);
  put_id(msg, acceptor);
  msg += nonce_i;
  msg += nonce_a;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(msg.data()),
       msg.size(), mac, &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

bool same(const std::string& a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace

std::string acceptor_proof(const std::string& secret, server_id initiator, server_id acceptor,
                           const std::string& nonce_i, const std::string& nonce_a) {
  return proof("corral peer v2 acceptor", secret, initiator, acceptor, nonce_i, nonce_a);
}

std::string initiator_proof(const std::string& secret, server_id initiator, server_id acceptor,
                            const std::string& nonce_i, const std::string& nonce_a) {
  return proof("corral peer v2 initiator", secret, initiator, acceptor, nonce_i, nonce_a);
}

peer_handshake peer_handshake::initiator(server_id self, server_id dialled, std::string secret) {
  peer_handshake h;
  h.initiating_ = true;
  h.self_ = self;
  h.peer_ = dialled;
  h.secret_ = std::move(secret);
  h.my_nonce_ = random_nonce();
  return h;
}

peer_handshake peer_handshake::acceptor(server_id self, std::string remote_address, std::vector<roster_entry> roster,
                                        std::string secret) {
  peer_handshake h;
  h.self_ = self;
  h.remote_ = std::move(remote_address);
  h.roster_ = std::move(roster);
  h.secret_ = std::move(secret);
  h.my_nonce_ = random_nonce();
  return h;
}

protocol::peer_frame peer_handshake::hello() const {
  return protocol::peer_hello{self_, protocol::peer_protocol_version, my_nonce_};
}

std::vector<protocol::peer_frame> peer_handshake::refuse(std::string why) {
  state_ = state::refused;
  reason_ = std::move(why);
  return {};
}

std::vector<protocol::peer_frame> peer_handshake::on_frame(const protocol::peer_frame& f) {
  if (state_ != state::waiting)
    return refuse("a frame after the handshake ended");
  if (auto* h = std::get_if<protocol::peer_hello>(&f))
    return on_hello(*h);
  if (auto* c = std::get_if<protocol::peer_challenge>(&f))
    return on_challenge(*c);
  if (auto* p = std::get_if<protocol::peer_proof>(&f))
    return on_proof(*p);
  return refuse("a frame before the handshake finished");
}

std::vector<protocol::peer_frame> peer_handshake::on_hello(const protocol::peer_hello& h) {
  if (initiating_ || hello_seen_)
    return refuse("an unexpected hello");
  hello_seen_ = true;
  std::string who = "a process calling itself server " + std::to_string(h.server) + " from " + remote_;
  if (h.version != protocol::peer_protocol_version)
    return refuse(who + " speaks peer protocol " + std::to_string(h.version) + ", this server " +
                  std::to_string(protocol::peer_protocol_version) + "; run the same Corral version on every server");
  auto e = std::find_if(roster_.begin(), roster_.end(), [&](auto& r) { return r.id == h.server; });
  if (e == roster_.end())
    return refuse(who + ": no such server in corral.ensemble");
  if (h.server <= self_)
    return refuse(who + ": servers with lower ids than the connecting one accept, they do not connect");
  if (std::find(e->addresses.begin(), e->addresses.end(), remote_) == e->addresses.end())
    return refuse(who + ": corral.ensemble puts server " + std::to_string(h.server) + " elsewhere");
  if (h.nonce.size() != nonce_bytes)
    return refuse(who + ": a malformed hello");
  peer_ = h.server;
  their_nonce_ = h.nonce;
  return {protocol::peer_challenge{self_, my_nonce_, acceptor_proof(secret_, peer_, self_, their_nonce_, my_nonce_)}};
}

std::vector<protocol::peer_frame> peer_handshake::on_challenge(const protocol::peer_challenge& c) {
  if (!initiating_)
    return refuse("an unexpected challenge");
  std::string who = "server " + std::to_string(peer_);
  if (c.server != peer_)
    return refuse(who + "'s address answers as server " + std::to_string(c.server) + "; check corral.ensemble");
  if (c.nonce.size() != nonce_bytes)
    return refuse(who + " sent a malformed challenge");
  if (secret_.empty() && !c.proof.empty())
    return refuse(who + " uses a shared secret and this server has none; set corral.peer-secret-file");
  if (!secret_.empty() && c.proof.empty())
    return refuse(who + " has no shared secret and this server has one; set the same corral.peer-secret-file on both");
  their_nonce_ = c.nonce;
  if (!same(c.proof, acceptor_proof(secret_, self_, peer_, my_nonce_, their_nonce_)))
    return refuse(who + " does not know the shared secret (corral.peer-secret-file differs)");
  state_ = state::admitted;
  return {protocol::peer_proof{initiator_proof(secret_, self_, peer_, my_nonce_, their_nonce_)}};
}

std::vector<protocol::peer_frame> peer_handshake::on_proof(const protocol::peer_proof& p) {
  if (initiating_ || peer_ == 0)
    return refuse("an unexpected proof");
  std::string who = "server " + std::to_string(peer_) + " at " + remote_;
  if (!secret_.empty() && p.proof.empty())
    return refuse(who + " has no shared secret and this server has one; set the same corral.peer-secret-file on both");
  if (secret_.empty() && !p.proof.empty())
    return refuse(who + " uses a shared secret and this server has none; set corral.peer-secret-file");
  if (!same(p.proof, initiator_proof(secret_, peer_, self_, their_nonce_, my_nonce_)))
    return refuse(who + " does not know the shared secret (corral.peer-secret-file differs)");
  state_ = state::admitted;
  return {};
}

} // namespace corral::security
