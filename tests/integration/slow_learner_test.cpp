// A learner that reads slower than the leader writes cannot grow the leader's memory: past
// corral.peer-max-unsent-bytes the leader drops it, and it resyncs (DIFF or SNAP) when it can keep
// up again. The observer here reaches the voters through proxies that can be throttled.
#include <gtest/gtest.h>

#include "actors/client/blocking_client.hpp"
#include "tests/integration/harness.hpp"

namespace {

using namespace corral;
using namespace std::chrono_literals;

std::string member(int id, uint16_t client, uint16_t quorum, bool observer = false) {
  return "\"" + std::to_string(id) + "=127.0.0.1:" + std::to_string(client) + ":" + std::to_string(quorum) +
         (observer ? ":observer" : "") + "\"";
}

std::vector<std::string> args(int id, const std::string& ensemble) {
  // A 500 ms tick gives a throttled learner 5 s of silence before it counts as gone: the test is
  // about the unsent limit (1 MiB here, behind for 2 s), which a burst of writes reaches first.
  return {"--corral.server-id=" + std::to_string(id), "--corral.ensemble=" + ensemble, "--corral.zab-tick-ms=500",
          "--corral.peer-max-unsent-bytes=1048576",
          // The writer idles through the burst; on a loaded machine (ctest -j2) its pings can wait
          // longer than the default 2 s session timeout allows.
          "--corral.max-session-timeout-ms=10000"};
}

bool mode_is(const test::server_process& s, const std::string& mode) {
  return test::four_letter_word(static_cast<uint16_t>(s.zk_port()), "srvr").find("Mode: " + mode) != std::string::npos;
}

} // namespace

TEST(slow_learner, is_dropped_past_the_limit_and_resyncs_when_it_keeps_up) {
  uint16_t c1 = test::free_port(), q1 = test::free_port(), c2 = test::free_port(), q2 = test::free_port(),
           c3 = test::free_port(), q3 = test::free_port();
  test::tcp_proxy to1(q1), to2(q2);
  // The voters know the real ports; the observer reaches them through the proxies.
  auto voters_view = "[" + member(1, c1, q1) + "," + member(2, c2, q2) + "," + member(3, c3, q3, true) + "]";
  auto observer_view =
      "[" + member(1, c1, to1.port()) + "," + member(2, c2, to2.port()) + "," + member(3, c3, q3, true) + "]";
  test::server_process s1(args(1, voters_view)), s2(args(2, voters_view)), s3(args(3, observer_view));
  ASSERT_TRUE(test::eventually([&] { return mode_is(s3, "observer"); }, 20s));
  auto& leader = mode_is(s1, "leader") ? s1 : s2;

  to1.throttle(32 * 1024);
  to2.throttle(32 * 1024);
  client::client_options o;
  o.servers = {leader.address()};
  client::blocking_client writer(o);
  ASSERT_TRUE(writer.create("/slow", ""));
  // 32 MB of pipelined writes for an observer that takes 32 KB/s (the kernel's socket buffers on
  // both sides of the proxy take the first several MB).
  std::string value(16 * 1024, 'v');
  test::raw_jute_client burst(static_cast<uint16_t>(leader.zk_port()));
  burst.handshake();
  for (int32_t i = 0; i < 2000; ++i)
    burst.send_request({i + 1, set_data_request{"/slow", value + std::to_string(i), -1}}, {op_code::set_data, {}});
  for (int i = 0; i < 2000; ++i) {
    auto p = burst.next(10000);
    ASSERT_TRUE(p) << "no answer to write " << i;
    ASSERT_EQ(protocol::jute::decode_reply_header(*p)->err, error_code::ok);
  }
  // The leader checks a peer's backlog when it sends it something: keep a trickle of small writes
  // going, or a burst that ended within the grace leaves the check to the (later) silence limit.
  ASSERT_TRUE(writer.create("/trickle", ""));
  EXPECT_TRUE(test::eventually(
      [&] {
        writer.set("/trickle", "t");
        return leader.log().find("does not read fast enough") != std::string::npos;
      },
      15s))
      << leader.log();

  to1.throttle(0);
  to2.throttle(0);
  ASSERT_TRUE(test::eventually([&] { return mode_is(s3, "observer"); }, 20s));
  o.servers = {s3.address()};
  client::blocking_client reader(o);
  EXPECT_TRUE(test::eventually(
      [&] {
        auto got = reader.get("/slow");
        return got && got->data == value + "1999";
      },
      20s));
}
