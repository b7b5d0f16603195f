// arc — Adaptive Replacement Cache (Megiddo & Modha, FAST'03) over (layer, block) units: recency and
// frequency, self-tuning. Online, no knobs.
// The cache holds c = floor(C / k) blocks in two LRU lists, T1 (referenced once since it entered) and T2
// (at least twice); ghost lists B1 and B2 remember the units last evicted from each (no data); the
// target size p of T1 adapts: a reference to a ghost of B1 raises p by max(1, |B2| / |B1|) (capped at
// c), one to a ghost of B2 lowers it by max(1, |B1| / |B2|) (floored at 0).
// References, in order: at (n, l) every block of layer l that the step reads (ascending position), then
// each sequence's new token that starts a block (a fetch, as a miss would be); a new token that joins a
// held block is not a reference. A reference to a held unit moves it to the MRU end of T2. A miss
// fetches the unit (promotes it: piggy-backed for a read, the new token's block for a new token) after
// REPLACE made room when T1 + T2 hold c: the LRU unit of T1 goes to B1 if T1 is not empty and
// (|T1| > p, or |T1| = p and the reference is a ghost of B2), else the LRU unit of T2 goes to B2. A
// fetched ghost enters T2, any other unit T1; when |T1| + |B1| = c (case IV A of the paper) the LRU
// ghost of B1 is dropped, or if B1 is empty the LRU unit of T1 is evicted without a ghost, and when
// the four lists hold 2c the LRU ghost of B2 is dropped. Prefill: static's placement, its units in T1
// in token order (lowest position least recently used). Nothing is prefetched.
#include <cstdint>
#include <vector>

#include "block_cache.hpp"
#include "kvsweep/policy/policies.hpp"

namespace kvsweep::policy {
namespace {

class Arc final : public Policy {
 public:
  explicit Arc(const PolicyContext& ctx)
      : cache_(ctx), units_(cache_.blocks() * ctx.shape.layers), c_(cache_.capacity_blocks()),
        node_(units_ + 4), list_(units_ + 4, kNone) {
    for (std::uint32_t i = 0; i < 4; ++i) {
      const auto s = static_cast<std::uint32_t>(units_ + i);
      node_[s] = {s, s};
    }
  }
  std::string_view name() const override { return "arc"; }
  Information information() const override { return Information::kOnline; }

  void place_prefill(const StepWindow&, cost::Residency& r) override {
    cache_.place_static(r);
    // In token order: positions of every layer's blocks, lowest first (least recently used).
    std::vector<std::pair<std::size_t, std::size_t>> order;  // (position, unit)
    for (std::uint32_t l = 0; l < cache_.shape().layers; ++l) {
      cache_.for_each_held(r, l, [&](std::size_t j) { order.emplace_back(j, cache_.unit(l, j)); });
    }
    std::sort(order.begin(), order.end());
    for (const auto& [j, u] : order) push_mru(kT1, u);
  }

  void step(const StepWindow& w, cost::Residency& r) override {
    for (std::uint32_t l = 0; l < cache_.shape().layers; ++l) {
      cache_.for_each_block(w.reads(0, l), [&](std::size_t j) { reference(r, l, j); });
    }
    // New tokens: a block they start was kept by keep_new_tokens; make room for it as ARC would.
    cache_.keep_new_tokens(w.n(), r, [&](std::uint32_t l, std::size_t j) {
      cache_.evict(r, l, j);  // undo, then fetch it the ARC way
      reference(r, l, j);
    });
  }

 private:
  static constexpr std::uint8_t kT1 = 0, kT2 = 1, kB1 = 2, kB2 = 3, kNone = 4;

