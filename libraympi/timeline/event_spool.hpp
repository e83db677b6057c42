#pragma once
// The job's event log in HDF5 (records.hpp holds the records).
//
// Every rank's writer thread appends its records to its own file through an
// EventSpool (chunked, extendible compound datasets "tasks", "edges" and
// "transfers"); at the end of the job write_merged_log gathers every rank's
// records into ONE file through MPI-IO. read_event_log reads either kind.
//
// The compound types name every field of the structs (h5dump shows them);
// the name is a fixed-length NUL-padded string of TaskRecord::kNameBytes.
// Memory and file types are the structs' own layout, so writes and reads
// convert nothing.
//
// Debian's HDF5 is not built thread-safe: every HDF5 call made here holds one
// process-wide lock (base/hdf5_lock.hpp, shared with the spill files), taken
// for a whole append or read.

#include "base/mpi.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "timeline/records.hpp"

namespace raympi::detail {

/// @brief One rank's records, appended in batches to its own HDF5 file (chunked,
/// extendible compound datasets "tasks", "edges", "transfers"; chunks of 4096
/// records, no compression). Not thread-safe: one writer thread owns it.
class EventSpool {
 public:
  /// Creates (truncates) `path`; the folder must exist. Throws raympi::Error naming the path and the HDF5 cause.
  explicit EventSpool(std::string path);
  ~EventSpool();  ///< closes the file
  EventSpool(EventSpool&&) noexcept;
  EventSpool& operator=(EventSpool&&) noexcept;
  EventSpool(const EventSpool&) = delete;
  EventSpool& operator=(const EventSpool&) = delete;

  /// Appends each kind's records at the end of its dataset, then flushes the
  /// file (H5Fflush) so that a reader opening it sees them. Throws
  /// raympi::Error; after a failure the datasets keep what was written before.
  void append(const EventBatch& batch);
  /// Everything appended so far, in order.
  EventBatch read_all() const;
  /// tasks + edges + transfers appended so far.
  std::uint64_t records() const;
  const std::string& path() const;

 private:
  void open(std::string path);  // the constructor's work, under the HDF5 lock
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// @brief Per-rank counts of a merged log: {tasks, edges, transfers} of each rank, rank 0 first.
using RankCounts = std::vector<std::array<std::uint64_t, 3>>;

/// @brief Collective over `comm` (every rank calls it, with its own batch, possibly empty).
///
/// Writes ONE HDF5 file at `path` through MPI-IO (H5Pset_fapl_mpio) holding
/// every rank's records, rank 0's first, then rank 1's, ... : datasets
/// "tasks", "edges" and "transfers" (contiguous, the compound types of
/// EventSpool) and "ranks" (uint64 [ranks][3]: each rank's count of tasks,
/// edges and transfers; attribute "columns" names them). Each rank writes its
/// own hyperslabs (collective H5Dwrite).
///
/// When MPI-IO fails (or RAYMPI_EVENT_LOG_MPIIO=0 asks for it), every rank
/// writes its records to its own file instead, `path` with ".rank<N>" inserted
/// before ".h5" (appended when `path` does not end in ".h5"), in EventSpool's
/// format, and rank 0 logs a warning with the MPI-IO cause.
///
/// @return true: one merged file at `path`; false: the per-rank files.
/// Throws raympi::Error (on every rank: they agree with MPI_Allreduce) when
/// neither can be written; the message names the path and the HDF5 cause.
bool write_merged_log(MPI_Comm comm, const std::string& path, const EventBatch& mine);

/// @brief The per-rank file write_merged_log falls back to: `path` with ".rank<N>" before ".h5".
std::string rank_log_path(const std::string& path, int rank);

/// @brief Reads a file written by EventSpool or write_merged_log (serial HDF5 open).
/// Throws raympi::Error naming the path and the HDF5 cause.
EventBatch read_event_log(const std::string& path);

/// @brief The "ranks" dataset of a merged log; empty for a file without one (an EventSpool's).
RankCounts read_rank_counts(const std::string& path);

}  // namespace raympi::detail
