// A client cannot exhaust the server: connections per address (corral.max-client-cnxns, ZooKeeper's
// maxClientCnxns), and a client that pipelines requests but never reads its answers is paused, not
// served into the server's memory, while other clients go on being served.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>
#include <sstream>

#include <gtest/gtest.h>

#include "actors/client/blocking_client.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace corral;
using namespace std::chrono_literals;

// True if the server closed `fd` (or reset it) within `timeout`.
bool closed_by_server(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0)
    return false;
  char b;
  return ::recv(fd, &b, 1, MSG_DONTWAIT | MSG_PEEK) <= 0;
}

// A four-letter word asked from 127.0.0.2 (127.0.0.1 may be at its connection limit).
std::string word_from_other_address(uint16_t port, const std::string& word) {
  int fd = test::connect_to(port, "127.0.0.2");
  timeval limit{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  std::string out;
  if (::write(fd, word.data(), word.size()) == 4) {
    char buf[4096];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;)
      out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

uint64_t mntr_value(const std::string& text, const std::string& key) {
  auto at = text.find(key + "\t");
  if (at == std::string::npos)
    return UINT64_MAX;
  return std::stoull(text.substr(at + key.size() + 1));
}

uint64_t resident_bytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stoull(line.substr(6)) * 1024;
  return 0;
}

client::client_options at(const std::string& address) {
  client::client_options o;
  o.servers = {address};
  return o;
}

} // namespace

TEST(client_limits, max_client_cnxns_refuses_beyond_the_limit_and_other_addresses_are_served) {
  test::server_process server({"--corral.four-letter-words=mntr"});
  auto port = static_cast<uint16_t>(server.zk_port());
  std::vector<int> fds;
  for (int i = 0; i < 2000; ++i)
    fds.push_back(test::connect_to(port, "127.0.0.1"));
  int refused = 0, open = 0;
  test::eventually([&] {
    refused = open = 0;
    for (int fd : fds)
      (closed_by_server(fd, 0ms) ? refused : open)++;
    return open == 60;
  });
  EXPECT_EQ(open, 60);
  EXPECT_EQ(refused, 1940);
  // Another address is not affected; the count of refusals is in mntr; the log says what to raise.
  auto mntr = word_from_other_address(port, "mntr");
  EXPECT_EQ(mntr_value(mntr, "zk_connection_rejected"), 1940u) << mntr;
  EXPECT_EQ(mntr_value(mntr, "zk_num_alive_connections"), 61u) << mntr; // 60 + the one asking
  EXPECT_NE(server.log().find("refusing connection from 127.0.0.1: 60 connections from this address are open "
                              "(corral.max-client-cnxns)"),
            std::string::npos);
  for (int fd : fds)
    ::close(fd);
  // Once they are gone, 127.0.0.1 is served again.
  ASSERT_TRUE(test::eventually(
      [&] { return mntr_value(word_from_other_address(port, "mntr"), "zk_num_alive_connections") == 1; }));
  test::raw_jute_client again(port);
  EXPECT_NE(again.handshake().session, 0);
}

TEST(client_limits, a_client_that_never_reads_is_paused_while_others_are_served) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "AddressSanitizer's own memory overhead makes the growth bound meaningless";
#endif
  // The flooding session must outlive the test: it sends no pings while it floods.
  test::server_process server({"--corral.four-letter-words=mntr", "--corral.max-session-timeout-ms=60000"});
  auto port = static_cast<uint16_t>(server.zk_port());
  client::blocking_client writer(at(server.address()));
  ASSERT_TRUE(writer.create("/big", std::string(100 * 1024, 'b')));
  auto rss_before = resident_bytes(server.pid());

  // The flood: getData requests of 100 KiB answers, sent without reading, until 1 GiB of requests
  // has gone or the server has stopped taking them for 2 s (at most 5 s: once the server has
  // stopped reading, the kernel's window probes still let a few bytes through now and then).
  test::raw_jute_client flood(port);
  flood.handshake(0, std::string(16, '\0'), 60000);
  int fd = flood.fd();
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  std::vector<char> batch;
  int32_t xid = 1;
  for (int i = 0; i < 1000; ++i)
    protocol::jute::encode_request({xid++, get_data_request{"/big", false}}, {op_code::get_data, {}}, batch);
  uint64_t sent = 0, requests = 0;
  auto stalled_since = std::chrono::steady_clock::now();
  auto flood_end = stalled_since + 5s;
  size_t off = 0;
  while (sent < (1ull << 30) && std::chrono::steady_clock::now() - stalled_since < 2s &&
         std::chrono::steady_clock::now() < flood_end) {
    auto n = ::send(fd, batch.data() + off, batch.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<uint64_t>(n);
      off += static_cast<size_t>(n);
      if (off == batch.size()) {
        off = 0;
        requests += 1000;
      }
      stalled_since = std::chrono::steady_clock::now();
      continue;
    }
    pollfd p{fd, POLLOUT, 0};
    ::poll(&p, 1, 100);
  }
  EXPECT_LT(sent, 64ull << 20) << "the server did not stop reading";

  // Meanwhile others are served at once, and the server holds a bounded amount for the flooder.
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(writer.set("/big", "small"));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 1s);
  auto grown = resident_bytes(server.pid()) - rss_before;
  // Measured 7-16 MiB; without the answer-size window the server held 1000 answers (100 MiB).
  EXPECT_LT(grown, 48ull << 20) << "the server grew by " << (grown >> 20) << " MiB for a client that does not read";
  std::cerr << "flood: " << (sent >> 20) << " MiB of requests accepted before the server paused; server grew by "
            << (grown >> 20) << " MiB\n";

  // The paused client was not dropped: once it reads, its answers come, in order (the batch of
  // xids 1..1000 was sent again and again).
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  for (int i = 0; i < 2000; ++i) {
    auto p = flood.next(5000);
    ASSERT_TRUE(p) << "answer " << i << " did not come";
    auto h = protocol::jute::decode_reply_header(*p);
    ASSERT_TRUE(h);
    ASSERT_EQ(h->xid, i % 1000 + 1);
  }
}

