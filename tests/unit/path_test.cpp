// ZooKeeper's path rules (core/path.hpp).
#include <gtest/gtest.h>

#include "core/path.hpp"

using namespace corral;

namespace {
bool valid(const std::string& p, bool seq = false) { return validate_path(p, seq).code == error_code::ok; }
} // namespace

TEST(path, accepts_zookeeper_paths) {
  EXPECT_TRUE(valid("/"));
  EXPECT_TRUE(valid("/a"));
  EXPECT_TRUE(valid("/a/b-c_d.e"));
  EXPECT_TRUE(valid("/a/..b"));
  EXPECT_TRUE(valid("/\xC3\xA9t\xC3\xA9")); // "été" in UTF-8
}

TEST(path, rejects_malformed_paths_with_bad_arguments) {
  for (auto* p : {"", "a", "a/b", "/a/", "//", "/a//b", "/a/./b", "/a/..", "/.", "/a\x01", "/a\x7f"})
    EXPECT_EQ(validate_path(p).code, error_code::bad_arguments) << p;
  EXPECT_EQ(validate_path(std::string("/a\0b", 4)).code, error_code::bad_arguments);
  EXPECT_EQ(validate_path("/\xC2\x85").code, error_code::bad_arguments);     // U+0085
  EXPECT_EQ(validate_path("/\xEE\x80\x80").code, error_code::bad_arguments); // U+E000 private use
  EXPECT_EQ(validate_path("/\xFF").code, error_code::bad_arguments);         // not UTF-8
  EXPECT_NE(validate_path("/a/").detail.find("must not end with /"), std::string::npos);
}

TEST(path, sequential_allows_trailing_slash) {
  EXPECT_TRUE(valid("/a/", true));
  EXPECT_FALSE(valid("/a//", true));
}

TEST(path, parent_and_basename) {
  EXPECT_EQ(parent_of("/a/b"), "/a");
  EXPECT_EQ(parent_of("/a"), "/");
  EXPECT_EQ(parent_of("/"), "");
  EXPECT_EQ(basename_of("/a/b"), "b");
  EXPECT_EQ(join_path("/", "x"), "/x");
  EXPECT_EQ(join_path("/a", "x"), "/a/x");
  EXPECT_TRUE(is_under("/a/b", "/a"));
  EXPECT_FALSE(is_under("/ab", "/a"));
  EXPECT_TRUE(is_under("/a", "/"));
}

TEST(path, sequence_suffix_is_ten_digits) {
  EXPECT_EQ(sequence_suffix(0), "0000000000");
  EXPECT_EQ(sequence_suffix(42), "0000000042");
  EXPECT_EQ(sequence_suffix(-5), "-000000005");
}
