#pragma once
// SIGTERM, SIGINT and SIGUSR1 as a request to stop: the handlers only count, the driver polls.

namespace kvsweep::driver {

class StopSignals {
 public:
  // Installs the handlers (process-wide) for the lifetime of this object.
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  // Installs the handlers again, keeping the count: for after a library (MPI_Init) may have set its own.
  void reinstall();

  // How many stop signals arrived so far, and the last one's number.
  int count() const;
  int last() const;
};

}  // namespace kvsweep::driver
