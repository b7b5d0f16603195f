#include "kvsweep/core/huge_pages.hpp"

#include <sys/mman.h>

#include <cstdlib>
#include <mutex>
#include <new>
#include <utility>

namespace kvsweep::core {

namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;

std::size_t rounded(std::size_t bytes) { return (bytes + kHugePage - 1) / kHugePage * kHugePage; }

struct KeptBlocks {
  std::mutex mutex;
  std::vector<std::pair<void*, std::size_t>> blocks;  // (block, rounded size)
  std::size_t bytes = 0;
};

KeptBlocks& kept() {
  static KeptBlocks k;
  return k;
}

}  // namespace

void* allocate_huge_block(std::size_t bytes) {
  const std::size_t size = rounded(bytes);
  {
    KeptBlocks& k = kept();
    const std::lock_guard lock(k.mutex);
    for (std::size_t i = 0; i < k.blocks.size(); ++i) {
      if (k.blocks[i].second != size) continue;
      void* p = k.blocks[i].first;
      k.blocks[i] = k.blocks.back();
      k.blocks.pop_back();
      k.bytes -= size;
      return p;
    }
    // No block of this size: the arrays changed shape (the last, shorter window, or the next point),
    // so the kept blocks go back rather than add to the peak.
    for (const auto& [q, q_size] : k.blocks) std::free(q);
    k.blocks.clear();
    k.bytes = 0;
  }
  void* p = std::aligned_alloc(kHugePage, size);
  if (p == nullptr) throw std::bad_alloc();
  madvise(p, size, MADV_HUGEPAGE);  // advice only: without it the pages are simply small
  return p;
}

void free_huge_block(void* p, std::size_t bytes) {
  KeptBlocks& k = kept();
  const std::lock_guard lock(k.mutex);
  k.blocks.emplace_back(p, rounded(bytes));
  k.bytes += rounded(bytes);
}

void release_huge_blocks() {
  KeptBlocks& k = kept();
  const std::lock_guard lock(k.mutex);
  for (const auto& [p, size] : k.blocks) std::free(p);
  k.blocks.clear();
  k.bytes = 0;
}

std::size_t kept_huge_bytes() {
  KeptBlocks& k = kept();
  const std::lock_guard lock(k.mutex);
  return k.bytes;
}

}  // namespace kvsweep::core
