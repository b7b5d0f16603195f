#include "kvsweep/core/huge_pages.hpp"

#include <sys/mman.h>

#include <cstdint>
#include <cstdlib>
#include <iterator>
#include <map>
#include <mutex>
#include <new>
#include <utility>

namespace kvsweep::core {

namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;

std::size_t rounded(std::size_t bytes) { return (bytes + kHugePage - 1) / kHugePage * kHugePage; }

// An arena of huge pages: one large reservation of address space (not of memory: MAP_NORESERVE),
// carved from the bottom up, with freed blocks kept on a free list (coalesced by address) for any later
// block that fits, first fit. The phases of a point allocate gigabytes one after another, and the
// windows of the annealer allocate arrays a little larger each time (their tokens grow); with the
// blocks side by side, what one phase or window freed serves the next. Memory faulted in once is so
// reused instead of being returned to the system and faulted in again: on the reference VM a first
// touch costs ~2.2 s per GB in huge pages (~3.4 s in 4 KiB pages), against 0.1 s to overwrite memory
// already there. Where the reservation fails (strict overcommit), blocks are separate allocations.
constexpr std::size_t kReserve = std::size_t{256} << 30;

struct Arena {
  std::mutex mutex;
  char* base = nullptr;  // the reservation, 2 MiB-aligned; null when there is none (yet)
  bool tried = false;
  std::size_t top = 0;                   // bytes of the reservation handed out so far
  std::map<char*, std::size_t> free;     // free ranges below top, by address
  std::map<char*, std::size_t> lent;     // blocks in use
  std::map<char*, std::size_t> regions;  // separate allocations (no reservation)
  std::size_t free_bytes = 0;
};

Arena& arena() {
  static Arena a;
  return a;
}

void reserve(Arena& a) {
  a.tried = true;
  void* p = mmap(nullptr, kReserve + kHugePage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED) return;
  const auto addr = reinterpret_cast<std::uintptr_t>(p);
  a.base = reinterpret_cast<char*>((addr + kHugePage - 1) / kHugePage * kHugePage);
  madvise(a.base, kReserve, MADV_HUGEPAGE);  // advice only: without it the pages are simply small
}

void add_free(Arena& a, char* p, std::size_t size) {
  auto next = a.free.lower_bound(p);
  if (next != a.free.begin()) {
    auto prev = std::prev(next);
    if (prev->first + prev->second == p) {  // joins the range before
      p = prev->first;
      size += prev->second;
      a.free.erase(prev);
    }
  }
  if (next != a.free.end() && p + size == next->first) {  // and the one after
    size += next->second;
    a.free.erase(next);
  }
  a.free.emplace(p, size);
}

}  // namespace

void* allocate_huge_block(std::size_t bytes) {
  const std::size_t size = rounded(bytes);
  Arena& a = arena();
  const std::lock_guard lock(a.mutex);
  if (!a.tried) reserve(a);
  char* p = nullptr;
  for (auto it = a.free.begin(); it != a.free.end(); ++it) {
    const bool at_top = a.base != nullptr && it->first + it->second == a.base + a.top;
    if (it->second < size && !(at_top && size <= kReserve - (static_cast<std::size_t>(it->first - a.base)))) continue;
    // Fits, or is the free range at the top, which grows into the reservation.
    p = it->first;
    const std::size_t len = it->second;
    a.free.erase(it);
    a.free_bytes -= len;
    if (len > size) {
      a.free.emplace(p + size, len - size);
      a.free_bytes += len - size;
    } else if (len < size) {
      a.top = static_cast<std::size_t>(p - a.base) + size;
    }
    break;
  }
  if (p == nullptr && a.base != nullptr && a.top + size <= kReserve) {
    p = a.base + a.top;
    a.top += size;
  }
  if (p == nullptr) {
    p = static_cast<char*>(std::aligned_alloc(kHugePage, size));
    if (p == nullptr) throw std::bad_alloc();
    madvise(p, size, MADV_HUGEPAGE);
    a.regions.emplace(p, size);
  }
  a.lent.emplace(p, size);
  return p;
}

void free_huge_block(void* p, std::size_t /*bytes*/) {
  Arena& a = arena();
  const std::lock_guard lock(a.mutex);
  const auto it = a.lent.find(static_cast<char*>(p));
  if (it == a.lent.end()) return;  // not one of ours: cannot happen through HugePageAllocator
  if (a.regions.erase(it->first) != 0) {
    std::free(it->first);  // a separate allocation goes back at once
  } else {
    a.free_bytes += it->second;
    add_free(a, it->first, it->second);
  }
  a.lent.erase(it);
}

void release_huge_blocks() {
  Arena& a = arena();
  const std::lock_guard lock(a.mutex);
  // The free ranges' memory goes back to the system (their address space stays reserved for later
  // blocks); a free range at the top lowers the top.
  for (const auto& [p, size] : a.free) madvise(p, size, MADV_DONTNEED);
  if (!a.free.empty()) {
    const auto last = std::prev(a.free.end());
    if (last->first + last->second == a.base + a.top) {
      a.top = static_cast<std::size_t>(last->first - a.base);
      a.free_bytes -= last->second;
      a.free.erase(last);
    }
  }
}

std::size_t kept_huge_bytes() {
  Arena& a = arena();
  const std::lock_guard lock(a.mutex);
  return a.free_bytes;
}

}  // namespace kvsweep::core
