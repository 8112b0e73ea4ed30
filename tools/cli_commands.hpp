// corral-cli's commands, in zkCli.sh's manner. One table (commands()) names each command with its
// usage, options and handler; dispatch, help and tab completion all read it. The shell talks to a
// session through session_calls, so that corral-cli runs it over a blocking_client and the unit
// tests (tests/unit/cli_commands_test.cpp) over a fake that records requests and answers them.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "core/quota.hpp"
#include "core/types.hpp"

namespace corral::cli {

// Splits a command line into words; single and double quotes group words. Sets `error` on an
// unterminated quote.
std::vector<std::string> tokenize(const std::string& line, std::string& error);

// zkCli's stat block: "cZxid = 0x2\nctime = ...\n...".
std::string format_stat(const node_stat& s);

// "[a, b]"
std::string format_list(const std::vector<std::string>& items);

// What the shell needs of a session: a request and its answer, and ending the session.
struct session_calls {
  std::function<response(request_body)> call;
  std::function<void()> close;
};

// A command's words after its name: -x flags and -x value options, and the positional rest.
struct arguments {
  std::map<char, std::string> opts;
  std::vector<std::string> args;
  bool has(char c) const { return opts.count(c) > 0; }
};

// A watch event as zkCli.sh prints it ("WATCHER::" and a WatchedEvent line).
std::string format_event(const watch_event& e);

class shell;

// One row of the command table.
struct command {
  const char* name;
  std::vector<const char*> aliases;
  const char* usage;   // as help and usage errors print it
  const char* flags;   // options without a value ("sw": -s, -w)
  const char* valued;  // options that take a value ("v": -v VERSION)
  size_t min_args = 0; // positional arguments
  size_t max_args = 0;
  bool (shell::*run)(const arguments&) = nullptr;
};

// Every command, in help's order.
const std::vector<command>& commands();

// The names (not the aliases), for completion.
std::vector<std::string> command_names();

class shell {
public:
  shell(session_calls session, std::ostream& out, std::ostream& err)
      : session_(std::move(session)), out_(out), err_(err) {}

  // Runs one command; false if it failed (its error is printed). Sets quit_requested() on "quit".
  bool execute(const std::vector<std::string>& words);
  bool quit_requested() const { return quit_; }

  // Paths below the parent of `prefix` that start with it (for tab completion).
  std::vector<std::string> complete_path(const std::string& prefix);

private:
  friend const std::vector<command>& commands();

  bool fail(const error_info& e);
  bool fail(const response& r) { return fail(error_info{r.err, r.detail}); }
  bool usage(const std::string& why);
  // Sends a request that answers with nothing but its error code.
  bool call_for_status(request_body body);

  bool add_watch(const arguments& a);
  bool add_auth(const arguments& a);
  bool close(const arguments& a);
  bool create(const arguments& a);
  bool remove(const arguments& a);
  bool remove_all(const arguments& a);
  bool get(const arguments& a);
  bool get_acl(const arguments& a);
  bool get_all_children_number(const arguments& a);
  bool get_ephemerals(const arguments& a);
  bool help(const arguments& a);
  bool ls(const arguments& a);
  bool quit(const arguments& a);
  bool remove_watches(const arguments& a);
  bool set(const arguments& a);
  bool set_acl(const arguments& a);
  bool stat(const arguments& a);
  bool sync(const arguments& a);
  bool who_am_i(const arguments& a);
  // zkCli.sh's quota commands (cli_quota.cpp)
  bool set_quota(const arguments& a);
  bool list_quota(const arguments& a);
  bool del_quota(const arguments& a);
  // zkCli.sh's membership commands (cli_reconfig.cpp)
  bool config(const arguments& a);
  bool reconfig(const arguments& a);
  std::optional<quota::track> read_track(const std::string& path);
  bool quota_nesting_ok(const std::string& path);
  void warn_if_over(const quota::track& limits, const quota::track& stats);

  session_calls session_;
  std::ostream& out_;
  std::ostream& err_;
  const command* current_ = nullptr; // the command being run, for its usage line
  bool quit_ = false;
};

} // namespace corral::cli
