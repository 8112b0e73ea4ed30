// corral-cli's commands, in zkCli.sh's manner, executed against a blocking_client. Separate from
// the terminal handling so that the parsing and the output can be driven by tests and by the
// one-shot and stdin modes alike.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "actors/client/blocking_client.hpp"

namespace corral::cli {

// Splits a command line into words; single and double quotes group words. Sets `error` on an
// unterminated quote.
std::vector<std::string> tokenize(const std::string& line, std::string& error);

// zkCli's stat block: "cZxid = 0x2\nctime = ...\n...".
std::string format_stat(const node_stat& s);

// "[a, b]"
std::string format_list(const std::vector<std::string>& items);

const std::vector<std::string>& command_names();

class shell {
public:
  shell(client::blocking_client& client, std::ostream& out, std::ostream& err)
    : client_(client), out_(out), err_(err) {}

  // Runs one command; false if it failed (its error is printed). Sets quit_requested() on "quit".
  bool execute(const std::vector<std::string>& args);
  bool quit_requested() const { return quit_; }

  // Paths below the parent of `prefix` that start with it (for tab completion).
  std::vector<std::string> complete_path(const std::string& prefix);

  void print_event(const watch_event& e);

private:
  bool fail(const error_info& e);
  bool usage(const std::string& text);
  bool ls(const std::vector<std::string>& a);
  bool create(const std::vector<std::string>& a);
  bool get(const std::vector<std::string>& a);
  bool set(const std::vector<std::string>& a);
  bool remove(const std::vector<std::string>& a);
  bool remove_all(const std::vector<std::string>& a);
  bool stat(const std::vector<std::string>& a);
  bool get_acl(const std::vector<std::string>& a);
  bool set_acl(const std::vector<std::string>& a);
  bool add_watch(const std::vector<std::string>& a);
  bool remove_watches(const std::vector<std::string>& a);
  bool help();

  client::blocking_client& client_;
  std::ostream& out_;
  std::ostream& err_;
  bool quit_ = false;
};

} // namespace corral::cli
