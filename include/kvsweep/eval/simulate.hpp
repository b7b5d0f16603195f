#pragma once
// Moved to kvsweep/sim/simulate.hpp (namespace kvsweep::sim); these names stay for a transition.
#include "kvsweep/sim/simulate.hpp"

namespace kvsweep::eval {
using sim::PolicyRun;
using sim::ScheduleObserver;
using sim::SimulationOptions;
using sim::SimulationResult;
using sim::simulate;
}  // namespace kvsweep::eval
