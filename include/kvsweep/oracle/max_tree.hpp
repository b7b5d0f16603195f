#pragma once
// Occupancy per state with the maximum over any interval in O(log D): a bottom-up max segment tree.
// The oracle's capacity check "does entry e fit over states [a, b)?" is max(occupancy[a, b)) < C.
//
// Updates add to a run of leaves (add_leaves); the parents of those leaves are refreshed later
// (refresh), level by level, stopping at the first level where no parent changed: O(k + log D) for a
// run of k states in the worst case, O(k) when the run is not at a maximum (the common case). The
// annealer refreshes only edits it keeps, so a rejected move never touches the inner nodes. Between
// add_leaves and refresh, max() over more than kScanLeaves leaves may read stale parents: the caller
// checks capacity before it edits. A leaf is always the exact occupancy, so a short interval is checked
// by reading its leaves directly.
#include <algorithm>
#include <bit>
#include <cstdint>
#include <vector>

namespace kvsweep::oracle {

class MaxTree {
 public:
  MaxTree() = default;
  explicit MaxTree(std::uint32_t size)
      : size_(size), base_(std::bit_ceil(std::max<std::uint32_t>(size, 1))), node_(2 * base_, 0) {}

  std::uint32_t size() const { return size_; }
  std::uint32_t at(std::uint32_t i) const { return node_[base_ + i]; }

  // Leaves may be set freely (set_leaf) and the parents rebuilt once (build): O(D).
  void set_leaf(std::uint32_t i, std::uint32_t v) { node_[base_ + i] = v; }
  void build() {
    for (std::uint32_t p = base_ - 1; p >= 1; --p) node_[p] = std::max(node_[2 * p], node_[2 * p + 1]);
  }

  // Maximum over [a, b), a < b <= size().
  std::uint32_t max(std::uint32_t a, std::uint32_t b) const {
    if (b - a <= kScanLeaves) {
      return *std::max_element(node_.begin() + base_ + a, node_.begin() + base_ + b);
    }
    std::uint32_t best = 0;
    for (std::uint32_t lo = a + base_, hi = b + base_; lo < hi; lo >>= 1, hi >>= 1) {
      if (lo & 1U) best = std::max(best, node_[lo++]);
      if (hi & 1U) best = std::max(best, node_[--hi]);
    }
    return best;
  }

  // Adds +1 or -1 to every leaf of [a, b), a < b <= size(); the parents wait for refresh(a, b).
  void add_leaves(std::uint32_t a, std::uint32_t b, int delta) {
    for (std::uint32_t i = base_ + a; i < base_ + b; ++i) node_[i] = static_cast<std::uint32_t>(static_cast<int>(node_[i]) + delta);
  }
  // Brings the ancestors of leaves [a, b) up to date.
  void refresh(std::uint32_t a, std::uint32_t b) {
    for (std::uint32_t lo = (base_ + a) >> 1, hi = (base_ + b - 1) >> 1; lo >= 1; lo >>= 1, hi >>= 1) {
      bool changed = false;
      for (std::uint32_t p = lo; p <= hi; ++p) {
        const std::uint32_t v = std::max(node_[2 * p], node_[2 * p + 1]);
        changed |= v != node_[p];
        node_[p] = v;
      }
      if (!changed) break;
    }
  }

 private:
  static constexpr std::uint32_t kScanLeaves = 16;  // shorter intervals: read the leaves
  std::uint32_t size_ = 0;
  std::uint32_t base_ = 1;
  std::vector<std::uint32_t> node_;  // node_[1] is the root, leaves at base_ + i
};

}  // namespace kvsweep::oracle
