#pragma once
// An allocator for the multi-gigabyte arrays (the oracle's reads and schedules, the trace cache, the
// bound's reads): blocks of 2 MiB or more are 2 MiB-aligned, advised to the kernel as transparent huge
// pages (madvise: the setting Debian ships), and come from an arena that keeps freed memory for the
// next block that fits (first fit, freed neighbours coalesced) until release_huge_blocks(). Phases of
// one point allocate gigabytes one after another (every window of the paper point the same ~3 GB);
// fresh memory costs its page faults and the kernel's zeroing (~2.2 s per GB on the reference VM), more
// than the work done in it.
#include <cstddef>
#include <memory>
#include <vector>

namespace kvsweep::core {

// Blocks of at least 2 MiB: from the kept memory when a free range fits, otherwise a new region.
void* allocate_huge_block(std::size_t bytes);
void free_huge_block(void* p, std::size_t bytes);
// Returns to the system every region no block uses (evaluate_point calls it when a point is done).
void release_huge_blocks();
// Bytes kept for reuse (tests, diagnostics).
std::size_t kept_huge_bytes();

template <class T>
struct HugePageAllocator {
  using value_type = T;
  static constexpr std::size_t kHugePage = std::size_t{2} << 20;

  HugePageAllocator() = default;
  template <class U>
  HugePageAllocator(const HugePageAllocator<U>&) {}  // NOLINT(google-explicit-constructor): rebinding

  T* allocate(std::size_t n) {
    if (n * sizeof(T) < kHugePage) return std::allocator<T>().allocate(n);
    return static_cast<T*>(allocate_huge_block(n * sizeof(T)));
  }
  void deallocate(T* p, std::size_t n) {
    if (n * sizeof(T) < kHugePage) {
      std::allocator<T>().deallocate(p, n);
    } else {
      free_huge_block(p, n * sizeof(T));
    }
  }
  template <class U>
  bool operator==(const HugePageAllocator<U>&) const {
    return true;
  }
};

template <class T>
using HugeVector = std::vector<T, HugePageAllocator<T>>;

}  // namespace kvsweep::core
