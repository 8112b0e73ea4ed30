// The register linearizability checker (tools/torture/linearizability.hpp) on hand-made histories
// that are and are not linearizable, and on random ones made from a known sequential execution.
#include <gtest/gtest.h>

#include <random>

#include "tools/torture/linearizability.hpp"

using namespace corral::torture;
using k = register_op::kind;

namespace {

register_op read(std::string v, int32_t version, int64_t from, int64_t to, int client = 1) {
  register_op op;
  op.what = k::read;
  op.value = std::move(v);
  op.version = version;
  op.invoked = from;
  op.completed = to;
  op.client = client;
  return op;
}

register_op write(std::string v, int32_t produced, int64_t from, int64_t to, int client = 1) {
  register_op op;
  op.what = k::write;
  op.value = std::move(v);
  op.version = produced;
  op.invoked = from;
  op.completed = to;
  op.client = client;
  return op;
}

register_op cas(int32_t expected, std::string v, outcome r, int64_t from, int64_t to, int client = 1) {
  register_op op;
  op.what = k::cas;
  op.value = std::move(v);
  op.expected_version = expected;
  op.version = r == outcome::ok ? expected + 1 : -1;
  op.result = r;
  op.invoked = from;
  op.completed = to;
  op.client = client;
  return op;
}

register_op unknown(register_op op) {
  op.result = outcome::unknown;
  op.version = -1;
  op.completed = 0;
  return op;
}

const register_state start{"0", 0};

bool linearizable(const std::vector<register_op>& h) {
  auto r = check_register(h, start);
  EXPECT_FALSE(r.gave_up);
  return r.linearizable;
}

} // namespace

TEST(linearizability, a_sequential_history_that_follows_the_model_is_linearizable) {
  EXPECT_TRUE(linearizable({write("a", 1, 0, 10), read("a", 1, 20, 30), cas(1, "b", outcome::ok, 40, 50),
                            read("b", 2, 60, 70), cas(1, "c", outcome::failed, 80, 90), read("b", 2, 100, 110)}));
  EXPECT_TRUE(linearizable({}));
}

TEST(linearizability, a_read_after_an_acknowledged_write_that_misses_it_is_a_lost_write) {
  EXPECT_FALSE(linearizable({write("a", 1, 0, 10), read("0", 0, 20, 30, 2)}));
  // The same read overlapping the write may go either way.
  EXPECT_TRUE(linearizable({write("a", 1, 0, 30), read("0", 0, 20, 40, 2)}));
  EXPECT_TRUE(linearizable({write("a", 1, 0, 30), read("a", 1, 20, 40, 2)}));
}

TEST(linearizability, reads_may_not_go_back_in_time) {
  // Two reads during a long write: once one saw the new value, a later one cannot see the old.
  EXPECT_TRUE(linearizable({write("a", 1, 0, 100), read("0", 0, 10, 20, 2), read("a", 1, 30, 40, 3)}));
  EXPECT_FALSE(linearizable({write("a", 1, 0, 100), read("a", 1, 10, 20, 2), read("0", 0, 30, 40, 3)}));
}

TEST(linearizability, two_compare_and_sets_on_one_version_cannot_both_succeed) {
  EXPECT_FALSE(linearizable({cas(0, "a", outcome::ok, 0, 50, 1), cas(0, "b", outcome::ok, 10, 60, 2)}));
  EXPECT_TRUE(linearizable({cas(0, "a", outcome::ok, 0, 50, 1), cas(0, "b", outcome::failed, 10, 60, 2)}));
}

TEST(linearizability, bad_version_is_a_claim_about_the_version_then) {
  EXPECT_FALSE(linearizable({cas(0, "a", outcome::failed, 0, 10)})) << "nothing changed the version";
  EXPECT_TRUE(linearizable({write("x", 1, 0, 30, 2), cas(0, "a", outcome::failed, 10, 20)}));
}

TEST(linearizability, versions_and_values_must_match_what_was_written) {
  EXPECT_FALSE(linearizable({write("a", 1, 0, 10), read("a", 2, 20, 30)}));
  EXPECT_FALSE(linearizable({write("a", 1, 0, 10), read("b", 1, 20, 30)})) << "nobody wrote b";
  EXPECT_FALSE(linearizable({write("a", 2, 0, 10)})) << "a write bumps the version by one";
}

TEST(linearizability, an_unknown_write_may_happen_late_or_never_but_only_once) {
  auto lost = unknown(write("a", 0, 0, 0));
  EXPECT_TRUE(linearizable({lost, read("0", 0, 20, 30)})) << "never";
  EXPECT_TRUE(linearizable({lost, read("a", 1, 20, 30)})) << "before the read";
  EXPECT_TRUE(linearizable({lost, read("0", 0, 20, 30), read("a", 1, 40, 50)})) << "long after its client gave up";
  EXPECT_FALSE(linearizable({lost, read("a", 1, 20, 30), read("0", 0, 40, 50)})) << "and it cannot be undone";
  EXPECT_FALSE(linearizable({read("a", 1, 0, 10), unknown(write("a", 0, 20, 0))})) << "not before it was sent";
}

