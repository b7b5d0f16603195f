// The id of a design point: a hash of the canonical text of every parameter that changes its numbers.
// It is computed from the parsed PointSpec, never from YAML text, so key order, list order, spacing and
// spellings of the same number (0.5, 0.50, 5e-1) give the same id.
#include <cstdio>
#include <sstream>

#include "kvsweep/config/point.hpp"
#include "kvsweep/core/hash.hpp"

namespace kvsweep::config {

std::string point_id(const PointSpec& p) {
  // %.17g keeps doubles exact. The order and separators below are part of every stored id: changing
  // them changes the id of every point (and so breaks resuming older result files).
  std::ostringstream s;
  auto num = [&](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    s << buf << ';';
  };
  s << "model=" << p.model_name << ';' << p.model.layers << ';';
  num(p.model.kv_bytes_per_token_layer);
  num(p.model.weight_bytes_per_layer);
  num(p.model.resident_weight_bytes);
  s << "hw=";
  num(p.hardware.hbm_bw_gbps);
  num(p.hardware.link_read_gbps);
  num(p.hardware.link_write_gbps);
  num(p.hardware.dram_bw_gbps);
  s << "cap=" << static_cast<int>(p.capacity.kind) << ';';
  num(p.capacity.value);
  s << "P=" << p.prompt_tokens << ";D=" << p.decode_tokens << ';';
  if (!p.trace.file.empty()) {
    s << "file=" << p.trace.file << ';';
  } else {
    const auto& t = p.trace.synthetic;
    for (double v : {t.sparsity, t.target_jaccard, static_cast<double>(t.sink_tokens), t.recent_share,
                     t.heavy_share, t.heavy_lifetime_steps, t.span_tokens, t.recall_prob, t.layer_spread,
                     t.cross_layer_share, static_cast<double>(t.dense_layers)}) {
      num(v);
    }
    // Added with the random-swap model and the position profile: span-model traces with uniform
    // starts (slope 0 or every start uniform) keep the ids they had before either existed.
    if (t.model == SyntheticModel::kRandomSwap) {
      s << "model=random_swap;";
      num(random_swap_share(t));
      num(t.window_share);
    } else if (t.recency_slope > 0 && t.uniform_share < 1) {
      s << "profile=";
      num(t.recency_slope);
      num(t.uniform_share);
    }
  }
  const auto& pp = p.policy_params;
  for (double v :
       {static_cast<double>(pp.page_tokens), static_cast<double>(pp.streaming_sinks), pp.h2o_recent_share,
        static_cast<double>(pp.belady_lookahead), static_cast<double>(pp.sa_window), pp.sa_fraction}) {
    num(v);
  }
  s << "seed=" << p.seed;
  // Added with fm_tracking: points at its default look-ahead keep their ids.
  if (pp.fm_lookahead != PolicyParams{}.fm_lookahead) s << ";fm_lookahead=" << pp.fm_lookahead;
  // Added with the online policies (issue 26): points at ema's defaults keep their ids.
  if (pp.ema_decay != PolicyParams{}.ema_decay || pp.ema_admit != PolicyParams{}.ema_admit ||
      pp.ema_prefetch != PolicyParams{}.ema_prefetch) {
    s << ";ema=";
    num(pp.ema_decay);
    num(pp.ema_admit);
    num(pp.ema_prefetch);
  }
  // Added with the balanced read mode: resident points keep the ids they had before it existed.
  if (p.hbm_reads == HbmReads::kBalanced) s << ";hbm_reads=balanced";
  // Added with weights_in_dram: points without the mirror keep their ids.
  if (p.weights_in_dram == WeightsInDram::kMirror) s << ";weights_in_dram=mirror";
  // Added with batches, blocks and per-transfer costs (issue 25): a lone sequence placed token by token
  // over a link without transfer costs keeps its id.
  if (p.batch_size != 1 || !p.batch_prompt_tokens.empty()) {
    s << ";B=" << p.batch_size;
    if (!p.batch_prompt_tokens.empty()) {
      s << ";prompts=";
      for (const std::uint32_t v : p.batch_prompt_tokens) s << v << ',';
    }
  }
  if (p.prompt_tokens_spread != 0) {
    s << ";spread=";
    num(p.prompt_tokens_spread);
  }
  if (!p.trace.files.empty()) {
    s << ";files=";
    for (const auto& f : p.trace.files) s << f << ',';
  }
  if (p.kv_block_tokens != 1) s << ";k=" << p.kv_block_tokens;
  if (p.read_unit == ReadUnit::kBlock) s << ";read_unit=block";
  if (p.hardware.link_transfer_overhead_bytes != 0) {
    s << ";O=";
    num(p.hardware.link_transfer_overhead_bytes);
  }
  return core::hex16(core::hash_text(s.str()));
}

}  // namespace kvsweep::config
