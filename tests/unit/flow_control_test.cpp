// Backpressure bookkeeping (core/flow_control): when a connection must stop being read, when it may
// read again, and that nothing is left paused for good.
#include <algorithm>

#include <gtest/gtest.h>

#include "core/flow_control.hpp"

using namespace corral;
using ids = std::vector<flow_control::conn_id>;

namespace {

flow_limits small() {
  flow_limits l;
  l.global_outstanding = 100;
  l.max_in_flight = 20;
  l.max_in_flight_bytes = 1000;
  l.pause_unsent = 64 * 1024;
  l.max_unsent = 1 << 20;
  return l;
}

// Takes requests from `c` until it may not read; returns how many.
int fill(flow_control& f, flow_control::conn_id c, uint64_t bytes = 10) {
  int n = 0;
  while (f.may_read(c) && n < 100000) {
    f.took(c, bytes);
    ++n;
  }
  return n;
}

} // namespace

TEST(flow_control, a_new_connection_starts_with_a_small_window_that_grows_with_small_answers) {
  flow_control f(small());
  f.opened(1);
  EXPECT_EQ(fill(f, 1), 8); // 64 KiB / 64 KiB assumed per answer, at least 8
  f.paused(1);
  // Small answers: the window opens up to max_in_flight.
  for (int round = 0; round < 40; ++round) {
    f.answered(1, static_cast<int>(f.outstanding(1)), f.outstanding(1) * 50);
    f.waiting(1, 0);
    fill(f, 1);
  }
  EXPECT_EQ(f.outstanding(1), 20u);
}

TEST(flow_control, big_answers_keep_the_window_at_what_pause_unsent_holds) {
  flow_limits l = small();
  l.max_in_flight = 1000;
  flow_control f(l);
  f.opened(1);
  fill(f, 1);
  // 16 KiB answers: 64 KiB / 16 KiB = 4, but never below 8.
  for (int i = 0; i < 30; ++i) {
    f.answered(1, static_cast<int>(f.outstanding(1)), f.outstanding(1) * 16 * 1024);
    f.waiting(1, 0);
    fill(f, 1);
  }
  EXPECT_EQ(f.outstanding(1), 8u);
}

TEST(flow_control, a_client_that_does_not_read_is_paused_and_resumed_when_it_catches_up) {
  flow_control f(small());
  f.opened(1);
  f.took(1, 10);
  f.answered(1, 1, 70 * 1024); // more than pause_unsent waits to be sent
  EXPECT_FALSE(f.may_read(1));
  f.paused(1);
  EXPECT_TRUE(f.waiting(1, 40 * 1024).empty()); // not yet under half
  EXPECT_EQ(f.waiting(1, 10 * 1024), ids{1});
  EXPECT_FALSE(f.is_paused(1));
  EXPECT_TRUE(f.may_read(1));
}

TEST(flow_control, a_client_that_never_reads_is_dropped_past_max_unsent) {
  flow_control f(small());
  f.opened(1);
  f.answered(1, 0, 1 << 20); // events, answers to nothing
  EXPECT_FALSE(f.over_output_limit(1));
  f.answered(1, 0, 1);
  EXPECT_TRUE(f.over_output_limit(1));
}

TEST(flow_control, big_requests_pause_at_max_in_flight_bytes) {
  flow_control f(small());
  f.opened(1);
  EXPECT_EQ(fill(f, 1, 400), 3); // 400, 800, then 1200 >= 1000
  f.paused(1);
  EXPECT_TRUE(f.answered(1, 1, 10).empty()); // 800 left: not under half
  EXPECT_EQ(f.answered(1, 1, 10), ids{1});   // 400 left
}

TEST(flow_control, the_global_limit_pauses_everyone_and_the_end_resumes_everyone) {
  flow_limits l = small();
  l.global_outstanding = 10;
  flow_control f(l);
  for (flow_control::conn_id c = 1; c <= 3; ++c)
    f.opened(c);
  fill(f, 1); // 8
  EXPECT_EQ(fill(f, 2), 2);
  EXPECT_TRUE(f.throttled());
  EXPECT_EQ(f.throttle_waits(), 1u);
  for (flow_control::conn_id c = 1; c <= 3; ++c) {
    EXPECT_FALSE(f.may_read(c));
    f.paused(c);
  }
  // Under three quarters: every paused connection that is itself well under may read.
  EXPECT_TRUE(f.answered(1, 2, 20).empty()); // 8 outstanding: not under 7
  auto resumed = f.answered(1, 2, 20);       // 6
  std::sort(resumed.begin(), resumed.end());
  EXPECT_EQ(resumed, (ids{2, 3})); // 1 still has 4 of its window of 8 unanswered: not under half
  EXPECT_FALSE(f.throttled());
}

// Each end of the throttle resumes the paused connections starting after the one that went first
// the last time: under a limit that is hit again at once, no connection is always last.
TEST(flow_control, the_order_in_which_throttled_connections_go_on_turns) {
  flow_limits l = small();
  l.global_outstanding = 8;
  flow_control f(l);
  for (flow_control::conn_id c = 1; c <= 4; ++c)
    f.opened(c);
  std::vector<flow_control::conn_id> firsts;
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 8; ++i) // the limit: everyone pauses
      f.took(1 + static_cast<flow_control::conn_id>(i % 4), 10);
    ASSERT_TRUE(f.throttled());
    for (flow_control::conn_id c = 1; c <= 4; ++c)
      f.paused(c);
    ids resumed;
    for (flow_control::conn_id c = 1; c <= 4 && resumed.empty(); ++c)
      for (int i = 0; i < 2 && resumed.empty(); ++i)
        resumed = f.answered(c, 1, 10);
    ASSERT_EQ(resumed.size(), 4u) << "round " << round;
    firsts.push_back(resumed.front());
    for (flow_control::conn_id c = 1; c <= 4; ++c) // the rest of this round's answers
      while (f.outstanding(c) > 0)
        f.answered(c, 1, 10);
  }
  EXPECT_EQ(firsts, (ids{1, 2, 3, 4, 1}));
}

TEST(flow_control, a_connection_that_closes_while_all_are_throttled_frees_the_others) {
  // The bug this guards against: its requests never get answered (it is gone), so only its
  // closing can end the throttle.
  flow_limits l = small();
  l.global_outstanding = 10;
  flow_control f(l);
  f.opened(1);
  f.opened(2);
  for (int i = 0; i < 10; ++i)
    f.took(1, 10);
  EXPECT_TRUE(f.throttled());
  f.paused(1);
  EXPECT_FALSE(f.may_read(2));
  f.paused(2);
  EXPECT_EQ(f.closed(1), ids{2});
  EXPECT_EQ(f.outstanding(), 0u);
  EXPECT_TRUE(f.may_read(2));
}

TEST(flow_control, unknown_and_closed_connections_are_harmless) {
  flow_control f(small());
  EXPECT_FALSE(f.may_read(7));
  f.took(7, 10);
  EXPECT_TRUE(f.answered(7, 1, 10).empty());
  EXPECT_TRUE(f.closed(7).empty());
  EXPECT_EQ(f.outstanding(), 0u);
}
