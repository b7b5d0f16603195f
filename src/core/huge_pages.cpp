#include "kvsweep/core/huge_pages.hpp"

#include <sys/mman.h>

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

// An arena of huge-page regions: freed blocks go back to a free list (coalesced by address) and any
// later block that fits takes its memory, first fit, so that memory faulted in once by one phase (the
// trace cache, the bound's reads, an annealing window) is reused by the next instead of being
// returned to the system and faulted in again: on the reference VM a first touch costs ~2.2 s per GB
// in huge pages (~3.4 s in 4 KiB pages), against 0.1 s to overwrite memory already there.
struct Arena {
  std::mutex mutex;
  std::map<char*, std::size_t> free;     // free ranges by address
  std::map<char*, std::size_t> lent;     // blocks in use
  std::map<char*, std::size_t> regions;  // allocated from the system
  std::size_t free_bytes = 0;
};

Arena& arena() {
  static Arena a;
  return a;
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
  for (auto it = a.free.begin(); it != a.free.end(); ++it) {
    if (it->second < size) continue;
    char* p = it->first;
    const std::size_t left = it->second - size;
    a.free.erase(it);
    if (left > 0) a.free.emplace(p + size, left);
    a.free_bytes -= size;
    a.lent.emplace(p, size);
    return p;
  }
  auto* p = static_cast<char*>(std::aligned_alloc(kHugePage, size));
  if (p == nullptr) throw std::bad_alloc();
  madvise(p, size, MADV_HUGEPAGE);  // advice only: without it the pages are simply small
  a.regions.emplace(p, size);
  a.lent.emplace(p, size);
  return p;
}

void free_huge_block(void* p, std::size_t /*bytes*/) {
  Arena& a = arena();
  const std::lock_guard lock(a.mutex);
  const auto it = a.lent.find(static_cast<char*>(p));
  if (it == a.lent.end()) return;  // not one of ours: cannot happen through HugePageAllocator
  a.free_bytes += it->second;
  add_free(a, it->first, it->second);
  a.lent.erase(it);
}

void release_huge_blocks() {
  Arena& a = arena();
  const std::lock_guard lock(a.mutex);
  for (auto r = a.regions.begin(); r != a.regions.end();) {
    // A region goes back when a free range covers it whole.
    auto f = a.free.upper_bound(r->first);
    if (f == a.free.begin()) {
      ++r;
      continue;
    }
    --f;
    char* const start = f->first;
    const std::size_t len = f->second;
    if (start + len < r->first + r->second) {
      ++r;
      continue;
    }
    a.free.erase(f);
    if (r->first > start) a.free.emplace(start, static_cast<std::size_t>(r->first - start));
    if (start + len > r->first + r->second) {
      a.free.emplace(r->first + r->second, static_cast<std::size_t>(start + len - (r->first + r->second)));
    }
    a.free_bytes -= r->second;
    std::free(r->first);
    r = a.regions.erase(r);
  }
}

std::size_t kept_huge_bytes() {
  Arena& a = arena();
  const std::lock_guard lock(a.mutex);
  return a.free_bytes;
}

}  // namespace kvsweep::core
