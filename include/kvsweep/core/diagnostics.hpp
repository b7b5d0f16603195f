#pragma once
// Errors in user input (YAML, trace files, flags, output files). Each carries where it happened and
// what is allowed; the CLI prints all of them, one line each, and exits with code 2.

#include <stdexcept>
#include <string>
#include <vector>

namespace kvsweep::core {

struct Diagnostic {
  std::string where;    // "file:line:col", "file:line", "--flag" or "file"
  std::string message;  // what is wrong and what is allowed
  std::string str() const { return where.empty() ? message : where + ": " + message; }
};

// Thrown at the edges when input is bad. Never thrown for broken internal invariants.
class InputError : public std::runtime_error {
 public:
  explicit InputError(std::vector<Diagnostic> diags);
  InputError(std::string where, std::string message)
      : InputError(std::vector<Diagnostic>{{std::move(where), std::move(message)}}) {}
  const std::vector<Diagnostic>& diagnostics() const { return diags_; }

 private:
  std::vector<Diagnostic> diags_;
};

// Collects diagnostics while a whole input is checked, so that every problem is reported at once.
class DiagnosticSink {
 public:
  void add(std::string where, std::string message) { diags_.push_back({std::move(where), std::move(message)}); }
  bool empty() const { return diags_.empty(); }
  const std::vector<Diagnostic>& diagnostics() const { return diags_; }
  // Throws InputError with everything collected, if anything was.
  void throw_if_any() const;

 private:
  std::vector<Diagnostic> diags_;
};

// What the user probably meant, or "" when nothing is close: the names the word begins or is another
// form of (policy: policies); else one typo away; else the names it is part of (up to three, joined by "' or '"
// so that callers' quotes read 'a' or 'b'); else the nearest spelling within a third of its length.
std::string did_you_mean(const std::string& word, const std::vector<std::string>& candidates);
// "a, b, c" for messages listing allowed values.
std::string join(const std::vector<std::string>& items, const std::string& sep = ", ");
// The non-empty pieces of `text` between `sep`s: split("a,,b", ',') is {"a", "b"}.
std::vector<std::string> split(const std::string& text, char sep);

}  // namespace kvsweep::core
