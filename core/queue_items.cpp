#include "core/queue_items.hpp"

#include <algorithm>
#include <cstdint>

namespace corral::queue_items {

namespace {

constexpr uint32_t version = 0x00010001;
constexpr char item_opcode = 0x01;
constexpr char eof_opcode = 0x02;

void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out.push_back(static_cast<char>((v >> shift) & 0xFF));
}

std::optional<uint32_t> get_u32(const std::string& in, size_t& at) {
  if (in.size() - at < 4)
    return std::nullopt;
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v = (v << 8) | static_cast<uint8_t>(in[at + i]);
  at += 4;
  return v;
}

} // namespace

std::string encode(const std::vector<std::string>& items) {
  std::string out;
  put_u32(out, version);
  for (const auto& item : items) {
    out.push_back(item_opcode);
    put_u32(out, static_cast<uint32_t>(item.size()));
    out += item;
  }
  out.push_back(eof_opcode);
  return out;
}

std::optional<std::vector<std::string>> decode(const std::string& bytes, size_t max_items) {
  size_t at = 0;
  if (get_u32(bytes, at) != version)
    return std::nullopt;
  std::vector<std::string> items;
  while (at < bytes.size()) {
    char opcode = bytes[at++];
    if (opcode == eof_opcode)
      return at == bytes.size() ? std::optional(std::move(items)) : std::nullopt;
    if (opcode != item_opcode || items.size() == max_items)
      return std::nullopt;
    auto size = get_u32(bytes, at);
    // Java reads the length as a signed int and refuses a negative one; so do we (top bit set).
    if (!size || *size > 0x7FFFFFFFu || *size > bytes.size() - at)
      return std::nullopt;
    items.push_back(bytes.substr(at, *size));
    at += *size;
  }
  return std::nullopt; // no end marker
}

std::vector<std::string> items_in_order(const std::vector<std::string>& children) {
  std::vector<std::string> out;
  for (const auto& c : children)
    if (c.rfind(node_prefix, 0) == 0)
      out.push_back(c);
  std::sort(out.begin(), out.end());
  return out;
}

} // namespace corral::queue_items
