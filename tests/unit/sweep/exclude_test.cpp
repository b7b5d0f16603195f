// `exclude:` rules are matched through an index (src/sweep/exclude_index.hpp) rather than tried one by
// one on every point. On random sweeps with random rules — keys that overlap between rules, lists of
// values, numbers spelled several ways, inline mappings matched by name or in full, zipped axes, rules
// inside `points:` entries and keys an entry gives as one value — the points kept must be exactly those
// a straightforward matcher keeps: the same sweep without its rules, filtered here point by point by
// the documented semantics (a point matching every key of a rule is dropped; a list means any of its
// values; an inline mapping matches by its name; numbers compare by value).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iterator>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "kvsweep/core/diagnostics.hpp"
#include "kvsweep/sweep/sweep.hpp"

namespace kvsweep::sweep {
namespace {

// One value of an axis: its spellings, the first as the axis lists it.
using Spellings = std::vector<std::string>;

struct Pool {
  std::string key;  // dotted for the knob groups
  std::vector<Spellings> values;
};

const std::string kTinyA =
    "{name: tinyA, layers: 2, kv_bytes_per_token_layer: 1000, weight_bytes_per_layer: 1.0e6}";
const std::string kTinyB =
    "{name: tinyB, layers: 3, kv_bytes_per_token_layer: 2000, weight_bytes_per_layer: 2.0e6}";

const std::vector<Pool>& pools() {
  static const std::vector<Pool> kPools = {
      {"sparsity",
       {{"0.1", "0.10", "1e-1"}, {"0.5", "0.50", "5e-1"}, {"0.7", "0.70", "7.0e-1"}, {"0.9", "9e-1"}}},
      {"variation", {{"low"}, {"actual"}, {"high"}, {"0.7", "0.70"}}},
      {"prompt_tokens", {{"500", "5e2"}, {"1000", "1e3"}, {"2000", "2.0e3"}, {"4000"}}},
      {"decode_tokens", {{"50"}, {"100", "1e2"}, {"200"}}},
      {"model",
       {{"llama-3.1-8b"},
        {"llama-2-7b"},
        {kTinyA, "tinyA",
         "{weight_bytes_per_layer: 1e6, name: tinyA, layers: 2.0, kv_bytes_per_token_layer: 1000}"},
        {kTinyB, "tinyB"}}},
      {"synthetic.span_tokens", {{"4"}, {"8", "8.0"}, {"16"}}},
      {"policy_params.page_tokens", {{"8"}, {"16"}, {"32", "3.2e1"}}},
  };
  return kPools;
}

const Pool& pool(const std::string& key) {
  for (const auto& p : pools()) {
    if (p.key == key) return p;
  }
  std::abort();
}

// Values compared as the documentation says, written independently of src/sweep: numbers by value,
// other scalars by text, mappings key by key, a scalar against a mapping by the mapping's name.
bool reference_match(const YAML::Node& value, const YAML::Node& wanted) {
  if (value.IsScalar() && wanted.IsScalar()) {
    char* end_a = nullptr;
    char* end_b = nullptr;
    const std::string& a = value.Scalar();
    const std::string& b = wanted.Scalar();
    const double x = std::strtod(a.c_str(), &end_a);
    const double y = std::strtod(b.c_str(), &end_b);
    if (!a.empty() && !b.empty() && *end_a == '\0' && *end_b == '\0') return x == y;
    return a == b;
  }
  if (value.IsMap() && wanted.IsScalar()) return value["name"] && value["name"].Scalar() == wanted.Scalar();
  if (value.IsMap() && wanted.IsMap()) {
    if (value.size() != wanted.size()) return false;
    for (const auto& kv : value) {
      const YAML::Node other = wanted[kv.first.Scalar()];
      if (!other || !reference_match(kv.second, other)) return false;
    }
    return true;
  }
  return false;
}

struct Rule {
  std::vector<std::pair<std::string, std::vector<std::string>>> pairs;  // key, values as written
  std::string yaml() const {
    std::string s = "{";
    for (std::size_t i = 0; i < pairs.size(); ++i) {
      s += (i ? ", " : "") + pairs[i].first + ": ";
      if (pairs[i].second.size() == 1) {
        s += pairs[i].second[0];
      } else {
        s += "[";
        for (std::size_t j = 0; j < pairs[i].second.size(); ++j) s += (j ? ", " : "") + pairs[i].second[j];
        s += "]";
      }
    }
    return s + "}";
  }
};

// A level's axes: key -> indices into its pool's values.
using Axes = std::map<std::string, std::vector<std::size_t>>;

struct Entry {
  Axes lists;                                  // keys the entry sweeps itself
  std::map<std::string, std::size_t> singles;  // keys the entry gives one value
  std::vector<Rule> rules;
};

struct RandomSweep {
  Axes top;
  std::vector<std::string> zip;  // one group, or empty
  std::vector<Rule> rules;
  std::vector<Entry> entries;  // empty: no `points:`

