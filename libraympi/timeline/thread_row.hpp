#pragma once
// Which timeline row the calling thread's tasks go on: worker threads set
// theirs when they start (their slot and pinned PU); any other thread that
// runs a task (a get running a queued task inline) is the driver-thread row.

#include "timeline/records.hpp"

namespace raympi::detail {

/// @brief A thread's row in the timeline.
struct ThreadRow {
  int row = TaskRecord::kDriverRow;
  int pu = -1;  // the PU it is pinned to; -1 unpinned
};

/// The calling thread's row.
ThreadRow this_thread_row();
/// Called once by a worker thread as it starts.
void set_this_thread_row(int row, int pu);

}  // namespace raympi::detail
