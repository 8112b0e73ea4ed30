#include "tools/torture/processes.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <random>
#include <stdexcept>

namespace corral::torture {

bool port_bindable(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return false;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// A Unix socket bound to a name in the abstract namespace made from the port: the kernel lets one
// socket hold a name (a second claim fails, in this process too) and frees it when the process ends,
// however it ends, leaving no file behind.
bool claim_port(uint16_t port) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  auto name = "corral-test-port-" + std::to_string(port);
  std::memcpy(addr.sun_path + 1, name.data(), name.size()); // sun_path[0] == 0: abstract
  auto len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    ::close(fd);
    return false;
  }
  return true; // the descriptor stays open on purpose: it is the claim
}

std::pair<uint16_t, uint16_t> ephemeral_range() {
  int low = 32768, high = 60999;
  if (FILE* f = std::fopen("/proc/sys/net/ipv4/ip_local_port_range", "r")) {
    if (std::fscanf(f, "%d %d", &low, &high) != 2 || low < 1 || high > 65535 || low > high)
      low = 32768, high = 60999;
    std::fclose(f);
  }
  return {static_cast<uint16_t>(low), static_cast<uint16_t>(high)};
}

uint16_t free_port() {
  // Outside the ephemeral range, so that no outgoing connection (of this test or another running beside
  // it) can take the port while its server is down between a kill and a restart; and claimed, so that
  // no test process (this one included) picks it twice. The kernel's bind(port 0) gave ports from the
  // ephemeral range, and a server restarted on its old port sometimes found a client's connection
  // sitting on it.
  static std::mutex mutex;
  static std::mt19937 random(static_cast<unsigned>(::getpid()) ^
                             static_cast<unsigned>(std::chrono::steady_clock::now().time_since_epoch().count()));
  std::lock_guard<std::mutex> guard(mutex);
  // The larger of the two stretches outside the ephemeral range (usually 16384-32767).
  auto [low, high] = ephemeral_range();
  int below_from = std::max(1024, low / 2), below = low - below_from, above = 65535 - high;
  int bottom = below >= above ? below_from : high + 1, top = below >= above ? low - 1 : 65535;
  if (top - bottom < 100)
    throw std::runtime_error("the kernel's ephemeral port range (" + std::to_string(low) + "-" + std::to_string(high) +
                             ") leaves no room for test ports; narrow net.ipv4.ip_local_port_range");
  std::uniform_int_distribution<int> pick(bottom, top);
  for (int attempt = 0; attempt < 1000; ++attempt) {
    auto port = static_cast<uint16_t>(pick(random));
    if (port_bindable(port) && claim_port(port))
      return port;
  }
  throw std::runtime_error("no free port on 127.0.0.1 from " + std::to_string(bottom) + " to " + std::to_string(top) +
                           " after 1000 tries; are other tests holding them all?");
}

std::string four_letter_word(uint16_t port, const std::string& word, std::chrono::milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    return "";
  timeval limit{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::write(fd, word.data(), word.size()) == static_cast<ssize_t>(word.size())) {
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
      out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

std::string server_mode(uint16_t zk_port) {
  auto out = four_letter_word(zk_port, "srvr");
  auto at = out.find("Mode: ");
  return at == std::string::npos ? "" : out.substr(at + 6, out.find('\n', at) - at - 6);
}

pid_t spawn(const std::vector<std::string>& args, const std::vector<std::string>& env, bool own_group) {
  pid_t pid = ::fork();
  if (pid < 0)
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    if (own_group)
      ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL); // a harness that dies takes its servers with it
    int null = ::open("/dev/null", O_WRONLY);
    ::dup2(null, 1);
    ::dup2(null, 2);
    for (auto& e : env)
      ::putenv(const_cast<char*>(e.c_str()));
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  if (own_group)
    ::setpgid(pid, pid); // also here, so that it holds before the child gets to run
  return pid;
}

void kill_and_reap(pid_t pid) {
  if (pid <= 0)
    return;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

std::optional<int> exit_status(pid_t pid) {
  int status = 0;
  if (pid > 0 && ::waitpid(pid, &status, WNOHANG) == pid)
    return status;
  return std::nullopt;
}

std::string describe_status(int status) {
  if (WIFEXITED(status))
    return "exit code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

} // namespace corral::torture
