#pragma once
// Every rank's link to the GCS: the event batcher (actor events, task and
// object counts, sent every few milliseconds off the task path), the node's
// own bounded record of its finished tasks, and queries with their replies.

#include <atomic>
#include <cstdint>
#include <future>
#include <map>
#include <mutex>
#include <vector>

#include "base/adaptive_mutex.hpp"
#include "serialization/messages.hpp"

namespace raympi::detail {

struct Context;

/// @brief Batches events for the GCS and asks it questions.
class GcsClient {
 public:
  explicit GcsClient(Context& cx);

  /// A task or actor call ended here: counted for the GCS, recorded in this
  /// node's buffer of its newest kTaskRecords tasks.
  void record_task(TaskEvent ev);
  /// This node's newest task records, oldest first.
  std::vector<TaskEvent> recent_tasks();
  static constexpr std::size_t kTaskRecords = 100000;
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
  alignas(64) AdaptiveMutex events_mu_;  // events_, tasks_, next_task_
  GcsEventsMsg events_;            // actor events (counts are below)
  std::vector<TaskEvent> tasks_;   // ring of the newest kTaskRecords
  std::size_t next_task_ = 0;      // where the next record goes once the ring is full
  alignas(64) std::atomic<std::uint64_t> finished_{0}, failed_{0};  // counted by workers
  alignas(64) std::atomic<std::uint64_t> created_{0}, freed_{0};    // by owners
  std::mutex query_mu_;  // queries_, next_query_
  std::uint64_t next_query_ = 1;
  std::map<std::uint64_t, std::promise<GcsReplyMsg>> queries_;
};

}  // namespace raympi::detail
