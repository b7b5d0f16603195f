#pragma once
// Factories of the baseline policies, one source file each under src/policy/. The precise definition
// of each policy is the comment at the top of its file (and docs/policies-and-oracle.md "Policies").

#include <memory>

#include "kvsweep/policy/policy.hpp"

namespace kvsweep::policy {

std::unique_ptr<Policy> make_unlimited_hbm(const PolicyContext& ctx);
std::unique_ptr<Policy> make_static(const PolicyContext& ctx);
std::unique_ptr<Policy> make_reactive_lru(const PolicyContext& ctx);
std::unique_ptr<Policy> make_page(const PolicyContext& ctx);
std::unique_ptr<Policy> make_streaming(const PolicyContext& ctx);
std::unique_ptr<Policy> make_h2o(const PolicyContext& ctx);
// Online policies of the families serving systems deploy (docs/policies-and-oracle.md "Online and offline").
std::unique_ptr<Policy> make_lru_hot(const PolicyContext& ctx);
std::unique_ptr<Policy> make_ema(const PolicyContext& ctx);
std::unique_ptr<Policy> make_arc(const PolicyContext& ctx);
std::unique_ptr<Policy> make_history(const PolicyContext& ctx);
std::unique_ptr<Policy> make_bandit(const PolicyContext& ctx);
std::unique_ptr<Policy> make_belady(const PolicyContext& ctx);
std::unique_ptr<Policy> make_sa_guided(const PolicyContext& ctx);
std::unique_ptr<Policy> make_fm_tracking(const PolicyContext& ctx);
// fm_tracking whose leftover capacity first keeps what ctx.plan holds (std::invalid_argument without one).
std::unique_ptr<Policy> make_fm_dual(const PolicyContext& ctx);

}  // namespace kvsweep::policy
