#include "kvsweep/core/diagnostics.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

namespace kvsweep::core {

namespace {
std::string summary(const std::vector<Diagnostic>& diags) {
  std::string s;
  for (const auto& d : diags) {
    if (!s.empty()) s += '\n';
    s += d.str();
  }
  return s;
}

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const bool same = std::tolower(static_cast<unsigned char>(a[i - 1])) ==
                        std::tolower(static_cast<unsigned char>(b[j - 1]));
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (same ? 0 : 1)});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}
}  // namespace

InputError::InputError(std::vector<Diagnostic> diags)
    : std::runtime_error(summary(diags)), diags_(std::move(diags)) {}

void DiagnosticSink::throw_if_any() const {
  if (!diags_.empty()) throw InputError(diags_);
}

std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates) {
  // What a user typed short comes first: the names it begins or is another form of,
  // nearest spelling first ('gh200' -> gh200-spec, gh200-measured, though gb200 is one letter away;
  // 'policy' -> policies, policy_params); then one typo away ('varation' -> variation); then the names
  // it is part of ('lru' -> reactive_lru); then the nearest spelling, if near enough.
  std::string nearest;
  std::size_t nearest_d = std::max<std::size_t>(2, word.size() / 3) + 1;
  std::vector<std::pair<std::size_t, std::string>> begun, stemmed, part_of;  // (distance, name)
  // Another form of the same word: a common stem of 4+ letters with endings of letters only
  // (policy / policies), not names that differ in a number (llama-3.1-7b / llama-3.1-70b).
  const std::size_t stem_min = 4;
  auto letters_only = [](const std::string& s, std::size_t from) {
    return std::all_of(s.begin() + static_cast<std::ptrdiff_t>(from), s.end(),
                       [](char ch) { return std::islower(static_cast<unsigned char>(ch)) != 0; });
  };
  for (const auto& c : candidates) {
    if (c == word) continue;
    const std::size_t d = edit_distance(word, c);
    if (d < nearest_d) {
      nearest_d = d;
      nearest = c;
    }
    std::size_t stem = 0;
    while (stem < c.size() && stem < word.size() && c[stem] == word[stem]) ++stem;
    if (word.size() >= 2 && stem == word.size()) {
      begun.emplace_back(d, c);
    } else if (stem >= stem_min && stem + 2 >= word.size() && letters_only(word, stem) && letters_only(c, stem)) {
      stemmed.emplace_back(d, c);
    } else if (word.size() >= 2 && c.find(word) != std::string::npos) {
      part_of.emplace_back(d, c);
    }
  }
  auto listed = [](std::vector<std::pair<std::size_t, std::string>>& names) {
    std::stable_sort(names.begin(), names.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string s;
    for (std::size_t i = 0; i < names.size() && i < 3; ++i) s += (i == 0 ? "" : "' or '") + names[i].second;
    return s;
  };
  begun.insert(begun.end(), stemmed.begin(), stemmed.end());
  if (!begun.empty()) return listed(begun);
  if (!nearest.empty() && nearest_d <= 1) return nearest;
  if (!part_of.empty()) return listed(part_of);
  return nearest;
}

std::string join(const std::vector<std::string>& items, const std::string& sep) {
  std::string s;
  for (const auto& it : items) {
    if (!s.empty()) s += sep;
    s += it;
  }
  return s;
}

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t end = std::min(text.find(sep, start), text.size());
    if (end > start) out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace kvsweep::core
