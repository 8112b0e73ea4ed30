// Curator's queue item encoding (core/queue_items): the bytes Curator writes, round trips, and a
// decoder that refuses every malformed input without reading past it.
#include <gtest/gtest.h>

#include <random>

#include "core/queue_items.hpp"

using namespace corral;
using strings = std::vector<std::string>;

TEST(queue_items, one_item_is_the_bytes_curator_writes) {
  // ItemSerializer.serialize of one item "hi": version, ITEM, length 2, "hi", EOF.
  std::string curator("\x00\x01\x00\x01\x01\x00\x00\x00\x02hi\x02", 12);
  EXPECT_EQ(queue_items::encode({"hi"}), curator);
  EXPECT_EQ(queue_items::decode(curator), (strings{"hi"}));
}

TEST(queue_items, several_and_empty_items_round_trip) {
  strings items{"", "a", std::string(70000, 'x'), std::string("\0\x02\x01", 3)};
  EXPECT_EQ(queue_items::decode(queue_items::encode(items)), items);
  EXPECT_EQ(queue_items::decode(queue_items::encode({})), strings{});
}

TEST(queue_items, malformed_bytes_are_refused) {
  auto good = queue_items::encode({"abc"});
  EXPECT_FALSE(queue_items::decode(""));
  EXPECT_FALSE(queue_items::decode(good.substr(0, good.size() - 1))) << "no end marker";
  EXPECT_FALSE(queue_items::decode(good + "x")) << "bytes after the end marker";
  auto wrong_version = good;
  wrong_version[3] = 0x02;
  EXPECT_FALSE(queue_items::decode(wrong_version));
  auto bad_opcode = good;
  bad_opcode[4] = 0x07;
  EXPECT_FALSE(queue_items::decode(bad_opcode));
  auto too_long = good;
  too_long[8] = 0x10; // a length past the end
  EXPECT_FALSE(queue_items::decode(too_long));
  auto negative = good;
  negative[5] = char(0x80);
  EXPECT_FALSE(queue_items::decode(negative));
  EXPECT_FALSE(queue_items::decode(queue_items::encode({"a", "b", "c"}), 2)) << "more items than allowed";
}

TEST(queue_items, random_bytes_never_crash_the_decoder) {
  std::mt19937 rng(7);
  auto good = queue_items::encode({"one", "two"});
  for (int i = 0; i < 20000; ++i) {
    std::string bytes = good;
    int flips = 1 + rng() % 4;
    for (int f = 0; f < flips; ++f)
      bytes[rng() % bytes.size()] = static_cast<char>(rng());
    if (rng() % 3 == 0)
      bytes.resize(rng() % (bytes.size() + 1));
    auto out = queue_items::decode(bytes);
    if (out) { // whatever it accepts must be what encode would have written
      EXPECT_EQ(queue_items::encode(*out), bytes);
    }
  }
}

TEST(queue_items, only_queue_nodes_in_name_order) {
  EXPECT_EQ(queue_items::items_in_order({"queue-0000000010", "lock", "queue-0000000002", "queue-0000000003"}),
            (strings{"queue-0000000002", "queue-0000000003", "queue-0000000010"}));
}
