#include <gtest/gtest.h>

#include "core/hash.hpp"
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
  EXPECT_EQ(validate_path("/\xC2\x85").code, error_code::bad_arguments);   // U+0085
  EXPECT_EQ(validate_path("/\xEE\x80\x80").code, error_code::bad_arguments); // U+E000 private use
  EXPECT_EQ(validate_path("/\xFF").code, error_code::bad_arguments);       // not UTF-8
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

TEST(hash, sha1_known_vectors) {
  auto hex = [](std::array<uint8_t, 20> d) {
    std::string s;
    char buf[3];
    for (auto b : d) {
      snprintf(buf, sizeof buf, "%02x", b);
      s += buf;
    }
    return s;
  };
  EXPECT_EQ(hex(sha1("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
  EXPECT_EQ(hex(sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
  EXPECT_EQ(hex(sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
  EXPECT_EQ(hex(sha1(std::string(1000, 'a'))), "291e9a6c66994949b57ba5e650361e98fc36b1ba");
}

TEST(hash, base64_and_crc32c) {
  auto b64 = [](const std::string& s) {
    return base64_encode(reinterpret_cast<const uint8_t*>(s.data()), s.size());
  };
  EXPECT_EQ(b64(""), "");
  EXPECT_EQ(b64("f"), "Zg==");
  EXPECT_EQ(b64("fo"), "Zm8=");
  EXPECT_EQ(b64("foobar"), "Zm9vYmFy");
  EXPECT_EQ(crc32c("123456789", 9), 0xE3069283u);
}

TEST(hash, crc32c_matches_the_bitwise_definition_at_every_length_and_when_chained) {
  auto reference = [](const std::string& s) {
    uint32_t c = ~0u;
    for (unsigned char b : s) {
      c ^= b;
      for (int k = 0; k < 8; ++k)
        c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    }
    return ~c;
  };
  std::string s;
  for (int len = 0; len < 70; ++len) {
    EXPECT_EQ(crc32c(s.data(), s.size()), reference(s)) << len;
    auto half = s.size() / 2;
    EXPECT_EQ(crc32c(s.data() + half, s.size() - half, crc32c(s.data(), half)), reference(s)) << len;
    s += static_cast<char>(len * 37 + 11);
  }
}

TEST(hash, hash64_depends_on_every_byte_and_the_seed) {
  std::string a(40, 'x');
  auto base = hash64(a.data(), a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    auto b = a;
    b[i] = 'y';
    EXPECT_NE(hash64(b.data(), b.size()), base) << i;
  }
  EXPECT_NE(hash64(a.data(), a.size(), 1), base);
  EXPECT_NE(hash64(a.data(), 39), base);
}
