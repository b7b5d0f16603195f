#pragma once
// A placement policy turns R(n-1, ·) into R(n, ·) at every decode step. Policies only decide; the
// cost::Judge alone scores what they decide (they never compute their own cost).

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "kvsweep/config/point.hpp"
#include "kvsweep/cost/memory_system.hpp"
#include "kvsweep/cost/residency.hpp"
#include "kvsweep/trace/source.hpp"

namespace kvsweep::policy {

// The reads of the current decode step n and of the following steps a policy asked to see.
// reads(k, l) = S(n + k, l) for 0 <= k <= available().
class StepWindow {
 public:
  StepWindow(std::uint32_t n, std::uint32_t available, const trace::TraceShape& shape,
             const std::vector<const core::TokenBitset*>& rows, const std::vector<std::uint32_t>& counts)
      : n_(n), available_(available), shape_(shape), rows_(rows), counts_(counts) {}

  // A window with no readable row (an online policy's prefill window).
  static StepWindow blind(std::uint32_t n, const trace::TraceShape& shape, const std::vector<const core::TokenBitset*>& rows,
                          const std::vector<std::uint32_t>& counts) {
    StepWindow w(n, 0, shape, rows, counts);
    w.blind_ = true;
    return w;
  }

  std::uint32_t n() const { return n_; }
  std::uint32_t available() const { return available_; }
  bool readable() const { return !blind_; }
  const trace::TraceShape& shape() const { return shape_; }
  // S(n + k, l), k <= available(); throws std::logic_error beyond what this window holds (a policy
  // reading past its information contract).
  const core::TokenBitset& reads(std::uint32_t k, std::uint32_t l) const {
    check(k);
    return *rows_[static_cast<std::size_t>(k) * shape_.layers + l];
  }
  // |S(n + k, l)|
  std::uint32_t count(std::uint32_t k, std::uint32_t l) const {
    check(k);
    return counts_[static_cast<std::size_t>(k) * shape_.layers + l];
  }

 private:
  void check(std::uint32_t k) const {
    if (blind_ || k > available_) throw_unavailable(k);
  }
  [[noreturn]] void throw_unavailable(std::uint32_t k) const;

  bool blind_ = false;
  std::uint32_t n_;
  std::uint32_t available_;
  const trace::TraceShape& shape_;
  const std::vector<const core::TokenBitset*>& rows_;
  const std::vector<std::uint32_t>& counts_;
};

// A residency plan: for every layer l and state i < D (R(P - 1 + i)), a bitset over tokens of the
// entries some guide would hold, at row(l, i) (words() words). Not necessarily capacity-respecting:
// a policy that follows it decides. fm_dual's plan is the Lagrangian bound's cheapest paths.
struct ResidencyPlan {
  const core::Word* bits = nullptr;
  std::uint32_t layers = 0, states = 0;
  std::size_t words = 0;
  const core::Word* row(std::uint32_t l, std::uint32_t i) const {
    return bits + (static_cast<std::size_t>(l) * states + i) * words;
  }
};

struct PolicyContext {
  trace::TraceShape shape;
  cost::MemorySystem memory;
  config::PolicyParams params;
  const ResidencyPlan* plan = nullptr;  // fm_dual's guide (it refuses to start without one)
};

// What a policy may see (docs/design/online.md). Online: it decides R(n) from the reads of steps <= n
// only — `reads(0, ·)` in step(), nothing in place_prefill() (whose window's S(P) is the future for
// R(P - 1)); the simulator hands it no other rows, and StepWindow throws if it asks. Offline: it may
// read as many future steps as lookahead() says.
enum class Information { kOnline, kOffline };

class Policy {
 public:
  virtual ~Policy() = default;
  virtual std::string_view name() const = 0;
  // Offline unless a policy says otherwise: a new policy is counted as online only once it declares it.
  virtual Information information() const { return Information::kOffline; }
  // Decode steps of future reads the policy needs (0: the current step only).
  virtual std::uint32_t lookahead() const { return 0; }
  // False only for the unlimited-HBM reference.
  virtual bool respects_capacity() const { return true; }
  // Writes R(P-1, ·), the initial placement of prefill KV; `first` is the window at n = P.
  virtual void place_prefill(const StepWindow& first, cost::Residency& r) = 0;
  // Turns R(n-1, ·) into R(n, ·) in place, n = w.n(). Not thread-safe; one instance per simulation.
  virtual void step(const StepWindow& w, cost::Residency& r) = 0;
};

// Creates the policy with that name (config::known_policy_names()); throws std::invalid_argument.
std::unique_ptr<Policy> make_policy(const std::string& name, const PolicyContext& ctx);

// What the policy of that name may see: its information() (asked of an instance on a tiny point, so
// the class stays the one place that says it); the schedule builders that are not step policies
// (fm_dual, oracle, exact) see the whole trace. Throws std::invalid_argument for an unknown name.
Information information_of(const std::string& name);

// Static's initial placement: entries (t, l) in order t = 0..P-1, l = 0..L-1 while fewer than
// `capacity`. Returns the number placed. Shared by policies that start without any knowledge.
std::uint64_t place_in_token_order(cost::Residency& r, std::uint32_t prompt_tokens, std::uint64_t capacity);
// The same for any shape: a batch's blocks in order (block j, then sequence b, then layer l), each
// taken while its k entries fit (a lone sequence with k = 1: the overload above). Returns entries held.
std::uint64_t place_in_token_order(cost::Residency& r, const trace::TraceShape& shape, std::uint64_t capacity);

// A batch's or a block's new token at position `at` (sequence b's token of this step) under the rule
// every policy keeps (docs/design/batches.md): it joins its block if that is resident, or starts a
// block of its own and is kept; a block that is not resident is never brought in to write one token.
// Returns the entries added to HBM: k for a new block, else 0; sets *kept.
std::uint32_t keep_new_token(const trace::TraceShape& shape, std::uint32_t b, std::size_t at,
                             core::TokenBitset& layer, bool* kept);

// Per-layer share of a global capacity: floor(C / L), plus one for the first C mod L layers.
std::uint64_t layer_budget(std::uint64_t capacity, std::uint32_t layers, std::uint32_t l);

}  // namespace kvsweep::policy
