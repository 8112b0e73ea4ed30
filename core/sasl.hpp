// The server side of a SASL exchange, as the database sees it: core keeps one per session that is
// authenticating and knows nothing of the mechanism (security/sasl_digest implements DIGEST-MD5,
// with OpenSSL; core stays free of it). Made by the factory in database_options.
#pragma once

#include <functional>
#include <memory>
#include <string>

namespace corral {

class sasl_server {
public:
  virtual ~sasl_server() = default;
  enum class status { more, done, failed };
  // Takes the client's token and sets `reply` to the server's next one (a challenge, or the final
  // token of a successful exchange).
  virtual status step(const std::string& token, std::string& reply) = 0;
  // Once done: the authenticated user (the session's "sasl" identity).
  virtual std::string user() const = 0;
  // Once failed: why, for the log (never sent to the client).
  virtual std::string reason() const = 0;
};

using sasl_server_factory = std::function<std::unique_ptr<sasl_server>()>;

} // namespace corral
