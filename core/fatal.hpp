// The one way Corral stops on a state it must not go on from: an invariant that does not hold (a
// bug), or a disk that lost what it promised (an fsync that failed). It writes one line saying what
// broke and where, then ends the process at once with exit code 70 (EX_SOFTWARE), running no
// destructors: nothing half-done gets flushed. A restart recovers everything acknowledged.
//
//   CORRAL_CHECK(commit_ <= last_logged_, "zab", "commit ", commit_, " past the log's end ", last_logged_);
//   CORRAL_FATAL("log", "cannot sync the log: ", why);
//
// Checks stay on in Release builds: each is a comparison on a path that does far more work. The
// server routes the line into its log (set_fatal_writer); without that it goes to stderr.
#pragma once

#include <sstream>
#include <string>

namespace corral {

[[noreturn]] void fatal_at(const char* file, int line, const char* component, const std::string& what);

// Where the fatal line goes instead of stderr (actors/logging installs its writer, so the line lands
// in the server's log, wherever that is).
using fatal_writer = void (*)(const char* component, const std::string& line);
void set_fatal_writer(fatal_writer w);

namespace detail {
template <class... Ts>
std::string concat(const Ts&... xs) {
  std::ostringstream os;
  (os << ... << xs);
  return os.str();
}
} // namespace detail

} // namespace corral

#define CORRAL_FATAL(component, ...)                                                                                   \
  ::corral::fatal_at(__FILE__, __LINE__, component, ::corral::detail::concat(__VA_ARGS__))

#define CORRAL_CHECK(cond, component, ...)                                                                             \
  do {                                                                                                                 \
    if (!(cond))                                                                                                       \
      ::corral::fatal_at(__FILE__, __LINE__, component,                                                                \
                         ::corral::detail::concat("invariant broken (" #cond "): ", __VA_ARGS__));                     \
  } while (0)
