#pragma once
// Every rank's link to the GCS: the event batcher (actor events, task and
// object counts, per-function and per-node aggregates, sent every few
// milliseconds off the task path) and queries with their replies. One record
// per task goes to the node's event log (timeline/event_log), never here.

#include <atomic>
#include <cstdint>
#include <future>
#include <map>
#include <unordered_map>
#include <mutex>
#include <vector>

#include "base/adaptive_mutex.hpp"
#include "serialization/messages.hpp"
#include "timeline/records.hpp"

namespace raympi::detail {

struct Context;

/// @brief Batches events for the GCS and asks it questions.
class GcsClient {
 public:
  explicit GcsClient(Context& cx);

  /// A task or actor call ended here: counted and added to its function's and
  /// this node's aggregates for the GCS. `fn_id`: its registered function
  /// (0, or a task given a custom name: aggregated under `t.name`).
  void record_task(const TaskRecord& t, std::uint64_t fn_id = 0);
  /// Object bytes this node received (pulls), sent (served pulls), or spilled.
  void bytes_in(std::uint64_t n);
  void bytes_out(std::uint64_t n);
  void spilled(std::uint64_t n);
  void record_actor(ActorEvent ev);
  void object_created() { created_.fetch_add(1, std::memory_order_relaxed); }
  void object_freed() { freed_.fetch_add(1, std::memory_order_relaxed); }
  /// Sends what was recorded since the last flush (nothing when empty).
  void flush();
  /// Something is waiting to be flushed.
  bool pending();
  /// Asks the GCS (answered in place on the GCS rank); waits up to 30 s.
  GcsReplyMsg query(GcsQueryMsg q);
  GcsReplyMsg query(GcsQueryKind kind) {
    GcsQueryMsg q;
    q.kind = kind;
    return query(std::move(q));
  }
  /// gcs_reply: wakes the query it answers.
  void on_reply(const Buffer& msg);

 private:
  Context& cx_;
  alignas(64) AdaptiveMutex events_mu_;  // events_
  GcsEventsMsg events_;  // actor events and aggregates (counts are below)
  // Per-function aggregates by registry id: an integer key on the task path;
  // flush() names them.
  std::unordered_map<std::uint64_t, FunctionStats> by_function_;
  alignas(64) std::atomic<std::uint64_t> finished_{0}, failed_{0};  // counted by workers
  alignas(64) std::atomic<std::uint64_t> created_{0}, freed_{0};    // by owners
  std::mutex query_mu_;  // queries_, next_query_
  std::uint64_t next_query_ = 1;
  std::map<std::uint64_t, std::promise<GcsReplyMsg>> queries_;
};

}  // namespace raympi::detail
