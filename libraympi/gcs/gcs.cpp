#include "gcs/gcs.hpp"

namespace raympi::detail {

Gcs::Gcs(std::vector<NodeRecordWire> nodes, std::vector<std::string> functions, std::chrono::milliseconds heartbeat,
         std::size_t task_limit)
    : functions_(std::move(functions)), task_limit_(task_limit), heartbeat_(heartbeat) {
  auto now = std::chrono::steady_clock::now();
  for (auto& n : nodes) nodes_[n.rank] = NodeRecord{n.host, n.total, n.total, now, 0};
}

void Gcs::on_load(const NodeLoadMsg& m) {
  std::lock_guard lk(mu_);
  auto it = nodes_.find(m.rank);
  if (it == nodes_.end()) return;
  it->second.available = m.available;
  it->second.finished = m.finished;
  it->second.last_heartbeat = std::chrono::steady_clock::now();
}

void Gcs::on_events(const GcsEventsMsg& m) {
  std::lock_guard lk(mu_);
  for (auto& t : m.tasks) {
    ++tasks_seen_;
    if (t.error != ErrorKind::none) ++tasks_failed_;
    tasks_.push_back(t);
    if (tasks_.size() > task_limit_) tasks_.pop_front();
  }
  for (auto& [id, size] : m.objects_created) {
    objects_[id] = ObjectRecord{m.node, size};
    ++objects_seen_;
  }
  for (auto id : m.objects_freed) objects_.erase(id);
  auto it = nodes_.find(m.node);
  if (it != nodes_.end()) it->second.last_heartbeat = std::chrono::steady_clock::now();
}

GcsReplyMsg Gcs::answer(const GcsQueryMsg& q) {
  std::lock_guard lk(mu_);
  GcsReplyMsg r;
  r.request = q.request;
  auto now = std::chrono::steady_clock::now();
  for (auto& [rank, n] : nodes_) {
    NodeRecordWire w;
    w.rank = rank;
    w.host = n.host;
    w.total = n.total;
    w.available = n.available;
    w.since_heartbeat = std::chrono::duration<double>(now - n.last_heartbeat).count();
    w.alive = w.since_heartbeat < 5 * std::chrono::duration<double>(heartbeat_).count() + 1.0;
    w.finished = n.finished;
    r.nodes.push_back(std::move(w));
  }
  r.counters["functions"] = functions_.size();
  r.counters["objects_live"] = objects_.size();
  r.counters["objects_seen"] = objects_seen_;
  r.counters["tasks_seen"] = tasks_seen_;
  r.counters["tasks_failed"] = tasks_failed_;
  r.counters["tasks_kept"] = tasks_.size();
  return r;
}

std::vector<TaskEvent> Gcs::recent_tasks() {
  std::lock_guard lk(mu_);
  return {tasks_.begin(), tasks_.end()};
}

}  // namespace raympi::detail
