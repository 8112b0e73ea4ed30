// Apache Curator's DistributedQueue item encoding (its ItemSerializer), so that Corral's queue actor
// (actors/client/queue.hpp) and Curator producers and consumers read each other's queue nodes.
// Plain functions; the decoder takes any bytes and never reads past them.
//
// Layout, big-endian: int32 version 0x00010001, then per item the byte 0x01, an int32 length and
// that many bytes, then the byte 0x02. One node may carry several items (Curator's putMulti).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace corral::queue_items {

// Curator names every queue node "queue-" plus ZooKeeper's 10-digit sequence.
constexpr const char* node_prefix = "queue-";

std::string encode(const std::vector<std::string>& items);

// The items, or nothing when `bytes` is not a well-formed encoding (wrong version, unknown opcode,
// a length past the end, bytes after the end marker, or more than `max_items` items).
std::optional<std::vector<std::string>> decode(const std::string& bytes, size_t max_items = 100000);

// The children that are queue items, in the order consumers take them (by name, as Curator sorts).
std::vector<std::string> items_in_order(const std::vector<std::string>& children);

} // namespace corral::queue_items
