#pragma once
// An allocator for the oracle's multi-gigabyte arrays (reads and schedules as bit-words): blocks of
// 2 MiB or more are 2 MiB-aligned and advised to the kernel as transparent huge pages (madvise: the
// setting Debian ships), and freed blocks are kept for the next allocation of the same size until
// release_huge_blocks(). Every window of the paper point allocates the same ~3 GB again; fresh, in
// 4 KiB pages, the page faults and the kernel's zeroing cost more than the annealing itself.
#include <cstddef>
#include <memory>
#include <vector>

namespace kvsweep::core {

// Blocks of at least 2 MiB: a kept one of exactly this size if there is one; otherwise every kept block
// is returned first and a new one allocated.
void* allocate_huge_block(std::size_t bytes);
void free_huge_block(void* p, std::size_t bytes);
// Returns every kept block to the system (the oracle calls it when it is done).
void release_huge_blocks();
// Bytes in kept blocks (tests, diagnostics).
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
