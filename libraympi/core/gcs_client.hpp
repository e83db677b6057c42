#pragma once
// Every rank's link to the GCS: the event batcher (task and actor events,
// object counts, sent every few milliseconds off the task path) and
// queries with their replies.

#include <atomic>
#include <cstdint>
#include <future>
#include <map>
#include <mutex>

#include "base/adaptive_mutex.hpp"
#include "serialization/messages.hpp"

namespace raympi::detail {

struct Context;

/// @brief Batches events for the GCS and asks it questions.
class GcsClient {
 public:
  explicit GcsClient(Context& cx);

  void record_task(TaskEvent ev);
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
  AdaptiveMutex events_mu_;  // events_
  GcsEventsMsg events_;
  std::atomic<std::uint64_t> created_{0}, freed_{0};
  std::mutex query_mu_;  // queries_, next_query_
  std::uint64_t next_query_ = 1;
  std::map<std::uint64_t, std::promise<GcsReplyMsg>> queries_;
};

}  // namespace raympi::detail
