#pragma once
// Spilled objects: one HDF5 file per object (dataset "bytes", uint8) in this
// rank's folder of the job's spill directory. A file per object keeps freeing
// exact (the file goes, its space with it) and lets any reader open one
// object without a shared index.

#include <cstdint>
#include <string>

#include "raympi/detail/buffer.hpp"
#include "raympi/detail/ids.hpp"

namespace raympi::detail {

/// @brief This rank's spill folder: writes, reads and removes spilled objects.
class SpillDir {
 public:
  /// `job_dir` is the job's folder (created 0700 if missing); this rank uses job_dir/rank-<rank>.
  SpillDir(std::string job_dir, int rank);
  /// Removes this rank's folder and, when it is the last, the job's.
  ~SpillDir();
  SpillDir(const SpillDir&) = delete;
  SpillDir& operator=(const SpillDir&) = delete;

  /// Writes the object's bytes; returns the file's path. Throws raympi::Error naming the file and the cause.
  std::string write(ObjectId id, const Buffer& bytes);
  /// Reads a spilled object back (exactly `size` bytes).
  Buffer read(const std::string& path, std::uint64_t size);
  void remove(const std::string& path);
  const std::string& folder() const { return folder_; }

 private:
  void ensure_folder();
  std::string job_dir_, folder_;
  bool created_ = false;
};

}  // namespace raympi::detail
