// What the harness tools (corral-failover, corral-torture) need to run servers as child processes on
// 127.0.0.1: free ports, four-letter-word probes, starting a server binary with its output to a file,
// and waiting. Plain POSIX; no CAF. For tools only: the integration tests have their own harness
// (tests/integration/harness.hpp) with the same ideas and GoogleTest's failure reporting.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace corral::torture {

// A port on 127.0.0.1 for a server this process starts: free when picked, claimed (claim_port) so
// that no process picking ports here gets it again until this one exits, and outside the kernel's
// ephemeral range (below it, as a rule) so that no outgoing connection lands on it while the server
// restarts. Something else on the machine can still bind it first: callers retry with new ports.
uint16_t free_port();

// Whether a TCP socket could bind 127.0.0.1:port now.
bool port_bindable(uint16_t port);

// Claims `port` for this process's life against every process that claims ports here (this one
// included); false if it is claimed already.
bool claim_port(uint16_t port);

// The ports the kernel hands to outgoing connections and to bind(port 0), first and last
// (/proc/sys/net/ipv4/ip_local_port_range; Linux's default 32768-60999 if it cannot be read).
std::pair<uint16_t, uint16_t> ephemeral_range();

// The server's answer to a four-letter word on its ZooKeeper port ("" if none within `timeout`).
std::string four_letter_word(uint16_t port, const std::string& word,
                             std::chrono::milliseconds timeout = std::chrono::milliseconds(200));

// "leader", "follower", "observer", ... from srvr's "Mode: " line; "" if it does not answer.
std::string server_mode(uint16_t zk_port);

// Starts `args[0]` with `args`, stdout and stderr to /dev/null (servers log to their --log-file), and
// "NAME=value" entries of `env` added to its environment. Returns the child's pid; throws if fork
// fails. The child dies with the harness (PR_SET_PDEATHSIG). With `own_group` it leads a process group
// of its own (kill(-pid) then reaches what it starts, such as a JVM under a script).
pid_t spawn(const std::vector<std::string>& args, const std::vector<std::string>& env = {}, bool own_group = false);

// SIGKILL and reap (a pid <= 0 is ignored).
void kill_and_reap(pid_t pid);

// If the child has exited: it is reaped, and this is its wait status (see WIFEXITED and friends).
std::optional<int> exit_status(pid_t pid);

// "exit code 70", "signal 9": a wait status in words.
std::string describe_status(int status);

// Polls `pred` every `every` until it holds or `timeout` passes; the last answer.
template <class Pred>
bool wait_for(Pred pred, std::chrono::milliseconds timeout,
              std::chrono::milliseconds every = std::chrono::milliseconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred())
      return true;
    std::this_thread::sleep_for(every);
  }
  return pred();
}

} // namespace corral::torture
