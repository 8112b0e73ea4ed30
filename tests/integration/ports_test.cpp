// How tests pick the ports of the servers they start (tools/torture/processes.hpp): outside the kernel's
// ephemeral range, never twice, and held against every other test process until this one ends.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <vector>

#include "tools/torture/processes.hpp"

using corral::torture::claim_port;
using corral::torture::free_port;

namespace {

// How many of `ports` a child process could claim (0 when this process holds them all).
int claimed_by_a_child(const std::vector<uint16_t>& ports) {
  pid_t pid = fork();
  if (pid == 0) {
    int n = 0;
    for (auto p : ports)
      n += claim_port(p) ? 1 : 0;
    _exit(n);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace

TEST(test_ports, are_outside_the_ephemeral_range_distinct_and_held_for_the_process) {
  auto [low, high] = corral::torture::ephemeral_range();
  std::set<uint16_t> seen;
  std::vector<uint16_t> ports;
  for (int i = 0; i < 50; ++i) {
    auto port = free_port();
    EXPECT_TRUE(port < low || port > high) << "an outgoing connection could land on " << port;
    EXPECT_GE(port, 1024);
    EXPECT_TRUE(seen.insert(port).second) << port << " handed out twice";
    EXPECT_TRUE(corral::torture::port_bindable(port)) << port << " is held by a TCP socket: a server could not bind it";
    ports.push_back(port);
  }
  EXPECT_EQ(claimed_by_a_child(ports), 0) << "another test process could take these ports";
  // The check itself can tell: a port nobody holds is one a child can claim.
  uint16_t unheld = 0;
  for (uint16_t p = 20000; p < 20100 && unheld == 0; ++p)
    if (!seen.count(p) && claimed_by_a_child({p}) == 1)
      unheld = p;
  EXPECT_NE(unheld, 0) << "no child could claim any port: the check above proves nothing";
}
