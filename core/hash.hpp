// Small, dependency-free digests and encodings: SHA-1 (ZooKeeper's digest auth scheme is
// base64(sha1("user:password"))), base64, and CRC32C (log record checksums). Pure functions.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace corral {

std::array<uint8_t, 20> sha1(std::string_view data);

std::string base64_encode(const uint8_t* data, size_t size);

// A 64-bit non-cryptographic hash (FNV-1a with a final avalanche), chained through `seed`. Used for the
// tree digest, which detects divergence between replicas and after recovery, not attackers.
uint64_t hash64(const void* data, size_t size, uint64_t seed = 0xcbf29ce484222325ull);

// CRC32C (Castagnoli), the checksum of log records; `seed` chains partial computations.
uint32_t crc32c(const void* data, size_t size, uint32_t seed = 0);

} // namespace corral
