// core/answer_order: where a session's answers go when some of its reads are answered beside the
// state machine. Bytes stand in for encoded answers ("R1", "E1" ...) so the order can be read off.
#include <gtest/gtest.h>

#include <string>

#include "core/answer_order.hpp"

using namespace corral;

namespace {

// Appends an answer made here, as the session actor does, and places it.
void answer_here(answer_order& order, answer_batch& out, uint64_t events_sent, const std::string& bytes) {
  auto from = out.bytes.size();
  out.bytes.insert(out.bytes.end(), bytes.begin(), bytes.end());
  order.answered_here(events_sent, out, from);
}

void event(answer_order& order, answer_batch& out, const std::string& bytes) {
  out.bytes.insert(out.bytes.end(), bytes.begin(), bytes.end());
  order.event_arrived(out);
}

void answer_from_state_machine(answer_order& order, answer_batch& out, const std::string& bytes) {
  order.answer_arrived(out);
  out.bytes.insert(out.bytes.end(), bytes.begin(), bytes.end());
  ++out.answers;
}

std::string text(const answer_batch& b) { return std::string(b.bytes.begin(), b.bytes.end()); }

} // namespace

TEST(answer_order, an_answer_that_saw_no_unseen_event_goes_at_once) {
  answer_order order;
  answer_batch out;
  answer_here(order, out, 0, "R1");
  answer_here(order, out, 0, "R2");
  EXPECT_EQ(text(out), "R1R2");
  EXPECT_EQ(out.answers, 2);
  EXPECT_EQ(order.waiting_answers(), 0u);
}

TEST(answer_order, an_answer_that_saw_a_change_waits_for_its_event_and_later_answers_wait_behind_it) {
  answer_order order;
  answer_batch out;
  answer_here(order, out, 0, "R1");
  answer_here(order, out, 1, "R2"); // the state machine had sent one event the session has not had
  answer_here(order, out, 0, "R3"); // sees nothing new, but must not overtake R2
  EXPECT_EQ(text(out), "R1");
  EXPECT_EQ(out.answers, 1);
  EXPECT_EQ(order.waiting_answers(), 2u);

  answer_batch next;
  event(order, next, "E1");
  EXPECT_EQ(text(next), "E1R2R3");
  EXPECT_EQ(next.answers, 2);
  EXPECT_EQ(order.waiting_answers(), 0u);
}

TEST(answer_order, answers_wait_for_every_event_they_saw) {
  answer_order order;
  answer_batch out;
  answer_here(order, out, 2, "R1");
  answer_batch first;
  event(order, first, "E1");
  EXPECT_EQ(text(first), "E1") << "released after one event of two";
  answer_batch second;
  event(order, second, "E2");
  EXPECT_EQ(text(second), "E2R1");
}

TEST(answer_order, reads_wait_for_the_state_machine_while_a_request_is_there_and_its_answer_releases_the_waiting) {
  answer_order order;
  answer_batch out;
  answer_here(order, out, 1, "R1"); // waits for event 1
  order.sent_to_state_machine();    // a write
  EXPECT_FALSE(order.may_answer_here());
  answer_batch turn;
  event(order, turn, "E1");
  answer_from_state_machine(order, turn, "W1");
  EXPECT_EQ(text(turn), "E1R1W1");
  EXPECT_TRUE(order.may_answer_here());
  EXPECT_EQ(order.at_state_machine(), 0u);
}

TEST(answer_order, an_answer_from_the_state_machine_never_overtakes_one_waiting_here) {
  answer_order order;
  answer_batch out;
  answer_here(order, out, 1, "R1");
  order.sent_to_state_machine();
  answer_batch turn;
  answer_from_state_machine(order, turn, "W1");
  EXPECT_EQ(text(turn), "R1W1");
}

TEST(answer_order, answers_waiting_for_a_replaced_connection_are_dropped) {
  answer_order order;
  answer_batch out;
  answer_here(order, out, 1, "R1");
  order.connection_replaced();
  answer_batch next;
  event(order, next, "E1");
  EXPECT_EQ(text(next), "E1");
  EXPECT_EQ(next.answers, 0);
}
