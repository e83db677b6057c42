#include "timeline/event_log.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/fault_injection.hpp"
#include "base/log.hpp"
#include "timeline/event_spool.hpp"
#include "timeline/thread_row.hpp"

namespace raympi::detail {

namespace {
// initial-exec: a plain TLS offset, not a __tls_get_addr call per task (libraympi is
// loaded at start-up, never dlopen-ed late).
__attribute__((tls_model("initial-exec"))) thread_local ThreadRow t_row;

// Sealed batches the writer may fall behind by before recording threads wait
// for it (bounded memory even when the file system is slow).
constexpr std::size_t kMaxQueued = 2;

void make_parent_folder(const std::string& path) {
  auto slash = path.rfind('/');
  if (slash == std::string::npos || slash == 0) return;
  std::string dir = path.substr(0, slash);
  for (std::size_t i = 1; i <= dir.size(); ++i)
    if (i == dir.size() || dir[i] == '/') ::mkdir(dir.substr(0, i).c_str(), 0700);  // EEXIST is fine
}
}  // namespace

ThreadRow this_thread_row() { return t_row; }
void set_this_thread_row(int row, int pu) { t_row = ThreadRow{row, pu}; }

EventLog::EventLog(int rank, std::size_t capacity, std::string spool_path)
    : rank_(rank), capacity_(capacity < 16 ? 16 : capacity), spool_path_(std::move(spool_path)) {
  open_.tasks.reserve(capacity_);  // address space only: pages are touched as records arrive
  writer_ = std::thread([this] { writer_main(); });
}

EventBatch EventLog::fresh_batch_locked() {
  // A batch's vectors keep their capacity from one round to the next: no
  // reallocation (and no page faults of a growing vector) on the task path.
  if (spare_.empty()) {
    EventBatch b;
    b.tasks.reserve(capacity_);
    return b;
  }
  EventBatch b = std::move(spare_.back());
  spare_.pop_back();
  return b;
}

EventLog::~EventLog() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  space_cv_.notify_all();
  if (writer_.joinable()) writer_.join();
  bool had_spool = spool_ != nullptr;
  spool_.reset();
  if (had_spool) {
    std::remove(spool_path_.c_str());
    // The job's folder: whoever empties it last removes it (the spill folders do the same).
    auto slash = spool_path_.rfind('/');
    if (slash != std::string::npos && slash > 0) ::rmdir(spool_path_.substr(0, slash).c_str());
  }
}

void EventLog::seal_locked() {
  if (open_.size() == 0) return;
  if (spool_path_.empty() || spool_failed_) {
    // No spool: keep the newest records, one sealed batch behind the open one.
    EventBatch recycled;
    for (auto& b : queue_) dropped_ += b.size();
    if (!queue_.empty()) recycled = std::move(queue_.front());
    queue_.clear();
    queue_.push_back(std::move(open_));
    recycled.clear();
    open_ = std::move(recycled);
    return;
  }
  queue_.push_back(std::move(open_));
  open_ = fresh_batch_locked();
  cv_.notify_one();
}

void EventLog::seal_if_full(std::unique_lock<std::mutex>& lk) {
  if (open_.size() < capacity_) return;
  seal_locked();
  // Bounded memory: wait for the writer rather than queue more batches.
  if (!spool_path_.empty() && !spool_failed_)
    space_cv_.wait(lk, [&] { return queue_.size() < kMaxQueued || stop_ || spool_failed_; });
}

void EventLog::record(const TaskRecord& task, const std::vector<ObjectId>& deps) {
  std::unique_lock lk(mu_);
  open_.tasks.push_back(task);
  for (ObjectId d : deps) open_.edges.push_back(EdgeRecord{task.id, d.value});
  recorded_ += 1 + deps.size();
  seal_if_full(lk);
}

void EventLog::record(const TransferRecord& transfer) {
  std::unique_lock lk(mu_);
  open_.transfers.push_back(transfer);
  ++recorded_;
  seal_if_full(lk);
}

void EventLog::post(std::function<void()> job) {
  {
    std::lock_guard lk(mu_);
    jobs_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void EventLog::write(EventBatch& batch) {
  // Called with io_mu_ held.
  try {
    if (!spool_) {
      make_parent_folder(spool_path_);
      spool_ = std::make_unique<EventSpool>(spool_path_);
    }
    spool_->append(batch);
  } catch (const std::exception& e) {
    RAYMPI_LOG_WARN("rank {}: the event log cannot be written to {} ({}); from now on only the newest records "
                    "are kept in memory (set RAYMPI_EVENT_LOG to a writable path)",
                    rank_, spool_path_, e.what());
    std::lock_guard lk(mu_);
    spool_failed_ = true;
    dropped_ += batch.size();
    space_cv_.notify_all();
  }
}

void EventLog::writer_main() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lk(mu_);
      cv_.wait(lk, [&] { return stop_ || !jobs_.empty() || (!queue_.empty() && !spool_failed_ && !spool_path_.empty()); });
      if (!jobs_.empty()) {
        job = std::move(jobs_.front());
        jobs_.pop_front();
      } else if (stop_) {
        return;
      }
    }
    if (job) {
      try {
        job();
      } catch (const std::exception& e) {
        RAYMPI_LOG_WARN("rank {}: event log job failed: {}", rank_, e.what());
      }
      continue;
    }
    std::lock_guard io(io_mu_);
    EventBatch batch;
    {
      std::lock_guard lk(mu_);
      if (queue_.empty() || spool_failed_) continue;
      batch = std::move(queue_.front());
      queue_.pop_front();
    }
    space_cv_.notify_all();
    try {
      maybe_inject_fault("event_log");
      write(batch);
    } catch (const std::exception& e) {
      // Never out of the writer thread: these records are lost, the job goes on.
      RAYMPI_LOG_ERROR("rank {}: event log: {} record(s) could not be written and are lost: {}", rank_,
                       batch.tasks.size() + batch.edges.size() + batch.transfers.size(), e.what());
    }
    batch.clear();
    std::lock_guard lk(mu_);
    // Kept, never freed: every batch ever allocated (at most the open one, the
    // queued ones and the one being written) is reused, so no batch memory
    // moves between malloc arenas (a freed batch would stay in the arena of
    // whichever worker filled it).
    if (spare_.size() < kMaxQueued + 2) spare_.push_back(std::move(batch));
  }
}

EventBatch EventLog::collect() {
  std::lock_guard io(io_mu_);  // no batch is between the queue and the file now
  EventBatch out;
  if (spool_) {
    try {
      out = spool_->read_all();
    } catch (const std::exception& e) {
      RAYMPI_LOG_WARN("rank {}: reading the event log {} back failed: {}", rank_, spool_path_, e.what());
    }
  }
  std::lock_guard lk(mu_);
  for (auto& b : queue_) {
    EventBatch copy = b;
    out.append(std::move(copy));
  }
  EventBatch open = open_;
  out.append(std::move(open));
  return out;
}

std::uint64_t EventLog::recorded() const {
  std::lock_guard lk(mu_);
  return recorded_;
}
std::uint64_t EventLog::dropped() const {
  std::lock_guard lk(mu_);
  return dropped_;
}
std::size_t EventLog::in_memory() const {
  std::lock_guard lk(mu_);
  std::size_t n = open_.size();
  for (auto& b : queue_) n += b.size();
  return n;
}

}  // namespace raympi::detail
