#pragma once
// The records of the job's event log: plain structs, so that a batch of them
// is one contiguous block for the HDF5 compound datasets (timeline/event_spool)
// and for MPI messages. Times are seconds on the job clock: rank 0's clock,
// each rank's own steady clock shifted by the offset measured at init.

#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

namespace raympi::detail {

/// @brief One finished task, actor creation or actor method call.
struct TaskRecord {
  static constexpr std::size_t kNameBytes = 48;
  std::uint64_t id = 0;      ///< the task's result object (ObjectId::value)
  std::uint64_t actor = 0;   ///< actor creations and calls: the actor's id; else 0
  std::int32_t node = -1;    ///< the rank that ran it
  std::int32_t row = 0;      ///< >= 0: worker index on that node; kDriverRow; kActorRow
  std::int32_t kind = 0;     ///< 0 task, 1 actor creation, 2 actor call (TaskKind)
  std::int32_t error = 0;    ///< ErrorKind; 0 = none
  std::int32_t attempts = 1; ///< runs, retries included
  std::int32_t pu = -1;      ///< the PU its thread is pinned to; -1 unpinned
  double submitted = 0, started = 0, finished = 0;  ///< job clock, seconds
  std::uint64_t arg_bytes = 0;     ///< inline arguments plus dependency objects
  std::uint64_t result_bytes = 0;
  char name[kNameBytes] = {};      ///< function (or actor Class.method) name, NUL-padded, truncated

  static constexpr std::int32_t kDriverRow = -1;  // a get ran the queued task on the driver's thread
  static constexpr std::int32_t kActorRow = -2;   // an actor's own thread (row per actor)
  void set_name(std::string_view n) {
    const std::size_t len = n.size() < kNameBytes - 1 ? n.size() : kNameBytes - 1;
    std::memcpy(name, n.data(), len);
    std::memset(name + len, 0, kNameBytes - len);
  }
  std::string_view name_view() const { return std::string_view(name, strnlen(name, kNameBytes)); }
};

/// @brief A dependency: task `consumer` took object `producer` (a task's result or a put) as an argument.
struct EdgeRecord {
  std::uint64_t consumer = 0;  ///< the consuming task's id
  std::uint64_t producer = 0;  ///< the dependency's object id (== the producing task's id for task results)
};

/// @brief Kinds of TransferRecord.
enum class TransferKind : std::int32_t { pull = 0, spill = 1, restore = 2 };

/// @brief Bytes moved: an object pulled from another rank (UCX or MPI), or spilled to / restored from disk.
struct TransferRecord {
  std::uint64_t object = 0;
  std::uint64_t bytes = 0;
  std::int32_t from = -1;   ///< pull: the rank that sent it; spill/restore: this rank
  std::int32_t to = -1;     ///< the rank that received it (this rank)
  std::int32_t kind = 0;    ///< TransferKind
  std::int32_t pad = 0;
  double started = 0, finished = 0;  ///< job clock, seconds
};

/// @brief A batch of records, in the order they happened on one rank (or several ranks, concatenated).
struct EventBatch {
  std::vector<TaskRecord> tasks;
  std::vector<EdgeRecord> edges;
  std::vector<TransferRecord> transfers;
  void append(EventBatch&& other) {
    tasks.insert(tasks.end(), other.tasks.begin(), other.tasks.end());
    edges.insert(edges.end(), other.edges.begin(), other.edges.end());
    transfers.insert(transfers.end(), other.transfers.begin(), other.transfers.end());
  }
  std::size_t size() const { return tasks.size() + edges.size() + transfers.size(); }
  /// Empties the batch and keeps its vectors' memory (batches are reused).
  void clear() {
    tasks.clear();
    edges.clear();
    transfers.clear();
  }
};

}  // namespace raympi::detail
