// A znode's children, sorted by name, stored in blocks of at most `max_block` entries so that an
// insert or erase moves at most one block: a directory with a million children stays cheap to change
// in any order (a single sorted vector would move megabytes per insert). Order matters: getChildren
// answers in it, and snapshots walk the tree by it. Used only by data_tree.
// Most znodes are leaves, so the blocks live behind one pointer that is null while there are no
// children: a leaf pays 8 bytes here, not the 32 of an empty vector and a count.
#pragma once

#include <algorithm>
#include <memory>
#include <string_view>
#include <vector>

namespace corral {

template <class Node>
class sorted_children {
public:
  static constexpr size_t max_block = 512;
  using owned = std::unique_ptr<Node>;

  size_t size() const { return body_ ? body_->size : 0; }
  bool empty() const { return !body_; }

  Node* find(std::string_view name) const {
    if (!body_)
      return nullptr;
    auto b = block_for(name);
    if (b == body_->blocks.size())
      return nullptr;
    auto& blk = body_->blocks[b];
    auto it = lower(blk, name);
    return it != blk.end() && (*it)->name == name ? it->get() : nullptr;
  }

  // The first child, or nullptr.
  Node* front() const { return body_ ? body_->blocks.front().front().get() : nullptr; }

  // The first child whose name is greater than `name`, or nullptr.
  Node* upper_bound(std::string_view name) const {
    if (!body_)
      return nullptr;
    auto& blocks = body_->blocks;
    auto b = block_for(name);
    if (b == blocks.size())
      return nullptr;
    auto& blk = blocks[b];
    auto it =
        std::upper_bound(blk.begin(), blk.end(), name, [](std::string_view n, const owned& c) { return n < c->name; });
    if (it != blk.end())
      return it->get();
    return b + 1 < blocks.size() ? blocks[b + 1].front().get() : nullptr;
  }

  // Inserts a child whose name is not present yet.
  Node* insert(owned child) {
    Node* raw = child.get();
    if (!body_) {
      body_ = std::make_unique<body>();
      body_->blocks.emplace_back();
      body_->blocks.back().push_back(std::move(child));
      body_->size = 1;
      return raw;
    }
    auto& blocks = body_->blocks;
    auto b = std::min(block_for(raw->name), blocks.size() - 1);
    auto& blk = blocks[b];
    blk.insert(lower(blk, raw->name), std::move(child));
    ++body_->size;
    if (blk.size() > max_block) {
      std::vector<owned> upper(std::make_move_iterator(blk.begin() + max_block / 2),
                               std::make_move_iterator(blk.end()));
      blk.resize(max_block / 2);
      blocks.insert(blocks.begin() + static_cast<std::ptrdiff_t>(b) + 1, std::move(upper));
    }
    return raw;
  }

  // Removes and returns the child called `name` (nullptr if there is none).
  owned erase(std::string_view name) {
    if (!body_)
      return nullptr;
    auto& blocks = body_->blocks;
    auto b = block_for(name);
    if (b == blocks.size())
      return nullptr;
    auto& blk = blocks[b];
    auto it = lower(blk, name);
    if (it == blk.end() || (*it)->name != name)
      return nullptr;
    owned out = std::move(*it);
    blk.erase(it);
    if (blk.empty())
      blocks.erase(blocks.begin() + static_cast<std::ptrdiff_t>(b));
    if (--body_->size == 0)
      body_.reset();
    return out;
  }

  template <class F>
  void for_each(F&& f) const {
    if (!body_)
      return;
    for (auto& blk : body_->blocks)
      for (auto& c : blk)
        f(*c);
  }

private:
  // Never empty: it goes when the last child does.
  struct body {
    std::vector<std::vector<owned>> blocks;
    size_t size = 0;
  };

  static auto lower(const std::vector<owned>& blk, std::string_view name) {
    return std::lower_bound(blk.begin(), blk.end(), name,
                            [](const owned& c, std::string_view n) { return c->name < n; });
  }
  static auto lower(std::vector<owned>& blk, std::string_view name) {
    return std::lower_bound(blk.begin(), blk.end(), name,
                            [](const owned& c, std::string_view n) { return c->name < n; });
  }
  // The first block whose last name is >= `name` (blocks.size() if none). Only with a body.
  size_t block_for(std::string_view name) const {
    auto& blocks = body_->blocks;
    auto it = std::lower_bound(blocks.begin(), blocks.end(), name,
                               [](const std::vector<owned>& blk, std::string_view n) { return blk.back()->name < n; });
    return static_cast<size_t>(it - blocks.begin());
  }

  std::unique_ptr<body> body_;
};

} // namespace corral