  std::string yaml(bool with_rules) const {
    std::string s = "hardware: gh200-measured\nhbm_capacity_ratio: 0.25\npolicies: [static]\n";
    for (const auto& [key, fixed] : std::map<std::string, std::string>{
             {"model", "llama-3.1-8b"}, {"prompt_tokens", "1000"}, {"decode_tokens", "100"}}) {
      if (!top.count(key)) s += key + ": " + fixed + "\n";
    }
    std::map<std::string, std::string> groups;  // knob group -> "{k: [...], ...}" body
    for (const auto& [key, indices] : top) {
      const std::string list = list_of(key, indices);
      const auto dot = key.find('.');
      if (dot == std::string::npos) {
        s += key + ": " + list + "\n";
      } else {
        std::string& body = groups[key.substr(0, dot)];
        body += (body.empty() ? "" : ", ") + key.substr(dot + 1) + ": " + list;
      }
    }
    for (const auto& [group, body] : groups) s += group + ": {" + body + "}\n";
    if (!zip.empty()) s += "zip: [[" + zip[0] + ", " + zip[1] + "]]\n";
    if (with_rules && !rules.empty()) {
      s += "exclude:\n";
      for (const auto& r : rules) s += "  - " + r.yaml() + "\n";
    }
    if (entries.empty()) return s;
    s += "points:\n";
    for (std::size_t i = 0; i < entries.size(); ++i) {
      const Entry& e = entries[i];
      s += "  - name: e" + std::to_string(i) + "\n    seed: " + std::to_string(i + 1) + "\n";
      std::map<std::string, std::string> egroups;
      auto put = [&](const std::string& key, const std::string& text) {
        const auto dot = key.find('.');
        if (dot == std::string::npos) {
          s += "    " + key + ": " + text + "\n";
        } else {
          std::string& body = egroups[key.substr(0, dot)];
          body += (body.empty() ? "" : ", ") + key.substr(dot + 1) + ": " + text;
        }
      };
      for (const auto& [key, indices] : e.lists) put(key, list_of(key, indices));
      for (const auto& [key, index] : e.singles) put(key, pool(key).values[index][0]);
      for (const auto& [group, body] : egroups) s += "    " + group + ": {" + body + "}\n";
      if (with_rules && !e.rules.empty()) {
        s += "    exclude:\n";
        for (const auto& r : e.rules) s += "      - " + r.yaml() + "\n";
      }
    }
    return s;
  }

