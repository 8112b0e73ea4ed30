// A znode's children, sorted by name, stored in blocks of at most `max_block` entries so that an
// insert or erase moves at most one block: a directory with a million children stays cheap to change
// in any order (a single sorted vector would move megabytes per insert). Order matters: getChildren
// answers in it, and snapshots walk the tree by it. Used only by data_tree.
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

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  Node* find(std::string_view name) const {
    auto b = block_for(name);
    if (b == blocks_.size())
      return nullptr;
    auto& blk = blocks_[b];
    auto it = lower(blk, name);
    return it != blk.end() && (*it)->name == name ? it->get() : nullptr;
  }

  // The first child, or nullptr.
  Node* front() const { return blocks_.empty() ? nullptr : blocks_.front().front().get(); }

  // The first child whose name is greater than `name`, or nullptr.
  Node* upper_bound(std::string_view name) const {
    auto b = block_for(name);
    if (b == blocks_.size())
      return nullptr;
    auto& blk = blocks_[b];
    auto it =
        std::upper_bound(blk.begin(), blk.end(), name, [](std::string_view n, const owned& c) { return n < c->name; });
    if (it != blk.end())
      return it->get();
    return b + 1 < blocks_.size() ? blocks_[b + 1].front().get() : nullptr;
  }

  // Inserts a child whose name is not present yet.
  Node* insert(owned child) {
    Node* raw = child.get();
    if (blocks_.empty()) {
      blocks_.emplace_back();
      blocks_.back().push_back(std::move(child));
      size_ = 1;
      return raw;
    }
    auto b = std::min(block_for(raw->name), blocks_.size() - 1);
    auto& blk = blocks_[b];
    blk.insert(lower(blk, raw->name), std::move(child));
    ++size_;
    if (blk.size() > max_block) {
      std::vector<owned> upper(std::make_move_iterator(blk.begin() + max_block / 2),
                               std::make_move_iterator(blk.end()));
      blk.resize(max_block / 2);
      blocks_.insert(blocks_.begin() + static_cast<std::ptrdiff_t>(b) + 1, std::move(upper));
    }
    return raw;
  }

  // Removes and returns the child called `name` (nullptr if there is none).
  owned erase(std::string_view name) {
    auto b = block_for(name);
    if (b == blocks_.size())
      return nullptr;
    auto& blk = blocks_[b];
    auto it = lower(blk, name);
    if (it == blk.end() || (*it)->name != name)
      return nullptr;
    owned out = std::move(*it);
    blk.erase(it);
    --size_;
    if (blk.empty())
      blocks_.erase(blocks_.begin() + static_cast<std::ptrdiff_t>(b));
    return out;
  }

  template <class F>
  void for_each(F&& f) const {
    for (auto& blk : blocks_)
      for (auto& c : blk)
        f(*c);
  }

private:
  static auto lower(const std::vector<owned>& blk, std::string_view name) {
    return std::lower_bound(blk.begin(), blk.end(), name,
                            [](const owned& c, std::string_view n) { return c->name < n; });
  }
  static auto lower(std::vector<owned>& blk, std::string_view name) {
    return std::lower_bound(blk.begin(), blk.end(), name,
                            [](const owned& c, std::string_view n) { return c->name < n; });
  }
  // The first block whose last name is >= `name` (blocks_.size() if none).
  size_t block_for(std::string_view name) const {
    auto it = std::lower_bound(blocks_.begin(), blocks_.end(), name,
                               [](const std::vector<owned>& blk, std::string_view n) { return blk.back()->name < n; });
    return static_cast<size_t>(it - blocks_.begin());
  }

  std::vector<std::vector<owned>> blocks_;
  size_t size_ = 0;
};

} // namespace corral
