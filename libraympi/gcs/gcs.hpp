#pragma once
// The GCS (rank 1): the job's control state. Node table (resources, load,
// heartbeats), function table, object table (where, how big), task table
// (bounded: the newest finished tasks; counters for the rest).

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "serialization/messages.hpp"

namespace raympi::detail {

/// @brief The global control store's tables.
class Gcs {
 public:
  struct NodeRecord {
    std::string host;
    std::map<std::string, double> total, available;
    std::chrono::steady_clock::time_point last_heartbeat;
    std::uint64_t finished = 0;
  };
  struct ObjectRecord {
    std::int32_t node = -1;
    std::uint64_t size = 0;
  };

  Gcs(std::vector<NodeRecordWire> nodes, std::vector<std::string> functions, std::chrono::milliseconds heartbeat,
      std::size_t task_limit = 100000);

  void on_load(const NodeLoadMsg& m);
  void on_events(const GcsEventsMsg& m);
  GcsReplyMsg answer(const GcsQueryMsg& q);
  std::vector<TaskEvent> recent_tasks();

 private:
  std::mutex mu_;
  std::map<int, NodeRecord> nodes_;
  std::vector<std::string> functions_;
  std::unordered_map<ObjectId, ObjectRecord> objects_;
  std::deque<TaskEvent> tasks_;
  std::size_t task_limit_;
  std::uint64_t tasks_seen_ = 0, tasks_failed_ = 0, objects_seen_ = 0;
  std::chrono::milliseconds heartbeat_;
};

}  // namespace raympi::detail
