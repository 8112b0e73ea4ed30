// corral-cli: the command-line client, in zkCli.sh's manner.
//   corral-cli [--server HOST:PORT[,HOST:PORT...]] [--timeout MS]              interactive shell
//   corral-cli [--server ...] COMMAND ARGS...                                   one command, exit 1 on error
//   echo "ls /" | corral-cli [--server ...]                                     commands from standard input
#include <cstdio>
#include <cstring>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "actors/client/blocking_client.hpp"
#include "tools/cli_commands.hpp"

namespace {

corral::cli::shell* g_shell = nullptr;
// Standard output is shared by the commands (main thread) and watch events (the client library's
// thread). A command writes into `g_command_out` and its text is copied out whole once it is done;
// an event is written whole. g_out guards the copying, never a request: holding it while a command
// waits for its answer would deadlock, because the client delivers a watch event (whose callback
// takes g_out) before any answer that came after it.
std::mutex g_out;
std::ostringstream g_command_out;

void flush_command_output() {
  std::lock_guard<std::mutex> g(g_out);
  std::cout << g_command_out.str() << std::flush;
  g_command_out.str("");
}

char* command_generator(const char* text, int state) {
  static size_t index;
  static std::vector<std::string> matches;
  if (state == 0) {
    index = 0;
    matches.clear();
    std::string prefix(text);
    bool first_word = true;
    for (int i = 0; i < rl_point; ++i)
      if (rl_line_buffer[i] == ' ')
        first_word = false;
    if (first_word) {
      for (auto& c : corral::cli::command_names())
        if (c.compare(0, prefix.size(), prefix) == 0)
          matches.push_back(c);
    } else if (g_shell != nullptr) {
      matches = g_shell->complete_path(prefix);
    }
  }
  if (index < matches.size())
    return strdup(matches[index++].c_str());
  return nullptr;
}

char** complete(const char* text, int, int) {
  rl_attempted_completion_over = 1;
  rl_completion_append_character = '\0';
  return rl_completion_matches(text, command_generator);
}

std::vector<std::string> split_servers(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty())
      out.push_back(item);
  return out;
}

int usage() {
  std::cerr << "usage: corral-cli [--server HOST:PORT[,HOST:PORT...]] [--timeout MS] [COMMAND ARGS...]\n"
               "       with no command: an interactive shell (or commands from standard input)\n"
               "       TLS to the servers' secure port: --tls-ca FILE [--tls-cert FILE --tls-key FILE]\n";
  return 2;
}

struct cli_options {
  corral::client::client_options client;
  std::vector<std::string> command; // empty: a shell
};

// The options before the command; the rest of the line is the command. Returns an exit code when
// the program should stop here (help, or a bad option).
std::optional<int> parse_options(int argc, char** argv, cli_options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    bool has_value = i + 1 < argc;
    if (!o.command.empty()) {
      o.command.push_back(a);
    } else if ((a == "--server" || a == "-server") && has_value) {
      o.client.servers = split_servers(argv[++i]);
    } else if (a.rfind("--server=", 0) == 0) {
      o.client.servers = split_servers(a.substr(9));
    } else if ((a == "--timeout" || a == "-timeout") && has_value) {
      o.client.session_timeout_ms = std::atoi(argv[++i]);
    } else if (a == "--tls-ca" && has_value) {
      o.client.tls_ca_file = argv[++i];
    } else if (a == "--tls-cert" && has_value) {
      o.client.tls_cert_file = argv[++i];
    } else if (a == "--tls-key" && has_value) {
      o.client.tls_key_file = argv[++i];
    } else if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else if (a.rfind("--", 0) == 0) {
      return usage();
    } else {
      o.command.push_back(a);
    }
  }
  if (o.client.servers.empty())
    return usage();
  return std::nullopt;
}

// Commands from standard input, one a line; exit code 1 if any failed.
int run_script(corral::cli::shell& sh) {
  bool all_ok = true;
  std::string line;
  while (!sh.quit_requested() && std::getline(std::cin, line)) {
    std::string err;
    auto words = corral::cli::tokenize(line, err);
    if (!err.empty()) {
      std::cerr << err << "\n";
      all_ok = false;
      continue;
    }
    all_ok = sh.execute(words) && all_ok;
    flush_command_output();
  }
  return all_ok ? 0 : 1;
}

// The interactive shell: readline with history and completion of commands and paths.
int run_interactive(corral::cli::shell& sh, const std::string& server) {
  rl_attempted_completion_function = complete;
  std::string history = std::string(getenv("HOME") ? getenv("HOME") : ".") + "/.corral_history";
  read_history(history.c_str());
  std::cout << "Connected to " << server << ". Type help for commands.\n";
  while (!sh.quit_requested()) {
    char* raw = readline("[corral] ");
    if (raw == nullptr)
      break;
    std::string line(raw);
    free(raw);
    if (line.empty())
      continue;
    add_history(line.c_str());
    std::string err;
    auto words = corral::cli::tokenize(line, err);
    if (!err.empty()) {
      std::cerr << err << "\n";
      continue;
    }
    sh.execute(words);
    flush_command_output();
  }
  write_history(history.c_str());
  return 0;
}

} // namespace

int main(int argc, char** argv) {
  cli_options o;
  if (auto stop = parse_options(argc, argv, o))
    return *stop;
  std::unique_ptr<corral::client::blocking_client> client;
  try {
    client = std::make_unique<corral::client::blocking_client>(o.client);
  } catch (const std::exception& e) {
    std::cerr << "corral-cli: " << e.what() << "\n";
    return 2;
  }
  corral::cli::shell sh({[&](corral::request_body b) { return client->call(std::move(b)); }, [&] { client->close(); }},
                        g_command_out, std::cerr);
  g_shell = &sh;
  bool interactive = o.command.empty() && isatty(STDIN_FILENO);
  client->on_event([&](const corral::watch_event& e) {
    auto text = corral::cli::format_event(e);
    std::lock_guard<std::mutex> g(g_out);
    std::cout << text << std::flush;
    if (interactive)
      rl_forced_update_display();
  });
  auto& servers = o.client.servers;
  if (!client->wait_connected(std::chrono::milliseconds(o.client.session_timeout_ms))) {
    std::cerr << "cannot connect to " << servers[0] << (servers.size() > 1 ? " (or the other servers)" : "")
              << ": is corral-server running there? (start it with tools/dev.sh run)\n";
    return 1;
  }
  if (!o.command.empty()) {
    bool ok = sh.execute(o.command);
    flush_command_output();
    return ok ? 0 : 1;
  }
  return interactive ? run_interactive(sh, servers[0]) : run_script(sh);
}
