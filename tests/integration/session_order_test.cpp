// The client session against a server that answers out of order. Corral's server and ZooKeeper
// answer a session's requests in the order sent, and the session matches each answer to the oldest
// request in flight first; an answer to a later request must still reach the actor that asked it.
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "protocol/client_codec.hpp"
#include "protocol/frame.hpp"
#include "tests/integration/actor_env.hpp"
#include "tests/integration/harness.hpp"

using namespace corral;
using namespace corral::test;
using namespace std::chrono_literals;

namespace {

// One accepted connection of a hand-written server: reads client frames, writes server frames.
class fake_server {
public:
  fake_server() : port_(free_port()) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port_);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listen_fd_, 4) != 0)
      throw std::runtime_error("the fake server cannot listen on 127.0.0.1:" + std::to_string(port_));
  }
  ~fake_server() {
    if (fd_ >= 0)
      ::close(fd_);
    ::close(listen_fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }

  bool accept_within(int ms) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, ms) != 1)
      return false;
    fd_ = ::accept(listen_fd_, nullptr, nullptr);
    return fd_ >= 0;
  }

  // The next client frame, or nothing within `ms` (or on a bad frame).
  std::optional<protocol::client_message> next(int ms) {
    for (;;) {
      kj::ArrayPtr<const capnp::word> frame;
      auto st = reader_.next(frame);
      if (st == protocol::frame_reader::status::frame) {
        auto m = protocol::decode_client(frame);
        if (!m.ok())
          return std::nullopt;
        return std::move(*m);
      }
      if (st != protocol::frame_reader::status::need_more)
        return std::nullopt;
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, ms) != 1)
        return std::nullopt;
      char buf[4096];
      auto n = ::read(fd_, buf, sizeof buf);
      if (n <= 0)
        return std::nullopt;
      reader_.feed(buf, static_cast<size_t>(n));
    }
  }

  void send(const protocol::server_message& m) {
    std::vector<char> out;
    protocol::encode(m, out);
    ASSERT_EQ(::write(fd_, out.data(), out.size()), static_cast<ssize_t>(out.size()));
  }

private:
  uint16_t port_;
  int listen_fd_ = -1, fd_ = -1;
  protocol::frame_reader reader_{1 << 20};
};

response data_answer(int32_t xid, std::string data) {
  response r;
  r.xid = xid;
  r.zxid = 5;
  r.body = data_result{std::move(data), {}, false};
  return r;
}

} // namespace

TEST(client_session, an_answer_out_of_order_still_reaches_the_actor_that_asked) {
  fake_server server;
  actor_env env;
  auto session = env.session(server.address());
  ASSERT_TRUE(server.accept_within(5000));
  auto hello = server.next(5000);
  ASSERT_TRUE(hello && std::holds_alternative<protocol::connect_request>(*hello));
  protocol::connect_response welcome;
  welcome.timeout_ms = 4000;
  welcome.session = 0x77;
  welcome.password = std::string(16, 'p');
  server.send(welcome);

  caf::scoped_actor first{*env.sys}, second{*env.sys};
  first->send(session, request_body{get_data_request{"/first", false}});
  second->send(session, request_body{get_data_request{"/second", false}});
  std::map<std::string, int32_t> xid_of; // path -> xid
  while (xid_of.size() < 2) {
    auto m = server.next(5000);
    ASSERT_TRUE(m && std::holds_alternative<request>(*m)) << "the session sent no request";
    auto& r = std::get<request>(*m);
    if (auto* g = std::get_if<get_data_request>(&r.body))
      xid_of[g->path] = r.xid;
    else if (std::holds_alternative<ping_request>(r.body))
      server.send(response{r.xid, 5, error_code::ok, "", {}});
  }
  ASSERT_NE(xid_of["/first"], xid_of["/second"]);
  // The later request is answered first.
  server.send(data_answer(xid_of["/second"], "second's data"));
  server.send(data_answer(xid_of["/first"], "first's data"));

  auto data_for = [](caf::scoped_actor& self) {
    std::string got = "(no answer)";
    self->receive(
        [&](response& r) {
          auto* d = std::get_if<data_result>(&r.body);
          got = r.err != error_code::ok ? "(error)" : d ? d->data : "(not data)";
        },
        caf::after(5s) >> [] {});
    return got;
  };
  EXPECT_EQ(data_for(second), "second's data");
  EXPECT_EQ(data_for(first), "first's data");
}
