// sa_guided against its specification (the comment at the top of src/policy/sa_guided.cpp), written
// here with sets and sorting: the engine ranks candidates through pattern tables, bit transposes and
// radix selection, chosen by window length, with a vector kernel where the CPU has one.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "kvsweep/core/bit_patterns.hpp"
#include "kvsweep/core/rng.hpp"
#include "support/checker.hpp"

namespace kvsweep::testing {
namespace {

Schedule reference_sa_guided(const trace::ExplicitTrace& t, const cost::MemorySystem& m, std::uint32_t window,
                             double fraction) {
  const auto& sh = t.shape;
  const std::uint64_t capacity = m.capacity_entries;
  std::vector<std::set<std::uint32_t>> h(sh.layers);
  // Prefill: static's token-order placement.
  const std::uint64_t full = std::min<std::uint64_t>(sh.prompt_tokens, capacity / sh.layers);
  std::uint64_t resident = 0;
  for (std::uint32_t l = 0; l < sh.layers; ++l) {
    for (std::uint32_t x = 0; x < full; ++x) h[l].insert(x);
    resident += full;
  }
  for (std::uint32_t l = 0; l < sh.layers && full < sh.prompt_tokens && resident < capacity; ++l, ++resident) {
    h[l].insert(static_cast<std::uint32_t>(full));
  }
  Schedule schedule{h};
  const std::uint32_t last = sh.prompt_tokens + sh.decode_tokens - 1;
  for (std::uint32_t n = sh.prompt_tokens; n <= last; ++n) {
    const std::uint32_t k_max = std::min(window, last - n);
    for (std::uint32_t l = 0; l < sh.layers; ++l) {
      std::map<std::uint32_t, double> score;  // tokens read within the window
      for (std::uint32_t k = 1; k <= k_max; ++k) {
        for (std::uint32_t x : t.reads(n + k, l)) score[x] += 1.0 / k;
      }
      for (auto it = h[l].begin(); it != h[l].end();) {
        if (score.contains(*it)) {
          ++it;
        } else {
          it = h[l].erase(it);
          --resident;
        }
      }
      std::vector<std::uint32_t> cand;
      for (std::uint32_t x : t.reads(n, l)) {
        if (!h[l].contains(x) && score.contains(x)) cand.push_back(x);
      }
      const auto wanted = static_cast<std::uint64_t>(std::ceil(fraction * static_cast<double>(cand.size())));
      const std::uint64_t take = std::min(wanted, capacity > resident ? capacity - resident : 0);
      std::sort(cand.begin(), cand.end(), [&](std::uint32_t a, std::uint32_t b) {
        return score[a] != score[b] ? score[a] > score[b] : a < b;
      });
      for (std::uint64_t i = 0; i < take; ++i) h[l].insert(cand[i]);
      resident += take;
      if (resident < capacity) {
        h[l].insert(n);
        ++resident;
      }
    }
    schedule.push_back(h);
  }
  return schedule;
}

struct KernelChoice {
  explicit KernelChoice(bool scalar) { core::force_scalar_bit_patterns(scalar); }
  ~KernelChoice() { core::force_scalar_bit_patterns(false); }
};

// Windows of every selection path: counting (up to 12), class buckets (13-20), score sort (21+); a
// few hundred tokens so that many candidates share words and score classes.
TEST(SaGuided, MatchesItsSpecificationOnEveryPathAndKernel) {
  for (const bool scalar : {false, true}) {
    const KernelChoice choice(scalar);
    for (std::uint64_t seed = 1; seed <= 48; ++seed) {
      core::Rng rng(seed);
      const std::uint32_t layers = 1 + static_cast<std::uint32_t>(rng.below(3));
      const std::uint32_t prompt = 60 + static_cast<std::uint32_t>(rng.below(300));
      Instance in = persistent_instance(seed, layers, prompt, 30, kReadModes[seed % 3]);
      const std::uint64_t footprint = std::uint64_t{prompt + 30} * layers;
      in.memory.capacity_entries = footprint * (1 + rng.below(6)) / 10;  // 10-60 %: promotions compete
      config::PolicyParams params;
      params.sa_window = 1 + static_cast<std::uint32_t>(seed % 24);
      params.sa_fraction = 0.1 * static_cast<double>(1 + rng.below(10));
      const RecordedRun run = run_and_record("sa_guided", in.trace, in.memory, params);
      const Schedule want = reference_sa_guided(in.trace, in.memory, params.sa_window, params.sa_fraction);
      ASSERT_EQ(run.schedule.size(), want.size());
      for (std::size_t s = 0; s < want.size(); ++s) {
        ASSERT_EQ(run.schedule[s], want[s]) << "seed " << seed << " W " << params.sa_window << " R "
                                            << params.sa_fraction << " state " << s << " kernel "
                                            << core::bit_patterns_kernel();
      }
    }
  }
}

}  // namespace
}  // namespace kvsweep::testing