  static std::string list_of(const std::string& key, const std::vector<std::size_t>& indices) {
    std::string s = "[";
    for (std::size_t j = 0; j < indices.size(); ++j) s += (j ? ", " : "") + pool(key).values[indices[j]][0];
    return s + "]";
  }
};

std::vector<std::size_t> some_of(std::size_t n, std::size_t at_least, std::mt19937_64& rng) {
  std::vector<std::size_t> all(n);
  for (std::size_t i = 0; i < n; ++i) all[i] = i;
  std::shuffle(all.begin(), all.end(), rng);
  const std::size_t k = at_least + rng() % (n - at_least + 1);
  all.resize(k);
  return all;
}

// A rule over `axes` (key -> the value indices on it): 1-3 keys (mostly 2-3), each one value or a list of
// 2-3, each value in a random spelling.
Rule random_rule(const Axes& axes, std::mt19937_64& rng) {
  std::vector<std::string> keys;
  for (const auto& [key, values] : axes) keys.push_back(key);
  std::shuffle(keys.begin(), keys.end(), rng);
  keys.resize(std::min<std::size_t>(keys.size(), rng() % 4 == 0 ? 1 : 2 + rng() % 2));
  Rule r;
  for (const auto& key : keys) {
    const auto& on_axis = axes.at(key);
    std::vector<std::size_t> picked = on_axis;
    std::shuffle(picked.begin(), picked.end(), rng);
    picked.resize(std::min<std::size_t>(picked.size(), rng() % 3 == 0 ? 2 + rng() % 2 : 1));
    std::vector<std::string> spelled;
    for (const auto i : picked) {
      const Spellings& sp = pool(key).values[i];
      spelled.push_back(sp[rng() % sp.size()]);
    }
    r.pairs.emplace_back(key, spelled);
  }
  return r;
}

RandomSweep random_sweep(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  RandomSweep s;
  std::vector<std::size_t> which = some_of(pools().size(), 2, rng);
  which.resize(std::min<std::size_t>(which.size(), 4));
  for (const auto p : which) s.top[pools()[p].key] = some_of(pools()[p].values.size(), 2, rng);
  // Zip two axes of one length, when there are.
  for (auto a = s.top.begin(); a != s.top.end() && s.zip.empty(); ++a) {
    for (auto b = std::next(a); b != s.top.end(); ++b) {
      if (a->second.size() == b->second.size() && a->second.size() > 1 && rng() % 2 == 0) {
        s.zip = {a->first, b->first};
        break;
      }
    }
  }
  const std::size_t rules = 1 + rng() % 5;
  for (std::size_t i = 0; i < rules; ++i) s.rules.push_back(random_rule(s.top, rng));
  if (rng() % 2 == 0) {
    // Entry 0 keeps the defaults (so every top-level rule names an axis somewhere); the others
    // replace unzipped default axes by lists or single values, or sweep keys of their own.
    const std::size_t n = 1 + rng() % 3;
    for (std::size_t i = 0; i < n; ++i) {
      Entry e;
      if (i > 0) {
        for (const auto& p : pools()) {
          if (std::find(s.zip.begin(), s.zip.end(), p.key) != s.zip.end() || rng() % 3 != 0) continue;
          if (rng() % 2 == 0) {
            e.lists[p.key] = some_of(p.values.size(), 1, rng);
          } else {
            e.singles[p.key] = rng() % p.values.size();
          }
        }
      }
      Axes axes = s.top;
      for (const auto& [key, index] : e.singles) axes.erase(key);
      for (const auto& [key, indices] : e.lists) axes[key] = indices;
      if (!axes.empty() && rng() % 2 == 0) e.rules.push_back(random_rule(axes, rng));
      s.entries.push_back(std::move(e));
    }
  }
  return s;
}

// The value a point takes on `axis`, as the sweep reports it (empty when the point gives none).
std::string value_of(const SweepPoint& p, const std::string& axis) {
  for (const auto& [name, value] : p.axes) {
    if (name == axis) return value;
  }
  return "";
}

bool rule_matches(const Rule& r, const SweepPoint& p) {
  for (const auto& [key, values] : r.pairs) {
    const std::string text = value_of(p, key);
    if (text.empty()) return false;
    const YAML::Node value = YAML::Load(text);
    bool any = false;
    for (const auto& v : values) any = any || reference_match(value, YAML::Load(v));
    if (!any) return false;
  }
  return true;
}

TEST(SweepExclude, IndexedMatchingKeepsExactlyWhatAReferenceMatcherKeeps) {
  int compared = 0, emptied = 0;
  std::size_t dropped_total = 0;
  for (std::uint64_t seed = 1; seed <= 200; ++seed) {
    const RandomSweep rs = random_sweep(seed);
    const std::string all_text = rs.yaml(false);
    const std::string ruled_text = rs.yaml(true);
    const Sweep all = load_sweep_text(all_text, "all.yaml");
    // The reference: every point of the sweep without rules that no rule of its level matches.
    std::vector<const SweepPoint*> kept;
    std::map<std::string, std::size_t> kept_per_entry, points_per_entry;
    for (const auto& p : all.points) {
      const std::string entry = p.spec.name;  // "e<i>", or "" without `points:`
      bool drop = false;
      for (const auto& r : rs.rules) drop = drop || rule_matches(r, p);
      if (!entry.empty()) {
        for (const auto& r : rs.entries[std::stoul(entry.substr(1))].rules) drop = drop || rule_matches(r, p);
      }
      ++points_per_entry[entry];
      if (drop) continue;
      kept.push_back(&p);
      ++kept_per_entry[entry];
    }
    bool some_entry_emptied = false;
    for (const auto& [entry, n] : points_per_entry)
      some_entry_emptied = some_entry_emptied || !kept_per_entry[entry];
    if (some_entry_emptied) {
      // Documented as an error: "exclude leaves none of its N points".
      try {
        load_sweep_text(ruled_text, "ruled.yaml");
        ADD_FAILURE() << "seed " << seed << ": a level left without points was accepted:\n" << ruled_text;
      } catch (const core::InputError& e) {
        EXPECT_NE(std::string(e.what()).find("exclude leaves none"), std::string::npos) << e.what();
      }
      ++emptied;
      continue;
    }
    Sweep ruled;
    try {
      ruled = load_sweep_text(ruled_text, "ruled.yaml");
    } catch (const core::InputError& e) {
      FAIL() << "seed " << seed << ": " << e.what() << "\n" << ruled_text;
    }
    ASSERT_EQ(ruled.points.size(), kept.size()) << "seed " << seed << ":\n" << ruled_text;
    for (std::size_t i = 0; i < kept.size(); ++i) {
      ASSERT_EQ(ruled.points[i].id, kept[i]->id) << "seed " << seed << ", point " << i << ":\n" << ruled_text;
    }
    ++compared;
    dropped_total += all.points.size() - kept.size();
  }
  // The generator must exercise both outcomes, and drop points in the compared sweeps.
  EXPECT_GE(compared, 100);
  EXPECT_GE(emptied, 1);
  EXPECT_GE(dropped_total, 500u);
  std::printf("compared %d random sweeps (%zu points dropped), %d left a level empty\n", compared,
              dropped_total, emptied);
}

// CPU time of the calling thread: what loading cost, however loaded the machine is.
double thread_cpu_s() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// 5,000 points (25 prompt lengths x 10 decode lengths x 20 sparsities) and `rules` rules naming all three
// axes, one value each.
std::string many_rules_sweep(std::size_t rules) {
  std::string s =
      "model: llama-3.1-8b\nhardware: gh200-measured\nhbm_capacity_ratio: 0.25\npolicies: [static]\n";
  std::vector<std::string> prompt, decode, sparsity;
  for (int i = 1; i <= 25; ++i) prompt.push_back(std::to_string(1000 * i));
  for (int i = 1; i <= 10; ++i) decode.push_back(std::to_string(100 * i));
  for (int i = 0; i < 20; ++i) sparsity.push_back(std::to_string(5 * i + 1) + "e-2");
  const auto list = [](const std::vector<std::string>& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + v[i];
    return out + "]";
  };
  s += "prompt_tokens: " + list(prompt) + "\ndecode_tokens: " + list(decode) +
       "\nsparsity: " + list(sparsity) + "\nexclude:\n";
  std::mt19937_64 rng(rules);
  for (std::size_t r = 0; r < rules; ++r) {
    s += "  - {prompt_tokens: " + prompt[rng() % prompt.size()] +
         ", decode_tokens: " + decode[rng() % decode.size()] +
         ", sparsity: " + sparsity[rng() % sparsity.size()] + "}\n";
  }
  return s;
}

// Issue 27 item 10: every rule was tried on every point (~7 us per point and rule: 99,000 points took 36 s
// with 50 rules, over 120 s with 2,000). With the rules indexed, 1,000 rules cost about what 10 do.
TEST(SweepExclude, ThousandsOfRulesCostAboutWhatAFewDo) {
  const std::string few = many_rules_sweep(10), many = many_rules_sweep(1000);
  double t0 = thread_cpu_s();
  const Sweep a = load_sweep_text(few, "few.yaml");
  const double few_s = thread_cpu_s() - t0;
  t0 = thread_cpu_s();
  const Sweep b = load_sweep_text(many, "many.yaml");
  const double many_s = thread_cpu_s() - t0;
  EXPECT_GT(a.points.size(), 4950u);
  EXPECT_LT(b.points.size(), 4500u);  // the rules do drop points
  EXPECT_LT(many_s, 2 * few_s + 0.1) << "10 rules: " << few_s << " s, 1,000 rules: " << many_s << " s (CPU)";
  std::printf("5,000 points: 10 rules %.3f s, 1,000 rules %.3f s (CPU)\n", few_s, many_s);
}

// The semantics at the edges, spelled out: a zipped pair named by one rule, a rule naming a key an
// entry gives as one value, and an inline mapping given in full with its keys in another order.
TEST(SweepExclude, ZippedAxesSingleValuesAndInlineMappings) {
  const std::string base = "hardware: gh200-measured\nhbm_capacity_ratio: 0.25\npolicies: [static]\n";
  Sweep s = load_sweep_text(base +
                                "prompt_tokens: [500, 1000, 2000]\ndecode_tokens: [50, 100, 200]\n"
                                "model: llama-3.1-8b\nzip: [prompt_tokens, decode_tokens]\n"
                                "exclude: [{prompt_tokens: 1e3, decode_tokens: [50, 100]}, "
                                "{prompt_tokens: 2000, decode_tokens: 50}]\n",
                            "z.yaml");
  ASSERT_EQ(s.points.size(), 2u);  // (1000, 100) dropped; (2000, 200) kept: the second rule never matches
  EXPECT_EQ(s.points[1].spec.prompt_tokens, 2000u);
  s = load_sweep_text(
      base + "prompt_tokens: 1000\ndecode_tokens: 100\nmodel: [llama-3.1-8b, " + kTinyA +
          "]\nsparsity: [0.5, 0.7]\n"
          "exclude: [{model: {layers: 2, weight_bytes_per_layer: 1e6, kv_bytes_per_token_layer: "
          "1000.0, name: tinyA}, sparsity: 0.50}]\n"
          "points:\n  - {seed: 1}\n  - {seed: 2, sparsity: 0.7}\n",
      "i.yaml");
  // Entry 0: 4 points minus (tinyA, 0.5); entry 1: sparsity is one value there (0.7), never 0.5.
  EXPECT_EQ(s.points.size(), 3u + 2u);
}

}  // namespace
}  // namespace kvsweep::sweep
