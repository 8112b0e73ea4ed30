// sorted_children against a std::set oracle: random inserts and erases in any order keep the
// children sorted, findable, and walkable by upper_bound (as snapshots walk them).
#include <gtest/gtest.h>

#include <random>
#include <set>
#include <string>

#include "core/sorted_children.hpp"

namespace {
struct item {
  std::string name;
};
} // namespace

TEST(sorted_children, behaves_like_a_sorted_set_across_block_splits) {
  corral::sorted_children<item> kids;
  std::set<std::string> oracle;
  std::mt19937 rng(7);
  for (int i = 0; i < 20000; ++i) {
    auto name = "k" + std::to_string(rng() % 5000);
    if (rng() % 3 == 0) {
      auto gone = kids.erase(name);
      EXPECT_EQ(gone != nullptr, oracle.erase(name) == 1) << name;
    } else if (!oracle.count(name)) {
      kids.insert(std::make_unique<item>(item{name}));
      oracle.insert(name);
    }
  }
  ASSERT_EQ(kids.size(), oracle.size());
  std::vector<std::string> walked;
  kids.for_each([&](const item& c) { walked.push_back(c.name); });
  EXPECT_EQ(walked, std::vector<std::string>(oracle.begin(), oracle.end()));
  // upper_bound walks the same order, from before the first name to past the last.
  std::vector<std::string> stepped;
  for (auto* c = kids.front(); c != nullptr; c = kids.upper_bound(c->name))
    stepped.push_back(c->name);
  EXPECT_EQ(stepped, walked);
  for (auto& n : oracle)
    EXPECT_NE(kids.find(n), nullptr);
  EXPECT_EQ(kids.find("k-none"), nullptr);
  EXPECT_EQ(kids.upper_bound("zzz"), nullptr);
  EXPECT_EQ(kids.upper_bound("")->name, *oracle.begin());
}

// A leaf's children cost one null pointer; the body comes with the first child and goes with the
// last, and an emptied set behaves like a new one.
TEST(sorted_children, an_emptied_set_is_empty_again_and_takes_new_children) {
  corral::sorted_children<item> kids;
  EXPECT_EQ(sizeof kids, sizeof(void*));
  EXPECT_TRUE(kids.empty());
  EXPECT_EQ(kids.front(), nullptr);
  EXPECT_EQ(kids.find("a"), nullptr);
  EXPECT_EQ(kids.upper_bound("a"), nullptr);
  EXPECT_EQ(kids.erase("a"), nullptr);
  kids.insert(std::make_unique<item>(item{"b"}));
  kids.insert(std::make_unique<item>(item{"a"}));
  EXPECT_EQ(kids.size(), 2u);
  EXPECT_NE(kids.erase("a"), nullptr);
  EXPECT_NE(kids.erase("b"), nullptr);
  EXPECT_TRUE(kids.empty());
  EXPECT_EQ(kids.size(), 0u);
  EXPECT_EQ(kids.front(), nullptr);
  kids.insert(std::make_unique<item>(item{"c"}));
  ASSERT_NE(kids.front(), nullptr);
  EXPECT_EQ(kids.front()->name, "c");
  EXPECT_EQ(kids.upper_bound("b")->name, "c");
}
