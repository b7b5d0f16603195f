#include "kvsweep/cli/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace kvsweep::cli {

Progress::Progress(std::string unit)
    : unit_(std::move(unit)), tty_(isatty(STDERR_FILENO) != 0), start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

void Progress::update(std::uint64_t done, std::uint64_t total, const std::string& note) {
  const auto now = std::chrono::steady_clock::now();
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double frac = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
  // The rate from the first report on: work before it (the SA tuning ahead of the decode steps, say)
  // is not part of what is being counted.
  if (!counting_) {
    counting_ = true;
    first_time_ = now;
    first_done_ = done;
  }
  const double counted_s = std::chrono::duration<double>(now - first_time_).count();
  const double rate = counted_s > 0 && done > first_done_ ? static_cast<double>(done - first_done_) / counted_s : 0.0;
  const double eta = rate > 0 ? static_cast<double>(total - done) / rate : 0.0;
  const int rate_digits = rate < 10 ? 2 : 0;  // slow units (a bound pass takes seconds) are not "0/s"
  if (tty_) {
    if (done != total && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    constexpr int kWidth = 30;
    const int filled = static_cast<int>(frac * kWidth);
    std::fprintf(stderr, "\r[%.*s%*s] %llu/%llu %s  %.*f/s  ETA %.0f s  %s ", filled,
                 "##############################", kWidth - filled, "", static_cast<unsigned long long>(done),
                 static_cast<unsigned long long>(total), unit_.c_str(), rate_digits, rate, eta, note.c_str());
    drawn_ = true;
    return;
  }
  const int decile = static_cast<int>(frac * 10);
  if (decile == last_decile_) return;
  last_decile_ = decile;
  std::fprintf(stderr, "kvsweep: %3d%%  %llu/%llu %s  %.*f/s  elapsed %.1f s  ETA %.0f s%s%s\n", decile * 10,
               static_cast<unsigned long long>(done), static_cast<unsigned long long>(total), unit_.c_str(),
               rate_digits, rate, elapsed, eta, note.empty() ? "" : "  ", note.c_str());
}

void Progress::finish() {
  if (tty_ && drawn_) std::fprintf(stderr, "\n");
}

}  // namespace kvsweep::cli
