// The lock recipes' ordering (core/lock_order), against names as Curator 5.x makes them.
#include <gtest/gtest.h>

#include "core/lock_order.hpp"

using namespace corral::lock_order;
using names = std::vector<std::string>;

TEST(lock_order, sequence_is_the_ten_digit_suffix) {
  EXPECT_EQ(sequence_of("lock-0000000042"), 42);
  EXPECT_EQ(sequence_of("_c_9f0a1b2c-3d4e-5f60-7182-93a4b5c6d7e8-lock-0000000007"), 7);
  EXPECT_EQ(sequence_of("lock-42"), -1);
  EXPECT_EQ(sequence_of("config"), -1);
}

TEST(lock_order, nodes_sort_by_sequence_whatever_their_protection_prefix) {
  names children{"_c_bbbb-lock-0000000003", "lock-0000000001", "_c_aaaa-lock-0000000002", "_c_cccc-lock-0000000000"};
  EXPECT_EQ(sorted(children, {mutex_name}), (names{"_c_cccc-lock-0000000000", "lock-0000000001",
                                                   "_c_aaaa-lock-0000000002", "_c_bbbb-lock-0000000003"}));
  // Read and write nodes share one order.
  names rw{"_c_x-__WRIT__0000000002", "_c_y-__READ__0000000000", "_c_z-__READ__0000000001"};
  EXPECT_EQ(sorted(rw, {read_name, write_name}),
            (names{"_c_y-__READ__0000000000", "_c_z-__READ__0000000001", "_c_x-__WRIT__0000000002"}));
}

TEST(lock_order, a_mutex_waiter_watches_only_its_predecessor) {
  names s{"lock-0000000000", "lock-0000000001", "lock-0000000002"};
  auto first = exclusive(s, "lock-0000000000");
  EXPECT_TRUE(first.holds);
  auto third = exclusive(s, "lock-0000000002");
  EXPECT_FALSE(third.holds);
  EXPECT_EQ(third.watch, "lock-0000000001");
  auto gone = exclusive(s, "lock-0000000009");
  EXPECT_TRUE(gone.gone);
  EXPECT_FALSE(gone.holds);
}

TEST(lock_order, a_semaphore_lets_k_hold_and_the_rest_watch_k_back) {
  names s{"lock-0000000000", "lock-0000000001", "lock-0000000002", "lock-0000000003"};
  EXPECT_TRUE(exclusive(s, "lock-0000000001", 2).holds);
  auto fourth = exclusive(s, "lock-0000000003", 2);
  EXPECT_FALSE(fourth.holds);
  EXPECT_EQ(fourth.watch, "lock-0000000001");
}

TEST(lock_order, readers_wait_only_for_earlier_writers) {
  names s{"_c_a-__READ__0000000000", "_c_b-__READ__0000000001", "_c_c-__WRIT__0000000002", "_c_d-__READ__0000000003",
          "_c_e-__WRIT__0000000004"};
  EXPECT_TRUE(read_lock(s, "_c_a-__READ__0000000000").holds);
  EXPECT_TRUE(read_lock(s, "_c_b-__READ__0000000001").holds); // many readers at once
  auto late = read_lock(s, "_c_d-__READ__0000000003");
  EXPECT_FALSE(late.holds);
  EXPECT_EQ(late.watch, "_c_c-__WRIT__0000000002"); // the first writer before it, as Curator
  // A writer waits for every earlier node, readers included.
  auto writer = exclusive(s, "_c_c-__WRIT__0000000002");
  EXPECT_FALSE(writer.holds);
  EXPECT_EQ(writer.watch, "_c_b-__READ__0000000001");
}

TEST(lock_order, a_protected_create_is_found_again) {
  names children{"_c_1111-lock-0000000000", "_c_2222-lock-0000000001"};
  EXPECT_EQ(protected_prefix("2222"), "_c_2222-");
  EXPECT_EQ(find_protected(children, "2222"), std::optional<std::string>("_c_2222-lock-0000000001"));
  EXPECT_FALSE(find_protected(children, "3333"));
}

TEST(lock_order, kazoo_nodes_take_their_place_by_sequence_and_its_write_nodes_block_readers) {
  // kazoo names its nodes "<uuid hex>__lock__<seq>" (Lock, WriteLock) and "<uuid hex>__rlock__<seq>"
  // (ReadLock). Sorting them by their whole name would order them by the random uuid.
  names children{"ffff0000__lock__0000000003", "_c_aaaa-lock-0000000002", "0000ffff__lock__0000000001"};
  EXPECT_EQ(sorted(children, {mutex_name}),
            (names{"0000ffff__lock__0000000001", "_c_aaaa-lock-0000000002", "ffff0000__lock__0000000003"}));
  names rw{"aaaa__rlock__0000000000", "_c_bbbb-__READ__0000000001", "cccc__lock__0000000002",
           "_c_dddd-__READ__0000000003"};
  auto order = sorted(rw, {read_name, write_name});
  ASSERT_EQ(order, rw);
  EXPECT_TRUE(read_lock(order, "_c_bbbb-__READ__0000000001").holds) << "kazoo's read node does not block";
  auto blocked = read_lock(order, "_c_dddd-__READ__0000000003");
  EXPECT_FALSE(blocked.holds);
  EXPECT_EQ(blocked.watch, "cccc__lock__0000000002") << "kazoo's write node does";
  EXPECT_TRUE(is_write_node("_c_x-__WRIT__0000000009"));
  EXPECT_FALSE(is_write_node("aaaa__rlock__0000000000"));
  EXPECT_FALSE(is_write_node("_c_x-lock-0000000009"));
}
