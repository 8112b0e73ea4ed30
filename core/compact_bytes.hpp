// A znode's data: bytes behind one pointer, their length stored in front of them. 8 bytes in the
// node where std::string takes 32 (the tree holds millions of nodes; see docs/benchmarks.md for what
// a znode costs). Empty data is a null pointer and allocates nothing. Immutable between
// assignments: setData replaces the whole value, so there is no spare capacity to keep.
// Used by data_tree's nodes; read by the session actors under the shared-read lock like the rest
// of a node.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "core/fatal.hpp"

namespace corral {

class compact_bytes {
public:
  compact_bytes() = default;
  compact_bytes(const compact_bytes&) = delete;
  compact_bytes& operator=(const compact_bytes&) = delete;
  compact_bytes(compact_bytes&& o) noexcept : p_(o.p_) { o.p_ = nullptr; }
  compact_bytes& operator=(compact_bytes&& o) noexcept {
    if (this != &o) {
      delete[] p_;
      p_ = o.p_;
      o.p_ = nullptr;
    }
    return *this;
  }
  ~compact_bytes() { delete[] p_; }

  compact_bytes& operator=(std::string_view s) {
    CORRAL_CHECK(s.size() <= UINT32_MAX, "tree", "znode data of ", s.size(), " bytes does not fit a 32-bit length");
    char* p = nullptr;
    if (!s.empty()) {
      p = new char[sizeof(uint32_t) + s.size()];
      auto n = static_cast<uint32_t>(s.size());
      std::memcpy(p, &n, sizeof n);
      std::memcpy(p + sizeof n, s.data(), s.size());
    }
    delete[] p_;
    p_ = p;
    return *this;
  }

  size_t size() const {
    if (p_ == nullptr)
      return 0;
    uint32_t n;
    std::memcpy(&n, p_, sizeof n);
    return n;
  }
  bool empty() const { return p_ == nullptr; }
  const char* data() const { return p_ == nullptr ? "" : p_ + sizeof(uint32_t); }
  std::string_view view() const { return {data(), size()}; }
  operator std::string_view() const { return view(); }
  std::string str() const { return std::string(view()); }

private:
  char* p_ = nullptr; // [uint32 length][length bytes], or null when empty
};

} // namespace corral
