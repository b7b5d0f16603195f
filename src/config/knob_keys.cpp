// The knob groups of a point: `synthetic:` (the trace generator) and `policy_params:` (policy knobs).
#include <limits>

#include "kvsweep/config/limits.hpp"
#include "named.hpp"
#include "point_keys.hpp"

namespace kvsweep::config::detail {

namespace {
// Knobs counted in tokens go up to the longest prompt (a longer span, sink or page means the same as
// one of the whole sequence); counts of rounds, nodes and passes up to what could finish within
// months; wall-clock budgets up to 1e7 s (116 days).
constexpr std::uint32_t kMaxTokens = kMaxPromptTokens;
constexpr double kMaxWallS = 1e7;

std::vector<KeyDecl> make_synthetic_decls() {
  const auto g = &Draft::synthetic;
  using S = SyntheticParams;
  return {
      {"model", "string", "spans", "spans, random_swap",
       "spans: kvsweep's span model; random_swap: the authors' Fig. 4 generator (oldest tokens swapped for "
       "random ones)",
       [](const Field& f, YamlContext& ctx, Draft& d) {
         const auto text = read_string(f, ctx);
         if (!text) return false;
         const auto m = parse_synthetic_model(*text);
         if (!m) ctx.error(f.mark(), unknown_value("synthetic.model", "value", *text, {"spans", "random_swap"}));
         d.synthetic.model = m.value_or(SyntheticModel::kSpans);
         return m.has_value();
       }},
      integer_knob(g, "sink_tokens", &S::sink_tokens, 0, kMaxTokens,
                   "leading tokens read at every step (attention sinks, StreamingLLM); at most the longest prompt"),
      number_knob(g, "recent_share", &S::recent_share, closed(0, 1),
                  "share of the read budget given to the most recent tokens"),
      number_knob(g, "heavy_share", &S::heavy_share, closed(0, 1),
                  "share of the remaining budget held by long-lived heavy hitters"),
      number_knob(g, "heavy_lifetime_steps", &S::heavy_lifetime_steps, closed(1, 1e12),
                  "mean lifetime of a heavy-hitter span, decode steps (1e12: forever)"),
      number_knob(g, "span_tokens", &S::span_tokens, closed(1, kMaxTokens),
                  "mean length of an attended span, tokens; at most the longest prompt"),
      number_knob(g, "recall_prob", &S::recall_prob, closed(0, 1),
                  "probability that a new burst revisits an earlier burst's span"),
      // The churn of the last layer is scaled by 1 - spread, which must stay >= 0.
      number_knob(g, "layer_spread", &S::layer_spread, closed(0, 1),
                  "churn of layer l scaled by 1 + spread * (1 - 2 l / (L - 1))"),
      number_knob(g, "cross_layer_share", &S::cross_layer_share, closed(0, 1),
                  "probability that a new burst copies the step's proposal shared by all layers"),
      integer_knob(g, "dense_layers", &S::dense_layers, 0, kMaxLayers,
                   "the first dense_layers layers read every past token (at most the model's layers)"),
      number_knob(g, "recency_slope", &S::recency_slope, closed(0, 100),
                  "span starts: read probability Phi(a t / n - theta) rises with position (0: uniform)"),
      number_knob(g, "uniform_share", &S::uniform_share, closed(0, 1),
                  "span starts: share drawn uniformly over the span region instead"),
      {"swap_share", "number", "(1 - J) / (1 + J) of variation's Jaccard J", "[0, 1]",
       "random_swap: share of the read set replaced per step, oldest tokens first",
       [](const Field& f, YamlContext& ctx, Draft& d) {
         const auto x = read_number(f, closed(0, 1), ctx);
         if (x) d.synthetic.swap_share = *x;
         return x.has_value();
       }},
      number_knob(g, "window_share", &S::window_share, closed(0, 1),
                  "random_swap: reads come from [lo, n), lo = floor((1 - min(1, r + f (1 - r))) n)"),
  };
}

std::vector<KeyDecl> make_policy_param_decls() {
  const auto g = &Draft::policy_params;
  using P = PolicyParams;
  return {
      integer_knob(g, "page_tokens", &P::page_tokens, 1, kMaxTokens,
                   "page: tokens per page (Quest uses 16); a page longer than the point's P + D tokens is one page of "
                   "them all and is evaluated as P + D"),
      integer_knob(g, "streaming_sinks", &P::streaming_sinks, 0, kMaxTokens,
                   "streaming: sink tokens kept in HBM; at most the longest prompt"),
      number_knob(g, "h2o_recent_share", &P::h2o_recent_share, closed(0, 1),
                  "h2o: share of each layer's HBM budget kept for recent tokens"),
      integer_knob(g, "belady_lookahead", &P::belady_lookahead, 1, 4096,
                   "belady: decode steps of look-ahead"),
      integer_knob(g, "sa_window", &P::sa_window, 1, 4096, "sa_guided: look-ahead window W, decode steps"),
      number_knob(g, "sa_fraction", &P::sa_fraction, {0, 1, true, false},
                  "sa_guided: fraction R of the candidates migrated"),
      integer_knob(g, "fm_lookahead", &P::fm_lookahead, 1, 4096, "fm_tracking: decode steps of look-ahead"),
      number_knob(g, "ema_decay", &P::ema_decay, {0, 1, true, false}, "ema: factor a block's read score decays by per decode step"),
      number_knob(g, "ema_admit", &P::ema_admit, closed(0, 1e6),
                  "ema: score (decayed reads, this one included) a read block needs to be promoted; at most 1: every read block"),
      number_knob(g, "ema_prefetch", &P::ema_prefetch, closed(0, 1e6),
                  "ema: score an evicted or refused block needs to be prefetched into the link's slack; 0: no prefetch"),
  };
}
std::vector<KeyDecl> make_oracle_decls() {
  const auto g = &Draft::oracle;
  using O = OracleSettings;
  return {
      integer_knob(g, "replicas", &O::replicas, 1, 256, "oracle: parallel-tempering replicas"),
      number_knob(g, "moves", &O::moves, closed(0, 1e15),
                  "oracle: move proposals over all replicas (1e15: years at 1e7 proposals/s)"),
      integer_knob(g, "moves_per_round", &O::moves_per_round, 1, 1'000'000'000,
                   "oracle: proposals per replica between swap rounds"),
      integer_knob(g, "patience_rounds", &O::patience_rounds, 1, 1'000'000'000,
                   "oracle: stop after this many rounds without a better schedule"),
      number_knob(g, "max_wall_s", &O::max_wall_s, closed(0, kMaxWallS),
                  "oracle: wall-clock budget, s (0: none; a limit makes results timing-dependent; 1e7 s: 116 days)"),
      number_knob(g, "max_memory_gb", &O::max_memory_gb, closed(0, 65536),
                  "memory for a point's large arrays: the oracle anneals in windows that fit, the tuning keeps the "
                  "trace in memory only within it, the Lagrangian runs only within it (65536 GB: more than any one "
                  "node; validate also refuses points whose estimated memory exceeds the machine's)"),
      integer_knob(g, "sa_replicas", &O::sa_replicas, 1, 64, "sa_guided tuning: replicas over (W, R)"),
      integer_knob(g, "sa_rounds", &O::sa_rounds, 1, 1'000'000,
                   "sa_guided tuning: round budget (each round passes over the trace)"),
      integer_knob(g, "sa_w_max", &O::sa_w_max, 1, 4096, "sa_guided tuning: largest window W tried"),
      integer_knob(g, "exact_max_binaries", &O::exact_max_binaries, 1, 1000000,
                   "exact: refuse points whose MILP has more binary variables"),
      integer_knob(g, "exact_max_nodes", &O::exact_max_nodes, 1, 1'000'000'000,
                   "exact: branch-and-bound node budget (unproven points say so)"),
      number_knob(g, "lagrangian_gap", &O::lagrangian_gap, closed(0, 1000),
                  "Lagrangian bound: computed where best schedule / best bound - 1 is above this, until it is not"),
      integer_knob(g, "lagrangian_passes", &O::lagrangian_passes, 0, 1'000'000,
                   "Lagrangian bound: passes over the trace (0: never computed; each a pass over every entry, ~0.5 "
                   "CPU s per 1e9 entry-states: minutes at paper scale, whatever the policies; `expand` shows its share)"),
      number_knob(g, "lagrangian_wall_s", &O::lagrangian_wall_s, closed(0, kMaxWallS),
                  "Lagrangian bound: wall-clock budget, s (0: none; a limit makes results timing-dependent)"),
  };
}
}  // namespace

const std::vector<KeyDecl>& oracle_key_decls() {
  static const std::vector<KeyDecl> kDecls = make_oracle_decls();
  return kDecls;
}

const std::vector<KeyDecl>& synthetic_key_decls() {
  static const std::vector<KeyDecl> kDecls = make_synthetic_decls();
  return kDecls;
}

const std::vector<KeyDecl>& policy_param_key_decls() {
  static const std::vector<KeyDecl> kDecls = make_policy_param_decls();
  return kDecls;
}

std::vector<std::string> key_names(const std::vector<KeyDecl>& decls) { return names_of(decls); }

const std::vector<std::string>& capacity_key_names() {
  static const std::vector<std::string> kNames = {"hbm_capacity_ratio", "hbm_capacity_gb",
                                                  "hbm_kv_capacity_entries"};
  return kNames;
}

void apply_fields(const std::vector<Field>& fields, const std::vector<KeyDecl>& decls, YamlContext& ctx,
                  Draft& draft) {
  for (const auto& f : fields) {
    const std::string key = f.key.Scalar();
    const KeyDecl* decl = find_by_name(decls, key);
    if (decl == nullptr) continue;  // a key the caller handles itself, such as `points`
    // A later level replaces an earlier one, including an earlier failure.
    draft.given[f.path] = f.key.Mark();
    draft.failed.erase(f.path);
    if (!decl->parse(f, ctx, draft)) draft.failed.insert(f.path);
  }
}

}  // namespace kvsweep::config::detail
