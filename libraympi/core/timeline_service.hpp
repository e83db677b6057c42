#pragma once
// Observability of one rank: turns finished tasks and moved bytes into event
// records (timeline/event_log on node ranks) and aggregates (gcs_client), and
// answers for the job: the driver gathers every node's records into a Chrome
// trace (timeline()), the GCS's aggregates into summary(), and at teardown all
// ranks write the merged HDF5 event log through MPI-IO when one is asked for.
// May call: Context's transport (send), GcsClient, timeline/*.

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/context.hpp"
#include "timeline/chrome_trace.hpp"
#include "timeline/event_log.hpp"
#include "timeline/records_wire.hpp"
#include "transport/transport.hpp"

namespace raympi::detail {

struct Task;

/// @brief Event records, the trace, the summary and the event log of one rank.
class TimelineService {
 public:
  /// `clock_error_us`: the job clock's bound (timeline/clock_sync), written into traces.
  TimelineService(Context& cx, const std::string& job_folder, double clock_error_us);
  ~TimelineService();

  /// A task, actor creation or actor call ended on this node.
  void task_finished(const Task& t, ErrorKind err, double started, std::uint64_t result_bytes);
  /// An object arrived from `from` (a pull that began at `began`).
  void pulled(ObjectId id, int from, std::uint64_t bytes, Clock::time_point began);
  /// This node sent an object's bytes to another rank.
  void served(std::uint64_t bytes);
  /// The store spilled or restored an object.
  void stored(TransferKind kind, ObjectId id, std::uint64_t bytes, Clock::time_point began, Clock::time_point ended);

  /// timeline_request (node ranks): the records go back from the log's writer thread.
  void on_request(int src, const Buffer& msg);
  /// timeline_reply (driver).
  void on_reply(int src, const Buffer& msg);

  /// Driver: every node's records so far, as one trace at `path`.
  TraceCounts write_trace(const std::string& path);
  /// Driver: every node's records so far.
  EventBatch gather();
  /// Driver: the job's summary table (from the GCS's aggregates).
  std::string summary();
  /// Collective over `comm` at teardown (every rank): when the driver's config
  /// names an event log, every rank's records go into that one HDF5 file.
  void write_event_log(MPI_Comm comm);

  EventLog* log() { return log_.get(); }

 private:
  Context& cx_;
  double clock_error_us_;
  std::unique_ptr<EventLog> log_;  // node ranks
  std::mutex mu_;                  // replies_
  std::condition_variable cv_;
  std::uint64_t next_request_ = 1;
  std::map<std::uint64_t, std::map<int, EventBatch>> replies_;  // request -> node -> records
};

}  // namespace raympi::detail