TEST(linearizability, an_unknown_compare_and_set_applies_only_at_its_version) {
  auto maybe = unknown(cas(0, "a", outcome::ok, 0, 0));
  EXPECT_TRUE(linearizable({maybe, read("a", 1, 20, 30)}));
  EXPECT_TRUE(linearizable({maybe, write("b", 1, 20, 30, 2), read("b", 1, 40, 50)}));
  EXPECT_FALSE(linearizable({maybe, write("b", 1, 20, 30, 2), read("a", 2, 40, 50)}))
      << "after b the version is 1, so the cas on 0 cannot apply";
}

TEST(linearizability, the_explanation_names_the_operation_nothing_explains) {
  auto r = check_register({write("a", 1, 0, 10, 1), read("0", 0, 20, 30, 7)}, start);
  ASSERT_FALSE(r.linearizable);
  EXPECT_NE(r.explanation.find("client 7 read -> \"0\" version 0"), std::string::npos) << r.explanation;
}

TEST(linearizability, a_search_past_its_budget_says_it_gave_up) {
  std::vector<register_op> h;
  for (int i = 0; i < 30; ++i)
    h.push_back(unknown(write("w" + std::to_string(i), 0, i, 0, i)));
  h.push_back(read("nobody", 7, 100, 110));
  auto r = check_register(h, start, 1000);
  EXPECT_TRUE(r.gave_up);
  EXPECT_FALSE(r.linearizable);
}

namespace {

// A history from a sequential run: each operation takes effect at its own instant 10*i, and its
// client saw it invoked up to `spread` before and answered up to `spread` after. Some outcomes are
// made unknown (and then happened or not).
// `before` gets the state each operation found.
std::vector<register_op> random_history(std::mt19937& rng, int ops, int spread, std::vector<register_state>& before) {
  std::uniform_int_distribution<int> pick(0, 99), jitter(0, spread);
  register_state s = start;
  std::vector<register_op> h;
  for (int i = 0; i < ops; ++i) {
    before.resize(h.size() + 1, s);
    before[h.size()] = s;
    int64_t at = 10 * (i + 1);
    int64_t from = at - jitter(rng), to = at + jitter(rng);
    int p = pick(rng);
    bool lost = pick(rng) < 5;
    if (p < 40) {
      h.push_back(read(s.value, s.version, from, to, i % 5));
      continue;
    }
    std::string v = "v" + std::to_string(i);
    if (p < 60) {
      auto op = write(v, s.version + 1, from, to, i % 5);
      if (lost) {
        h.push_back(unknown(op));
        if (pick(rng) < 50)
          continue; // never happened
      } else {
        h.push_back(op);
      }
      s = {v, s.version + 1};
      continue;
    }
    int32_t expected = pick(rng) < 70 ? s.version : s.version - 1;
    bool applies = expected == s.version;
    auto op = cas(expected, v, applies ? outcome::ok : outcome::failed, from, to, i % 5);
    if (lost) {
      h.push_back(unknown(op));
      if (pick(rng) < 50)
        continue;
    } else {
      h.push_back(op);
    }
    if (applies)
      s = {v, s.version + 1};
  }
  return h;
}

} // namespace

TEST(linearizability, random_histories_from_a_sequential_run_pass_and_a_dropped_write_is_caught) {
  std::mt19937 rng(20261201);
  int caught = 0, tries = 0;
  for (int round = 0; round < 200; ++round) {
    std::vector<register_state> before;
    auto h = random_history(rng, 300, 25, before);
    auto r = check_register(h, start);
    ASSERT_TRUE(r.linearizable) << "round " << round << ": " << r.explanation;
    // Lose an acknowledged write: every read after it that saw it sees the state it replaced.
    for (size_t i = 0; i < h.size(); ++i) {
      if (h[i].what != k::write || h[i].result != outcome::ok)
        continue;
      bool changed = false;
      for (size_t j = i + 1; j < h.size(); ++j)
        if (h[j].what == k::read && h[j].value == h[i].value && h[j].invoked > h[i].completed) {
          h[j].version = before[i].version;
          h[j].value = before[i].value;
          changed = true;
        }
      if (changed) {
        ++tries;
        caught += check_register(h, start).linearizable ? 0 : 1;
        break;
      }
    }
  }
  EXPECT_GT(tries, 150);
  EXPECT_EQ(caught, tries);
}

TEST(linearizability, unknown_compare_and_sets_whose_version_another_operation_produced_cost_nothing) {
  std::vector<register_op> h;
  for (int i = 0; i < 40; ++i)
    h.push_back(unknown(cas(0, "lost" + std::to_string(i), outcome::ok, i, 0, i)));
  h.push_back(write("w", 1, 50, 60));
  h.push_back(read("w", 1, 70, 80));
  auto r = check_register(h, start, 10000);
  EXPECT_TRUE(r.linearizable) << (r.gave_up ? "gave up" : r.explanation);
  // Still caught: one of them did take effect, and a read saw it after the write's version.
  h.push_back(read("lost3", 2, 90, 100));
  r = check_register(h, start, 10000);
  EXPECT_FALSE(r.linearizable);
  EXPECT_FALSE(r.gave_up);
}
