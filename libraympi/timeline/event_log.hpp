#pragma once
// A node rank's bounded buffer of event records. Workers, actor threads and
// the data plane append under a short lock; when `capacity` records have
// gathered, the batch goes to this log's writer thread, which appends it to
// the rank's HDF5 spool file (timeline/event_spool) off every message path.
// Memory therefore stays at about two batches however long the job runs.
// collect() returns the spool's contents plus what is still in memory.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "raympi/detail/ids.hpp"
#include "timeline/records.hpp"

namespace raympi::detail {

class EventSpool;

/// @brief One rank's event records: a bounded in-memory batch, spooled to HDF5 when full.
class EventLog {
 public:
  /// `spool_path`: the rank's HDF5 spool file, created on the first full batch
  /// (its folder too). Empty: no spool; the newest `capacity` records are kept.
  EventLog(int rank, std::size_t capacity, std::string spool_path);
  ~EventLog();  // stops the writer; removes the spool file
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  void record(const TaskRecord& task, const std::vector<ObjectId>& deps);
  void record(const TransferRecord& transfer);

  /// Everything recorded on this rank so far, oldest first (reads the spool back).
  /// Call on the writer thread (post()) or any thread that may block on I/O.
  EventBatch collect();
  /// Runs `job` on the writer thread, after the batches queued before it.
  void post(std::function<void()> job);

  std::uint64_t recorded() const;         // records of any kind so far
  std::uint64_t dropped() const;          // records lost (no spool and over capacity, or a spool failure)
  std::size_t in_memory() const;          // records held in memory now (both the open batch and queued ones)
  const std::string& spool_path() const { return spool_path_; }
  std::size_t capacity() const { return capacity_; }

 private:
  void seal_locked();  // the open batch becomes a queued one
  void seal_if_full(std::unique_lock<std::mutex>& lk);  // after a record: seal a full batch, wait for room
  EventBatch fresh_batch_locked();  // an empty batch, its memory recycled when possible
  void writer_main();
  void write(EventBatch& batch);

  const int rank_;
  const std::size_t capacity_;
  const std::string spool_path_;
  mutable std::mutex mu_;  // open_, queue_, jobs_, counters, stop_
  std::condition_variable cv_, space_cv_;
  EventBatch open_;
  std::deque<EventBatch> queue_;  // sealed, waiting for the writer
  std::vector<EventBatch> spare_; // written batches, cleared, kept for their memory
  std::deque<std::function<void()>> jobs_;
  std::uint64_t recorded_ = 0, dropped_ = 0;
  bool writing_ = false;
  bool stop_ = false;
  std::unique_ptr<EventSpool> spool_;  // writer thread only (and collect() under io_mu_)
  std::mutex io_mu_;                   // the spool
  bool spool_failed_ = false;
  std::thread writer_;
};

}  // namespace raympi::detail
