#pragma once
// The job clock: every rank's steady clock shifted onto rank 0's, so that the
// times in task records (and the timeline) of different hosts line up. Rank 0
// measures each rank's offset with a few MPI ping-pongs at init and keeps the
// sample with the shortest round trip; half that round trip bounds the error.

#include <chrono>

#include "transport/transport.hpp"

namespace raympi::detail {

/// @brief This rank's view of the job clock.
struct JobClock {
  /// Rank 0's start expressed on this rank's steady clock: job time = now - epoch.
  Clock::time_point epoch;
  /// The largest bound on any rank's offset error, in microseconds (same on every rank).
  double error_us = 0;
};

/// Collective over `comm`: measures the offsets and agrees on the epoch.
JobClock synchronize_job_clock(MPI_Comm comm);

}  // namespace raympi::detail
