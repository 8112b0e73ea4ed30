// How tests pick the ports of the servers they start (tools/torture/processes.hpp): outside the kernel's
// ephemeral range, never twice, and held against every other test process until this one ends.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstring>
#include <set>
#include <string>

#include "tools/torture/processes.hpp"

namespace {

// Whether another process could claim `port` now (binds the same abstract name the picker uses).
bool claimable_elsewhere(uint16_t port) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  auto name = "corral-test-port-" + std::to_string(port);
  std::memcpy(addr.sun_path + 1, name.data(), name.size());
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr),
                   static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size())) == 0;
  ::close(fd);
  return ok;
}

bool tcp_bindable(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

} // namespace

TEST(test_ports, are_outside_the_ephemeral_range_distinct_and_held_for_the_process) {
  std::set<uint16_t> seen;
  for (int i = 0; i < 50; ++i) {
    auto port = corral::torture::free_port();
    auto [low, high] = corral::torture::ephemeral_range();
    EXPECT_TRUE(port < low || port > high) << "an outgoing connection could land on " << port;
    EXPECT_GE(port, 1024);
    EXPECT_TRUE(seen.insert(port).second) << port << " handed out twice";
    EXPECT_FALSE(claimable_elsewhere(port)) << port << " is not held against other test processes";
    EXPECT_TRUE(tcp_bindable(port)) << port << " is held by a TCP socket: a server could not bind it";
  }
}
