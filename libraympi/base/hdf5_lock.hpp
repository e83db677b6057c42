#pragma once
// Debian's HDF5 is not built thread-safe: every HDF5 call of the process (the
// store's spill files, the timeline's event log) happens under this one lock.

#include <mutex>

namespace raympi::detail {

/// The process-wide lock around HDF5 calls (one instance: an inline function's static).
inline std::mutex& hdf5_mutex() {
  static std::mutex mu;
  return mu;
}

}  // namespace raympi::detail
