// TLS as a byte-stream layer, in one place: every broker that speaks TLS (the client listener's
// secure ports, and later the peer transport and the client library) feeds it the bytes that
// arrive and sends the bytes it produces; in between it hands out and takes plaintext. OpenSSL with
// memory BIOs, so there are no sockets, threads or CAF in here, and two streams can talk to each
// other in a unit test (tests/unit/tls_test.cpp).
//
// A tls_context is made once from files (certificate chain, private key, trusted CAs) and checked
// at start; a tls_stream is one connection's state. Failures carry a reason for the log.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"

namespace corral::security {

struct tls_files {
  std::string cert; // PEM: this side's certificate (chain)
  std::string key;  // PEM: its private key (must not be readable by other users)
  std::string ca;   // PEM: the CAs whose certificates the other side may present ("" : none)
};

// Whether a server asks for, and requires, the client's certificate (ZooKeeper's ssl.clientAuth).
enum class client_auth { none, want, need };

class tls_context {
public:
  // A server's context: its certificate and key; `ca` verifies client certificates.
  static result<std::shared_ptr<tls_context>> server(const tls_files& files, client_auth auth);
  // A client's context: `ca` verifies the server (required); cert and key, if given, are presented.
  static result<std::shared_ptr<tls_context>> client(const tls_files& files);
  ~tls_context();
  tls_context(const tls_context&) = delete;

  struct impl;
  std::unique_ptr<impl> p;

private:
  tls_context();
};

class tls_stream {
public:
  explicit tls_stream(std::shared_ptr<tls_context> ctx);
  ~tls_stream();
  tls_stream(const tls_stream&) = delete;

  // Bytes from the network. Plaintext that they complete is appended to `plain`. False once the
  // stream has failed (reason() says why); then close the connection.
  bool receive(const char* data, size_t n, std::string& plain);
  // The same, and whatever it has to send back (handshake records, alerts) appended to `out`:
  // what a broker does with every chunk that arrives.
  bool receive(const char* data, size_t n, std::string& plain, std::vector<char>& out) {
    bool ok = receive(data, n, plain);
    take_output(out);
    return ok;
  }
  // Plaintext to send (buffered until the handshake is done).
  bool send(const char* data, size_t n);
  // Bytes to put on the network now (handshake records, encrypted data, alerts); appended.
  void take_output(std::vector<char>& out);
  bool has_output() const;

  bool handshake_done() const { return done_; }
  bool failed() const { return !reason_.empty(); }
  const std::string& reason() const { return reason_; }
  // The verified peer certificate's subject in RFC 2253 form ("CN=app,O=Example"), "" if none.
  const std::string& peer_subject() const { return subject_; }
  // Whether the verified peer certificate names `host` (an IP address or a DNS name) in its
  // subjectAltName: that the other end is the machine the configuration says, not just anybody
  // with a certificate from the same CA.
  bool peer_certificate_names(const std::string& host) const;

private:
  bool pump(std::string* plain);
  bool fail(const std::string& what);

  std::shared_ptr<tls_context> ctx_;
  struct impl;
  std::unique_ptr<impl> p_;
  std::string pending_; // plaintext waiting for the handshake
  bool done_ = false;
  std::string reason_;
  std::string subject_;
};

} // namespace corral::security
