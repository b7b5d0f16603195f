#include "kvsweep/trace/source.hpp"

namespace kvsweep::trace {

std::size_t TraceShape::base(std::uint32_t b) const {
  if (prompts.empty()) return 0;
  const std::size_t a = alignment();
  std::size_t at = 0;
  for (std::uint32_t i = 0; i < b; ++i) at = (at + prompts[i] + decode_tokens + a - 1) / a * a;
  return at;
}

std::uint64_t TraceShape::footprint_tokens() const {
  if (prompts.empty()) return total_tokens();
  std::uint64_t f = 0;
  for (const std::uint32_t p : prompts) f += std::uint64_t{p} + decode_tokens;
  return f;
}

}  // namespace kvsweep::trace
