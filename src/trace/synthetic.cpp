#include "kvsweep/trace/synthetic.hpp"

#include <tbb/blocked_range.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <stdexcept>
#include <string>

#include "kvsweep/core/rng.hpp"
#include "kvsweep/trace/random_swap.hpp"
#include "synthetic_layer.hpp"

namespace kvsweep::trace {

namespace {
// Stream purposes for core::derive_seed ("syn-layr", "syn-shrd" in ASCII).
constexpr std::uint64_t kStreamLayer = 0x73796e2d6c617972ULL;
constexpr std::uint64_t kStreamShared = 0x73796e2d73687264ULL;
}  // namespace

struct SyntheticSource::Impl {
  config::SyntheticParams params;
  TraceShape shape;
  std::uint64_t seed = 0;
  bool parallel = true;
  std::uint32_t dense = 0;
  SyntheticDerived derived;
  detail::PositionProfile profile;
  std::vector<detail::LayerGenerator> sparse;  // layers dense .. L-1
  std::uint32_t next_step = 0;
};

SyntheticSource::SyntheticSource(const config::SyntheticParams& p, TraceShape shape, std::uint64_t seed,
                                 bool parallel_layers)
    : impl_(std::make_unique<Impl>()) {
  require_valid(p);
  Impl& im = *impl_;
  im.params = p;
  im.shape = shape;
  im.seed = seed;
  im.parallel = parallel_layers;
  im.dense = std::min(p.dense_layers, shape.layers);
  im.derived = derive_parameters(p, shape);
  im.next_step = shape.prompt_tokens;
  im.profile = detail::PositionProfile(p.recency_slope, p.uniform_share, p.sparsity);
  im.sparse.reserve(shape.layers - im.dense);
  for (std::uint32_t l = im.dense; l < shape.layers; ++l) {
    detail::LayerModel m;
    m.end_step = shape.total_tokens();
    m.heavy_share = p.heavy_share;
    m.recall_prob = p.recall_prob;
    m.cross_share = p.cross_layer_share;
    m.span_length = detail::Geometric(p.span_tokens);
    m.heavy_life = detail::Geometric(im.derived.layer_heavy_lifetime_steps[l]);
    m.burst_life = detail::Geometric(im.derived.layer_burst_lifetime_steps[l]);
    m.profile = &im.profile;
    m.seed = core::derive_seed({seed, kStreamLayer, l});
    im.sparse.emplace_back(m);
  }
}

SyntheticSource::~SyntheticSource() = default;

TraceShape SyntheticSource::shape() const { return impl_->shape; }

const SyntheticDerived& SyntheticSource::derived() const { return impl_->derived; }

void SyntheticSource::read_step(std::uint32_t n, std::span<core::TokenBitset> reads) {
  Impl& im = *impl_;
  const TraceShape& s = im.shape;
  if (n != im.next_step || n >= s.total_tokens()) {
    throw std::logic_error("synthetic trace: step " + std::to_string(n) + " requested, expected " +
                           std::to_string(im.next_step) + " (steps run in order up to " +
                           std::to_string(s.total_tokens()) + ")");
  }
  if (reads.size() < s.layers) throw std::logic_error("synthetic trace: fewer bitsets than layers");
  for (std::uint32_t l = 0; l < s.layers; ++l) {
    if (reads[l].capacity() < s.total_tokens()) {
      throw std::logic_error("synthetic trace: bitset smaller than P + D");
    }
  }

  const ReadLayout lay = read_layout(im.params, n);
  const std::uint64_t shared_seed = core::derive_seed({im.seed, kStreamShared, n});
  auto run = [&](std::uint32_t l) {
    if (l < im.dense) {
      reads[l].clear();
      reads[l].set_range(0, n);
    } else {
      im.sparse[l - im.dense].step(n, lay, shared_seed, reads[l]);
    }
  };
  if (im.parallel && s.layers > 1) {
    tbb::parallel_for(tbb::blocked_range<std::uint32_t>(0, s.layers),
                      [&](const tbb::blocked_range<std::uint32_t>& r) {
                        for (std::uint32_t l = r.begin(); l < r.end(); ++l) run(l);
                      });
  } else {
    for (std::uint32_t l = 0; l < s.layers; ++l) run(l);
  }
  ++im.next_step;
}

void SyntheticSource::live_spans(std::uint32_t layer, SpanKind kind, core::TokenBitset& out) const {
  const Impl& im = *impl_;
  if (layer >= im.shape.layers) throw std::out_of_range("synthetic trace: layer out of range");
  if (layer < im.dense) {
    out.clear();  // dense layers have no spans
    return;
  }
  im.sparse[layer - im.dense].live_spans(kind, out);
}

std::unique_ptr<TraceSource> make_synthetic_source(const config::SyntheticParams& p, TraceShape shape,
                                                   std::uint64_t seed) {
  if (p.model == config::SyntheticModel::kRandomSwap) return make_random_swap_source(p, shape, seed);
  return std::make_unique<SyntheticSource>(p, shape, seed);
}

}  // namespace kvsweep::trace
