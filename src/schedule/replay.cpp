// `schedule`: replays a schedule file (schedule_file.hpp) as a policy, so that the simulator and the one
// judge score it exactly as they score every policy. Offline: whatever wrote the file may have seen
// the future. Capacity is enforced unless the file says capacity = "unlimited".
#include "kvsweep/schedule/schedule_file.hpp"

namespace kvsweep::schedule {

namespace {
class Replay final : public policy::Policy {
 public:
  Replay(const std::string& path, const policy::PolicyContext& ctx)
      : shape_(ctx.shape), reader_(path, ctx.shape, ctx.memory.capacity_entries) {}
  std::string_view name() const override { return "schedule"; }
  bool respects_capacity() const override { return reader_.info().respects_capacity; }
  void place_prefill(const policy::StepWindow&, cost::Residency& r) override { reader_.apply(0, r); }
  void step(const policy::StepWindow& w, cost::Residency& r) override {
    reader_.apply(w.n() - shape_.prompt_tokens + 1, r);
  }

 private:
  trace::TraceShape shape_;
  ScheduleReader reader_;
};
}  // namespace

std::unique_ptr<policy::Policy> make_replay_policy(const std::string& path, const policy::PolicyContext& ctx) {
  return std::make_unique<Replay>(path, ctx);
}

}  // namespace kvsweep::schedule
