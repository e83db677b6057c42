#include "timeline/clock_sync.hpp"

#include <cstdint>
#include <limits>

namespace raympi::detail {

namespace {
constexpr int kTag = 7340;
constexpr int kRounds = 8;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}
}  // namespace

JobClock synchronize_job_clock(MPI_Comm comm) {
  const int rank = comm_rank(comm), size = comm_size(comm);
  std::int64_t epoch0 = rank == 0 ? now_ns() : 0;  // rank 0's start, on rank 0's clock
  // offset = rank 0's clock - this rank's clock, from the round with the shortest trip.
  std::int64_t offset = 0, best_rtt = 0;
  if (rank == 0) {
    for (int r = 1; r < size; ++r)
      for (int i = 0; i < kRounds; ++i) {
        std::int64_t dummy = 0;
        MPI_Recv(&dummy, 1, MPI_INT64_T, r, kTag, comm, MPI_STATUS_IGNORE);
        std::int64_t t0 = now_ns();
        MPI_Send(&t0, 1, MPI_INT64_T, r, kTag, comm);
      }
  } else {
    best_rtt = std::numeric_limits<std::int64_t>::max();
    for (int i = 0; i < kRounds; ++i) {
      std::int64_t t1 = now_ns(), t0 = 0;
      MPI_Send(&t1, 1, MPI_INT64_T, 0, kTag, comm);
      MPI_Recv(&t0, 1, MPI_INT64_T, 0, kTag, comm, MPI_STATUS_IGNORE);
      std::int64_t t2 = now_ns();
      if (t2 - t1 < best_rtt) {
        best_rtt = t2 - t1;
        offset = t0 - (t1 + t2) / 2;
      }
    }
  }
  MPI_Bcast(&epoch0, 1, MPI_INT64_T, 0, comm);
  double err_us = double(best_rtt) / 2000.0, max_err = 0;
  MPI_Allreduce(&err_us, &max_err, 1, MPI_DOUBLE, MPI_MAX, comm);
  JobClock c;
  c.epoch = Clock::time_point(std::chrono::nanoseconds(epoch0 - offset));
  c.error_us = max_err;
  return c;
}

}  // namespace raympi::detail
