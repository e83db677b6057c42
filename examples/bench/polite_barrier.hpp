#pragma once
/// @file polite_barrier.hpp
/// @brief A barrier for benchmark ranks that wait while others measure.

#include <mpi.h>

#include <chrono>
#include <thread>

namespace bench {

/// @brief Waits for every rank of `comm` without spinning (Open MPI's blocking
/// MPI_Barrier polls and would steal the cores the measured ranks use):
/// MPI_Ibarrier, then MPI_Test every `period`.
inline void polite_barrier(MPI_Comm comm, std::chrono::microseconds period = std::chrono::microseconds(50)) {
  MPI_Request req;
  MPI_Ibarrier(comm, &req);
  for (int done = 0;;) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (done) return;
    std::this_thread::sleep_for(period);
  }
}

}  // namespace bench
