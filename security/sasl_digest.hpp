// SASL DIGEST-MD5 (RFC 2831), the server side ZooKeeper's clients speak when they authenticate with
// a user name and password (zkCli.sh with a JAAS "Client" section, kazoo's sasl_options, Curator).
// As ZooKeeper: realm "zk-sasl-md5", service "zookeeper", qop "auth", users from the "Server"
// section of a JAAS file (user_NAME="password", as ZooKeeper's DigestLoginModule reads it). The
// authenticated user becomes the session's ("sasl", NAME) identity. Plain C++ over OpenSSL's MD5.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "core/error.hpp"
#include "core/sasl.hpp"

namespace corral::security {

using sasl_users = std::map<std::string, std::string>; // name -> password

// The users of the "Server { ... };" section of a JAAS file. The file holds passwords: it must not
// be readable by other users (see secret_file.hpp).
result<sasl_users> read_jaas_server_users(const std::string& path);
// The same from text (for tests).
result<sasl_users> parse_jaas_server_users(const std::string& text);

struct digest_md5_options {
  std::string realm = "zk-sasl-md5";
  std::string service = "zookeeper";
  std::string nonce; // "" : a fresh random one (tests set it)
};

std::unique_ptr<sasl_server> make_digest_md5_server(std::shared_ptr<const sasl_users> users,
                                                    digest_md5_options opts = {});

// The factory the database takes: one server per exchange.
sasl_server_factory digest_md5_factory(std::shared_ptr<const sasl_users> users);

} // namespace corral::security
