// The hashes and checksums (core/hash.hpp): SHA-1 for digest ACLs, base64, CRC32C for log records
// and frames, and hash64 for the tree digest. Known vectors, and a bitwise reference for CRC32C.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>

#include "core/hash.hpp"

using namespace corral;

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
  auto b64 = [](const std::string& s) { return base64_encode(reinterpret_cast<const uint8_t*>(s.data()), s.size()); };
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
