// Certificates for TLS tests, made with the openssl command in a temporary directory: a CA, a server
// certificate for 127.0.0.1 and localhost, a client certificate (CN=app,O=Corral), and a second CA
// with a client certificate of its own that the first CA does not vouch for. Keys are mode 600.
#pragma once

#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>

#include <boost/filesystem.hpp>

namespace corral::test {

struct test_certs {
  std::string dir;
  std::string ca, server_cert, server_key, client_cert, client_key;
  std::string client_key_and_cert;                   // both in one PEM file: a Java PEM key store
  std::string other_ca, stranger_cert, stranger_key; // signed by other_ca

  test_certs() {
    dir = (boost::filesystem::temp_directory_path() / boost::filesystem::unique_path("corral-certs-%%%%%%")).string();
    boost::filesystem::create_directories(dir);
    make_ca("ca");
    make_ca("other-ca");
    make_cert("ca", "server", "/CN=corral-server", "subjectAltName=IP:127.0.0.1,DNS:localhost");
    // Extensions make them X.509 v3 certificates: Java's PEM key store will not take a v1 one.
    make_cert("ca", "client", "/O=Corral/CN=app", "extendedKeyUsage=clientAuth");
    make_cert("other-ca", "stranger", "/CN=stranger", "extendedKeyUsage=clientAuth");
    ca = dir + "/ca.pem";
    other_ca = dir + "/other-ca.pem";
    server_cert = dir + "/server.pem";
    server_key = dir + "/server.key";
    client_cert = dir + "/client.pem";
    client_key = dir + "/client.key";
    stranger_cert = dir + "/stranger.pem";
    stranger_key = dir + "/stranger.key";
    client_key_and_cert = dir + "/client-combined.pem";
    {
      std::ofstream out(client_key_and_cert);
      out << std::ifstream(client_key).rdbuf();
      out << std::ifstream(client_cert).rdbuf();
    }
    ::chmod(client_key_and_cert.c_str(), 0600);
  }
  ~test_certs() {
    boost::system::error_code ec;
    boost::filesystem::remove_all(dir, ec);
  }
  test_certs(const test_certs&) = delete;

private:
  void run(const std::string& cmd) {
    if (std::system((cmd + " >/dev/null 2>&1").c_str()) != 0)
      throw std::runtime_error("failed: " + cmd);
  }
  void make_ca(const std::string& name) {
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=" + name +
        " -keyout " + dir + "/" + name + ".key -out " + dir + "/" + name + ".pem");
  }
  void make_cert(const std::string& ca_name, const std::string& name, const std::string& subject,
                 const std::string& san) {
    auto base = dir + "/" + name;
    run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj " + subject + " -keyout " + base +
        ".key -out " + base + ".csr");
    std::string ext;
    if (!san.empty()) {
      std::ofstream(base + ".ext") << san << "\n";
      ext = " -extfile " + base + ".ext";
    }
    run("openssl x509 -req -in " + base + ".csr -CA " + dir + "/" + ca_name + ".pem -CAkey " + dir + "/" + ca_name +
        ".key -CAcreateserial -days 2 -out " + base + ".pem" + ext);
    ::chmod((base + ".key").c_str(), 0600);
  }
};

// One set for a whole test program (making them takes a fraction of a second).
inline const test_certs& shared_test_certs() {
  static test_certs c;
  return c;
}

} // namespace corral::test
