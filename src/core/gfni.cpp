#include "gfni.hpp"

#if defined(__x86_64__)
namespace kvsweep::core::gfni {

bool available() {
  static const bool yes = __builtin_cpu_supports("avx512f") != 0 && __builtin_cpu_supports("avx512bw") != 0 &&
                          __builtin_cpu_supports("avx512vbmi") != 0 && __builtin_cpu_supports("gfni") != 0 &&
                          __builtin_cpu_supports("bmi2") != 0;
  return yes;
}

}  // namespace kvsweep::core::gfni
#endif
