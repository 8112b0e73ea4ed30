#include "security/tls.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "security/secret_file.hpp"

namespace corral::security {

struct tls_context::impl {
  SSL_CTX* ctx = nullptr;
  bool server = false;
  ~impl() {
    if (ctx != nullptr)
      SSL_CTX_free(ctx);
  }
};

namespace {

// OpenSSL's queued errors as one line (and clears the queue).
std::string openssl_errors() {
  std::string out;
  for (unsigned long e; (e = ERR_get_error()) != 0;) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty())
      out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

error_info bad(const std::string& what) {
  return error_info{error_code::bad_arguments, what + ": " + openssl_errors()};
}

// Loads what both kinds of context share: protocol floor, certificate and key, trusted CAs.
result<bool> load(SSL_CTX* ctx, const tls_files& f, bool need_cert) {
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (need_cert && (f.cert.empty() || f.key.empty()))
    return error_info{error_code::bad_arguments, "TLS needs a certificate and a private key file"};
  if (!f.cert.empty()) {
    if (SSL_CTX_use_certificate_chain_file(ctx, f.cert.c_str()) != 1)
      return bad("cannot load the certificate " + f.cert);
    auto priv = check_private_file(f.key, "TLS private key");
    if (!priv)
      return priv.error();
    if (SSL_CTX_use_PrivateKey_file(ctx, f.key.c_str(), SSL_FILETYPE_PEM) != 1)
      return bad("cannot load the private key " + f.key + ", or it does not match the certificate " + f.cert);
    if (SSL_CTX_check_private_key(ctx) != 1)
      return bad("the private key " + f.key + " does not match the certificate " + f.cert);
  }
  if (!f.ca.empty() && SSL_CTX_load_verify_locations(ctx, f.ca.c_str(), nullptr) != 1)
    return bad("cannot load the CA certificates " + f.ca);
  return true;
}

} // namespace

tls_context::tls_context() : p(std::make_unique<impl>()) {}
tls_context::~tls_context() = default;

result<std::shared_ptr<tls_context>> tls_context::server(const tls_files& files, client_auth auth) {
  std::shared_ptr<tls_context> c(new tls_context());
  c->p->server = true;
  c->p->ctx = SSL_CTX_new(TLS_server_method());
  if (c->p->ctx == nullptr)
    return bad("cannot create a TLS context");
  if (auto ok = load(c->p->ctx, files, true); !ok)
    return ok.error();
  if (auth != client_auth::none) {
    if (files.ca.empty())
      return error_info{error_code::bad_arguments,
                        "client certificates are asked for, but no CA file says which ones to trust"};
    int mode = SSL_VERIFY_PEER | (auth == client_auth::need ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
    SSL_CTX_set_verify(c->p->ctx, mode, nullptr);
    // Tell clients which CAs are accepted (some pick their certificate by it).
    if (auto* names = SSL_load_client_CA_file(files.ca.c_str()))
      SSL_CTX_set_client_CA_list(c->p->ctx, names);
  }
  return c;
}

result<std::shared_ptr<tls_context>> tls_context::client(const tls_files& files) {
  std::shared_ptr<tls_context> c(new tls_context());
  c->p->ctx = SSL_CTX_new(TLS_client_method());
  if (c->p->ctx == nullptr)
    return bad("cannot create a TLS context");
  if (files.ca.empty())
    return error_info{error_code::bad_arguments, "a TLS client needs a CA file to verify the server"};
  if (auto ok = load(c->p->ctx, files, false); !ok)
    return ok.error();
  SSL_CTX_set_verify(c->p->ctx, SSL_VERIFY_PEER, nullptr);
  return c;
}

struct tls_stream::impl {
  SSL* ssl = nullptr;
  BIO* in = nullptr;  // network -> OpenSSL
  BIO* out = nullptr; // OpenSSL -> network
  ~impl() {
    if (ssl != nullptr)
      SSL_free(ssl); // frees both BIOs
  }
};

tls_stream::tls_stream(std::shared_ptr<tls_context> ctx) : ctx_(std::move(ctx)), p_(std::make_unique<impl>()) {
  p_->ssl = SSL_new(ctx_->p->ctx);
  p_->in = BIO_new(BIO_s_mem());
  p_->out = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(p_->in, -1); // an empty input means "wait", not end of stream
  SSL_set_bio(p_->ssl, p_->in, p_->out);
  if (ctx_->p->server) {
    SSL_set_accept_state(p_->ssl);
  } else {
    SSL_set_connect_state(p_->ssl);
    pump(nullptr); // the ClientHello
  }
}

tls_stream::~tls_stream() = default;

bool tls_stream::fail(const std::string& what) {
  if (reason_.empty()) {
    auto verify = SSL_get_verify_result(p_->ssl);
    reason_ = what + ": " + openssl_errors();
    if (verify != X509_V_OK)
      reason_ += " (certificate: " + std::string(X509_verify_cert_error_string(verify)) + ")";
  }
  return false;
}

bool tls_stream::pump(std::string* plain) {
  if (failed())
    return false;
  if (!done_) {
    int r = SSL_do_handshake(p_->ssl);
    if (r != 1) {
      int e = SSL_get_error(p_->ssl, r);
      if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
        return true;
      return fail("TLS handshake failed");
    }
    done_ = true;
    if (X509* cert = SSL_get1_peer_certificate(p_->ssl)) {
      if (SSL_get_verify_result(p_->ssl) == X509_V_OK) {
        BIO* b = BIO_new(BIO_s_mem());
        X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
        char* data = nullptr;
        auto len = BIO_get_mem_data(b, &data);
        subject_.assign(data, static_cast<size_t>(len));
        BIO_free(b);
      }
      X509_free(cert);
    }
    if (!pending_.empty()) {
      std::string p;
      p.swap(pending_);
      if (!send(p.data(), p.size()))
        return false;
    }
  }
  if (plain == nullptr)
    return true;
  char buf[16384];
  for (;;) {
    int n = SSL_read(p_->ssl, buf, sizeof buf);
    if (n > 0) {
      plain->append(buf, static_cast<size_t>(n));
      continue;
    }
    int e = SSL_get_error(p_->ssl, n);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
      return true;
    if (e == SSL_ERROR_ZERO_RETURN)
      return true; // the peer said close_notify; the TCP close follows
    return fail("TLS record error");
  }
}

bool tls_stream::receive(const char* data, size_t n, std::string& plain) {
  if (failed())
    return false;
  if (n > 0 && BIO_write(p_->in, data, static_cast<int>(n)) != static_cast<int>(n))
    return fail("TLS input buffer");
  return pump(&plain);
}

bool tls_stream::send(const char* data, size_t n) {
  if (failed())
    return false;
  if (!done_) {
    pending_.append(data, n);
    return true;
  }
  while (n > 0) {
    int w = SSL_write(p_->ssl, data, static_cast<int>(std::min<size_t>(n, 1 << 30)));
    if (w <= 0)
      return fail("TLS write failed");
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

void tls_stream::take_output(std::vector<char>& out) {
  auto pending = BIO_ctrl_pending(p_->out);
  if (pending == 0)
    return;
  auto at = out.size();
  out.resize(at + pending);
  auto n = BIO_read(p_->out, out.data() + at, static_cast<int>(pending));
  out.resize(at + static_cast<size_t>(std::max(n, 0)));
}

bool tls_stream::has_output() const { return BIO_ctrl_pending(p_->out) > 0; }

bool tls_stream::peer_certificate_names(const std::string& host) const {
  if (!done_ || SSL_get_verify_result(p_->ssl) != X509_V_OK)
    return false;
  X509* cert = SSL_get1_peer_certificate(p_->ssl);
  if (cert == nullptr)
    return false;
  bool ok = X509_check_ip_asc(cert, host.c_str(), 0) == 1 ||
            X509_check_host(cert, host.c_str(), host.size(), 0, nullptr) == 1;
  X509_free(cert);
  return ok;
}

} // namespace corral::security
