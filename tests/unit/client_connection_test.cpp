// The client session's connection (actors/client/connection.hpp) over a socketpair: what the
// session writes reaches the peer whole and in order, also when the peer stops reading for a while
// (the backlog), what the peer sends comes back through the data callback in order, the peer's close
// is reported once, and the session's close() is seen by the peer and reports nothing.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "actors/client/connection.hpp"

namespace corral::client {
namespace {

using namespace std::chrono_literals;

// What the connection's thread reported, waited on from the test's thread.
struct inbox {
  std::mutex mu;
  std::condition_variable cv;
  std::string bytes;
  std::vector<std::string> closed;

  connection::callbacks callbacks() {
    return {[this](std::vector<char>&& b) {
              std::lock_guard<std::mutex> g(mu);
              bytes.append(b.data(), b.size());
              cv.notify_all();
            },
            [this](const std::string& why) {
              std::lock_guard<std::mutex> g(mu);
              closed.push_back(why);
              cv.notify_all();
            }};
  }
  bool wait_for_bytes(size_t n) {
    std::unique_lock<std::mutex> g(mu);
    return cv.wait_for(g, 10s, [&] { return bytes.size() >= n; });
  }
  bool wait_closed() {
    std::unique_lock<std::mutex> g(mu);
    return cv.wait_for(g, 10s, [&] { return !closed.empty(); });
  }
};

// Reads from `fd` until `n` bytes came or the peer closed (bounded by a deadline).
std::string read_n(int fd, size_t n) {
  std::string got;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  char buf[65536];
  while (got.size() < n && std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0)
      continue;
    auto r = ::read(fd, buf, sizeof buf);
    if (r <= 0)
      break;
    got.append(buf, static_cast<size_t>(r));
  }
  return got;
}

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

struct pair_fixture : ::testing::Test {
  int fds[2] = {-1, -1};
  void SetUp() override { ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0); }
  void TearDown() override {
    if (fds[1] >= 0)
      ::close(fds[1]);
  }
};

using client_connection = pair_fixture;

TEST_F(client_connection, carries_bytes_both_ways_in_order) {
  inbox in;
  auto c = connection::start(fds[0], in.callbacks());
  ASSERT_NE(c, nullptr);
  ASSERT_TRUE(c->write("hello ", 6));
  ASSERT_TRUE(c->write("server", 6));
  EXPECT_EQ(read_n(fds[1], 12), "hello server");

  auto reply = pattern(300000); // several reads' worth
  std::thread peer([&] {
    size_t off = 0;
    while (off < reply.size()) {
      auto w = ::write(fds[1], reply.data() + off, std::min<size_t>(4000, reply.size() - off));
      ASSERT_GT(w, 0);
      off += static_cast<size_t>(w);
    }
  });
  ASSERT_TRUE(in.wait_for_bytes(reply.size()));
  peer.join();
  {
    std::lock_guard<std::mutex> g(in.mu);
    EXPECT_EQ(in.bytes, reply);
    EXPECT_TRUE(in.closed.empty());
  }
  c->close();
}

TEST_F(client_connection, holds_what_the_socket_will_not_take_and_sends_it_in_order_later) {
  inbox in;
  auto c = connection::start(fds[0], in.callbacks());
  ASSERT_NE(c, nullptr);
  // The peer reads nothing yet: far more than a socket buffer goes in, in pieces, none refused.
  auto all = pattern(4u << 20);
  for (size_t off = 0; off < all.size(); off += 10000)
    ASSERT_TRUE(c->write(all.data() + off, std::min<size_t>(10000, all.size() - off)));
  EXPECT_EQ(read_n(fds[1], all.size()), all);
  c->close();
}

TEST_F(client_connection, reports_the_peers_close_once) {
  inbox in;
  auto c = connection::start(fds[0], in.callbacks());
  ASSERT_NE(c, nullptr);
  ::close(fds[1]);
  fds[1] = -1;
  ASSERT_TRUE(in.wait_closed());
  std::this_thread::sleep_for(50ms);
  std::lock_guard<std::mutex> g(in.mu);
  ASSERT_EQ(in.closed.size(), 1u);
  EXPECT_NE(in.closed[0].find("closed by the server"), std::string::npos) << in.closed[0];
}

TEST_F(client_connection, close_is_seen_by_the_peer_and_reports_nothing) {
  inbox in;
  auto c = connection::start(fds[0], in.callbacks());
  ASSERT_NE(c, nullptr);
  c->close();
  c->close(); // idempotent
  EXPECT_FALSE(c->write("late", 4));
  char b;
  pollfd p{fds[1], POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  EXPECT_EQ(::read(fds[1], &b, 1), 0); // end of stream
  std::this_thread::sleep_for(50ms);
  std::lock_guard<std::mutex> g(in.mu);
  EXPECT_TRUE(in.closed.empty());
}

} // namespace
} // namespace corral::client
