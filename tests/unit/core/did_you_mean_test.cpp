#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kvsweep/config/hardware.hpp"
#include "kvsweep/config/model.hpp"
#include "kvsweep/core/diagnostics.hpp"

namespace kvsweep::core {
namespace {

// The cases that misled users: a short form must find the names it stands for before a name that is
// merely spelled alike ('gh200' is two edits from 'gb200').
TEST(DidYouMean, ShortFormsBeforeSpellingDistance) {
  const auto hardware = config::hardware_preset_names();
  EXPECT_EQ(did_you_mean("gh200", hardware), "gh200-spec' or 'gh200-measured");
  const std::vector<std::string> keys = {"name", "model", "hardware", "policies", "policy_params", "seed", "sparsity"};
  EXPECT_EQ(did_you_mean("policy", keys), "policies' or 'policy_params");
  const std::vector<std::string> policies = {"static", "reactive_lru", "page", "belady", "sa_guided"};
  EXPECT_EQ(did_you_mean("lru", policies), "reactive_lru");
  EXPECT_EQ(did_you_mean("sa", policies), "sa_guided");
}

TEST(DidYouMean, TyposStillFindTheirWord) {
  const std::vector<std::string> keys = {"sparsity", "seed", "synthetic", "variation"};
  EXPECT_EQ(did_you_mean("sparsty", keys), "sparsity");
  EXPECT_EQ(did_you_mean("varation", keys), "variation");
  EXPECT_EQ(did_you_mean("llama-3.1-8", config::model_preset_names()), "llama-3.1-8b' or 'llama-3.1-8b-paper");
  EXPECT_EQ(did_you_mean("llama-3.1-7b", config::model_preset_names()), "llama-3.1-8b") << "a number is not an ending";
  EXPECT_EQ(did_you_mean("zzzz", keys), "");
  EXPECT_EQ(did_you_mean("x", keys), "") << "one letter is not a short form of anything";
}

}  // namespace
}  // namespace kvsweep::core
