#include "stop_signal.hpp"

#include <unistd.h>

#include <atomic>
#include <csignal>

namespace kvsweep::driver {

namespace {
constexpr int kStopSignals[] = {SIGTERM, SIGINT, SIGUSR1};
std::atomic<int> g_count{0};
std::atomic<int> g_last{0};
std::atomic<bool> g_first_term_from_parent{false};
struct sigaction g_previous[sizeof kStopSignals / sizeof kStopSignals[0]];

extern "C" void on_stop_signal(int sig, siginfo_t* info, void*) {
  g_last.store(sig, std::memory_order_relaxed);
  if (g_count.load(std::memory_order_relaxed) == 0) {
    // getppid() is async-signal-safe.
    g_first_term_from_parent.store(sig == SIGTERM && info != nullptr && info->si_pid == getppid(),
                                   std::memory_order_relaxed);
  }
  g_count.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

namespace {
struct sigaction stop_action() {
  struct sigaction action {};
  action.sa_sigaction = on_stop_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART | SA_SIGINFO;  // slow system calls go on; the driver polls the count
  return action;
}
}  // namespace

StopSignals::StopSignals() {
  g_count = 0;
  g_first_term_from_parent = false;
  const struct sigaction action = stop_action();
  for (std::size_t i = 0; i < std::size(kStopSignals); ++i) sigaction(kStopSignals[i], &action, &g_previous[i]);
}

void StopSignals::reinstall() {
  const struct sigaction action = stop_action();
  for (const int sig : kStopSignals) sigaction(sig, &action, nullptr);
}

StopSignals::~StopSignals() {
  for (std::size_t i = 0; i < std::size(kStopSignals); ++i) sigaction(kStopSignals[i], &g_previous[i], nullptr);
}

int StopSignals::count() const { return g_count.load(std::memory_order_relaxed); }
int StopSignals::last() const { return g_last.load(std::memory_order_relaxed); }
bool StopSignals::first_was_term_from_parent() const {
  return g_first_term_from_parent.load(std::memory_order_relaxed);
}

}  // namespace kvsweep::driver
