// Session timeouts, expiry buckets, resume and expiry's effects.
#include "db_fixture.hpp"

using namespace corral;
using corral::test::db_fixture;

class sessions : public db_fixture {};

TEST_F(sessions, timeout_is_clamped_between_2_and_20_ticks) {
  EXPECT_EQ(db->negotiate_timeout(1), 200);
  EXPECT_EQ(db->negotiate_timeout(1000), 1000);
  EXPECT_EQ(db->negotiate_timeout(1'000'000), 2000);
}

TEST_F(sessions, ids_are_unique_and_resume_checks_the_password) {
  auto a = open(), b = open();
  EXPECT_NE(a, b);
  EXPECT_GT(a, 0);
  EXPECT_EQ(db->check_resume(a, "pw"), error_code::ok);
  EXPECT_EQ(db->check_resume(a, "wrong"), error_code::session_expired);
  EXPECT_EQ(db->check_resume(12345, "pw"), error_code::session_expired);
}

TEST_F(sessions, expiry_removes_ephemerals_and_the_session) {
  auto s = open(1000);
  create(s, "/e", "", create_mode::ephemeral);
  now += 900;
  tick();
  EXPECT_TRUE(exists("/e"));
  now += 300;
  tick();
  EXPECT_FALSE(exists("/e"));
  EXPECT_EQ(db->check_resume(s, "pw"), error_code::session_expired);
}

TEST_F(sessions, touching_keeps_a_session_alive) {
  auto s = open(1000);
  create(s, "/e", "", create_mode::ephemeral);
  for (int i = 0; i < 10; ++i) {
    now += 500;
    EXPECT_TRUE(db->touch(s, now));
    tick();
  }
  EXPECT_TRUE(exists("/e"));
}

TEST_F(sessions, expiry_is_bucketed_by_tick) {
  session_table t(100);
  t.add(1, 1000, "", 1050); // expires in the bucket at 2100
  EXPECT_TRUE(t.take_expired(2099).empty());
  EXPECT_EQ(t.take_expired(2100), std::vector<session_id>{1});
  EXPECT_FALSE(t.touch(1, 2100)) << "an expiring session cannot be revived";
}
