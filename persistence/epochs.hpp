// The epochs file: the two numbers a ZAB server must never forget (core/zab.hpp's persistent_state),
// the epoch it last accepted and the one it last adopted. ZooKeeper keeps them in acceptedEpoch and
// currentEpoch; Corral keeps both in one small text file beside the log, replaced atomically:
//
//   accepted=7
//   current=7
//
// Called by the server when it starts (read) and whenever the ZAB core's ready carries a new epoch
// (write, before any of that ready's messages go out).
#pragma once

#include <string>

#include "core/error.hpp"
#include "core/zab.hpp"

namespace corral::persistence {

constexpr const char* epochs_file_name = "epochs";

// The epochs in `path`; zeros if there is no such file (a server that never joined an ensemble).
// A file that cannot be read or does not hold exactly the two lines is an error: guessing an epoch
// could let this server vote for a history it promised to leave behind.
result<zab::persistent_state> read_epochs(const std::string& path);
error_info write_epochs(const std::string& path, const zab::persistent_state& epochs);

// The file's text, and its parser (for tests and corral-logdump).
std::string format_epochs(const zab::persistent_state& epochs);
result<zab::persistent_state> parse_epochs(const std::string& text, const std::string& path);

} // namespace corral::persistence
