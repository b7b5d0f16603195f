#pragma once
// Progress on stderr: a redrawn bar with rate and ETA on a terminal, a plain line every 10 % otherwise.

#include <chrono>
#include <cstdint>
#include <string>

namespace kvsweep::cli {

class Progress {
 public:
  explicit Progress(std::string unit);
  // `note`: what the count leaves out, shown after the ETA ("gap 1.2 %").
  void update(std::uint64_t done, std::uint64_t total, const std::string& note = "");
  void finish();

 private:
  std::string unit_;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  bool counting_ = false;  // the first update() came: the rate counts from it
  std::chrono::steady_clock::time_point first_time_;
  std::uint64_t first_done_ = 0;
  int last_decile_ = -1;
  bool drawn_ = false;
};

}  // namespace kvsweep::cli