TEST(client_limits, outstanding_requests_return_to_zero) {
  test::server_process server({"--corral.four-letter-words=mntr"});
  auto port = static_cast<uint16_t>(server.zk_port());
  {
    test::raw_jute_client c(port);
    c.handshake();
    acl_list open{{perm::all, "world", "anyone"}};
    c.send_request({1, create_request{"/x", "d", open, create_mode::persistent}}, {op_code::create, {}});
    c.send_request({2, get_data_request{"/x", true}}, {op_code::get_data, {}});
    c.send_request({protocol::jute::ping_xid, ping_request{}}, {op_code::ping, {}});
    c.send_request({3, sync_request{"/x"}}, {op_code::sync, {}});
    c.send_request({4, set_data_request{"/x", "e", -1}}, {op_code::set_data, {}});
    c.send_request({5, delete_request{"/missing", -1}}, {op_code::remove, {}});
    int replies = 0;
    while (auto p = c.next(2000)) {
      auto h = protocol::jute::decode_reply_header(*p);
      if (h && h->xid != protocol::jute::notification_xid && ++replies == 6)
        break;
    }
    EXPECT_EQ(replies, 6);
  }
  EXPECT_TRUE(test::eventually(
      [&] { return mntr_value(test::four_letter_word(port, "mntr"), "zk_outstanding_requests") == 0; }));
}

// Pipelining clients held at the global limit over and over, each sending one request per packet
// as it gets an answer: every paused connection goes on, none is left waiting for seconds. (This
// form does not reproduce the stall that client_listener's hold_back removed, CAF 0.17 losing a
// trigger in the same turn of its event loop as a halt: that needed a server slowed by a large tree
// at 8 x 128 in flight, seen with tools/bench-compare.py. It fails if a paused connection is never
// resumed.)
TEST(client_limits, pipelining_clients_held_at_the_global_limit_are_never_left_stalled) {
  // Long sessions: a connection left waiting shows as a stall below, not as an expiry.
  test::server_process server({"--corral.global-outstanding-limit=50", "--corral.max-session-timeout-ms=60000"});
  auto port = static_cast<uint16_t>(server.zk_port());
  {
    client::blocking_client setup(at(server.address()));
    ASSERT_TRUE(setup.create("/p", "0"));
  }
  constexpr int clients = 8, window = 64, total = 2000;
  std::atomic<int> stalled{0};
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&] {
      test::raw_jute_client client(port);
      client.handshake(0, std::string(16, '\0'), 30000);
      int32_t sent = 0, answered = 0;
      auto send_one = [&] {
        ++sent;
        client.send_request({sent, set_data_request{"/p", "x", -1}}, {op_code::set_data, {}});
      };
      while (sent < window)
        send_one();
      while (answered < total) {
        auto p = client.next(5000);
        if (!p) {
          ++stalled;
          return;
        }
        if (protocol::jute::decode_reply_header(*p)->xid < 0)
          continue;
        ++answered;
        if (sent < total)
          send_one(); // one request per packet, as ZooKeeper's clients send them
      }
    });
  for (auto& t : threads)
    t.join();
  EXPECT_EQ(stalled.load(), 0) << "clients waited 5 s for an answer; the server says:\n" << server.log();
}

TEST(client_limits, the_global_outstanding_limit_throttles_and_every_request_is_answered) {
  test::server_process server({"--corral.four-letter-words=mntr", "--corral.global-outstanding-limit=10"});
  auto port = static_cast<uint16_t>(server.zk_port());
  {
    client::blocking_client setup(at(server.address()));
    ASSERT_TRUE(setup.create("/n", "0"));
  }
  // Five clients pipeline 50 writes each; one leaves without reading its answers.
  std::vector<std::unique_ptr<test::raw_jute_client>> clients;
  for (int i = 0; i < 5; ++i) {
    clients.push_back(std::make_unique<test::raw_jute_client>(port));
    clients.back()->handshake();
    std::vector<char> out;
    for (int32_t xid = 1; xid <= 50; ++xid)
      protocol::jute::encode_request({xid, set_data_request{"/n", "x", -1}}, {op_code::set_data, {}}, out);
    ASSERT_EQ(::send(clients.back()->fd(), out.data(), out.size(), MSG_NOSIGNAL), static_cast<ssize_t>(out.size()));
  }
  clients.back().reset();
  for (size_t i = 0; i + 1 < clients.size(); ++i) {
    for (int32_t xid = 1; xid <= 50; ++xid) {
      auto p = clients[i]->next(5000);
      ASSERT_TRUE(p) << "client " << i << " got no answer to " << xid;
      ASSERT_EQ(protocol::jute::decode_reply_header(*p)->xid, xid);
    }
  }
  auto mntr = test::four_letter_word(port, "mntr");
  EXPECT_GT(mntr_value(mntr, "zk_request_throttle_wait_count"), 0u) << mntr;
  EXPECT_TRUE(test::eventually(
      [&] { return mntr_value(test::four_letter_word(port, "mntr"), "zk_outstanding_requests") == 0; }));
}