  void reference(cost::Residency& r, std::uint32_t l, std::size_t j) {
    const std::size_t u = cache_.unit(l, j);
    const std::uint8_t where = list_[u];
    if (where == kT1 || where == kT2) {  // case I: a hit
      unlink(u);
      push_mru(kT2, u);
      return;
    }
    if (where == kB1) {  // case II
      p_ = std::min<double>(static_cast<double>(c_), p_ + std::max(1.0, ratio(size_[kB2], size_[kB1])));
      replace(r, false);
      unlink(u);
      fetch(r, kT2, u);
      return;
    }
    if (where == kB2) {  // case III
      p_ = std::max(0.0, p_ - std::max(1.0, ratio(size_[kB1], size_[kB2])));
      replace(r, true);
      unlink(u);
      fetch(r, kT2, u);
      return;
    }
    // Case IV: a unit in no list.
    if (size_[kT1] + size_[kB1] >= c_) {
      if (size_[kT1] < c_) {
        drop_lru(kB1);
        replace(r, false);
      } else if (size_[kT1] > 0) {
        const std::size_t v = lru(kT1);
        unlink(v);
        cache_.evict(r, cache_.layer_of(v), cache_.block_of(v));
      }
    } else if (size_[kT1] + size_[kT2] + size_[kB1] + size_[kB2] >= c_) {
      if (size_[kT1] + size_[kT2] + size_[kB1] + size_[kB2] >= 2 * c_) drop_lru(kB2);
      replace(r, false);
    }
    fetch(r, kT1, u);
  }

  static double ratio(std::uint64_t a, std::uint64_t b) { return b == 0 ? 1.0 : static_cast<double>(a) / static_cast<double>(b); }

  // Makes room when the cache is full: T1's LRU unit to B1, or T2's to B2 (header).
  void replace(cost::Residency& r, bool ghost_of_b2) {
    if (size_[kT1] + size_[kT2] < c_) return;
    const auto t1 = static_cast<double>(size_[kT1]);
    const bool from_t1 = size_[kT1] > 0 && (t1 > p_ || (ghost_of_b2 && t1 == p_));
    const std::uint8_t from = from_t1 || size_[kT2] == 0 ? kT1 : kT2;
    const std::size_t v = lru(from);
    unlink(v);
    cache_.evict(r, cache_.layer_of(v), cache_.block_of(v));
    push_mru(from == kT1 ? kB1 : kB2, v);
  }
  void fetch(cost::Residency& r, std::uint8_t to, std::size_t u) {
    if (c_ == 0) return;  // a cache of no block holds nothing
    cache_.promote(r, cache_.layer_of(u), cache_.block_of(u));
    push_mru(to, u);
  }
  void drop_lru(std::uint8_t ghost) {
    if (size_[ghost] > 0) unlink(lru(ghost));
  }

  std::size_t sentinel(std::uint8_t list) const { return units_ + list; }
  std::size_t lru(std::uint8_t list) const { return node_[sentinel(list)].next; }
  void push_mru(std::uint8_t list, std::size_t u) {
    const std::size_t s = sentinel(list), last = node_[s].prev;
    node_[last].next = static_cast<std::uint32_t>(u);
    node_[u] = {static_cast<std::uint32_t>(last), static_cast<std::uint32_t>(s)};
    node_[s].prev = static_cast<std::uint32_t>(u);
    list_[u] = list;
    ++size_[list];
  }
  void unlink(std::size_t u) {
    const Node x = node_[u];
    node_[x.prev].next = x.next;
    node_[x.next].prev = x.prev;
    --size_[list_[u]];
    list_[u] = kNone;
  }

  BlockCache cache_;
  std::size_t units_;
  std::uint64_t c_;
  double p_ = 0;
  struct Node {
    std::uint32_t prev, next;  // one cache line holds both links of a unit
  };
  std::vector<Node> node_;  // per unit, then the four lists' sentinels
  std::vector<std::uint8_t> list_;
  std::uint64_t size_[4] = {0, 0, 0, 0};
};

}  // namespace

std::unique_ptr<Policy> make_arc(const PolicyContext& ctx) { return std::make_unique<Arc>(ctx); }

}  // namespace kvsweep::policy
