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
  // Whether the first stop signal was SIGTERM sent by this process's parent: under mpirun, mpirun (or
  // its daemon) ending the job, which it does after a Ctrl-C and follows by SIGKILL a moment later.
  bool first_was_term_from_parent() const;
};

}  // namespace kvsweep::driver
