// Reading the files that hold secrets (the ensemble's shared secret; later keys): a file that is
// missing, unreadable, not a regular file, or readable or writable by other users is refused with a
// message that says what to do, so a server never starts with a secret anybody on the machine can
// read. Called by corral-server at start, before anything listens.
#pragma once

#include <string>

#include "core/error.hpp"

namespace corral::security {

// The shortest shared secret accepted: shorter ones are guessable offline from one handshake.
constexpr size_t min_secret_bytes = 16;

// The file's contents, without trailing whitespace (an editor's newline is not part of the secret).
// `what` names the option in messages ("corral.peer-secret-file").
result<std::string> read_secret_file(const std::string& path, const std::string& what);

// Checks only the file's kind and permissions (for key and certificate files read by other code).
result<bool> check_private_file(const std::string& path, const std::string& what);

// The whole contents of a file that passes check_private_file (the JAAS file, the secret).
result<std::string> read_private_file(const std::string& path, const std::string& what);

} // namespace corral::security
