#pragma once
// The local scheduler of a node: ready queues (one per demand shape, FIFO
// across shapes), resource accounting with GPU ids, and the worker-thread
// pool. Workers take tasks themselves (no dispatcher thread); a task blocked
// in get/wait hands its CPU back and the pool grows so that its children can
// run. Every worker thread starts through one hook (where core pins it).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "base/adaptive_mutex.hpp"
#include "scheduler/gpu_pool.hpp"
#include "scheduler/placement_groups.hpp"  // gpus_of
#include "scheduler/resources.hpp"
#include "scheduler/task.hpp"

namespace raympi::detail {

/// @brief Runs ready tasks on this node's worker threads within its resources.
class LocalScheduler {
 public:
  using Executor = std::function<void(const TaskPtr&)>;
  /// Runs first on every worker thread: slot 0, 1, ... for the base workers;
  /// -1 for the extra ones that stand in for blocked tasks and for an actor's
  /// thread (see thread_started).
  using ThreadStart = std::function<void(int slot)>;
  struct Load {
    std::map<std::string, double> available;
    std::uint32_t queued = 0, running = 0;
    std::uint64_t finished = 0;
  };

  LocalScheduler(ResourceSet total, int spin_us, Executor exec, ThreadStart on_thread_start = {});
  /// The worker threads a node with `cpus` CPU slots starts with.
  static int base_workers_for(double cpus) { return std::max(1, int(std::ceil(cpus))); }
  ~LocalScheduler();

  void start();
  /// Stops taking tasks, joins the workers; returns the tasks that never ran.
  std::vector<TaskPtr> stop();
  /// Queues a task whose dependencies are all local.
  void enqueue(TaskPtr t);
  /// Queues `tasks` (moved out) under one lock, then wakes as many idle
  /// workers as can start one.
  void enqueue_batch(std::vector<TaskPtr>& tasks);
  /// Free resources now and no backlog: running here will not wait.
  bool can_run_now(const ResourceDemand& d);
  /// Removes the task with this id if it is queued (at either end of its
  /// queue) and fits the free resources now; the caller runs it, then calls
  /// finished_inline. Tasks that need GPUs are left to the workers (they
  /// hand out and take back GPU ids).
  TaskPtr take_queued(ObjectId id);
  void finished_inline(const ResourceDemand& d);
  /// An actor takes what it holds for its lifetime (already within the
  /// placement demand its creation ran with). Its GPUs are the ids its
  /// creation task was given: they stay taken (creation.keeps_gpus).
  void hold(const ResourceDemand& d, Task& creation);
  /// A dead actor's resources and GPU ids return.
  void release(const ResourceDemand& d, const std::vector<int>& gpu_ids);
  /// A thread that runs work of this node outside the pool (an actor's)
  /// starts through the same hook as the workers.
  void thread_started(int slot) const {
    if (on_thread_start_) on_thread_start_(slot);
  }
  // placement groups (scheduler/placement_groups.hpp)
  /// Takes `d` from the free resources when it fits now (a bundle's reservation).
  bool reserve(const ResourceDemand& d);
  /// Takes `take` (even below zero) and gives `give`, then starts what now fits:
  /// a committed bundle's own resources appear, a released one's go back.
  void adjust(const ResourceDemand& take, const ResourceDemand& give);
  /// A released group (give_back_group): returns what its running work still uses.
  ResourceDemand give_back_group(std::uint64_t group, const ResourceDemand& base);
  /// collect_group: true once the released group's work has given everything back.
  bool collect_group(std::uint64_t group, ResourceDemand& debt);
  /// Removes and returns the queued tasks for which `pred` holds.
  std::vector<TaskPtr> take_queued_if(const std::function<bool(const Task&)>& pred);
  /// The current task blocks in get/wait: lend its CPUs to others.
  void block(const ResourceDemand& d);
  void unblock(const ResourceDemand& d);
  Load load();
  /// Tasks running now, and when the latest of them started (hints, read
  /// without the lock): the progress thread polls only while some worker PU
  /// has nothing to run or the tasks are young (likely short).
  std::uint32_t running_now() const { return running_.load(std::memory_order_relaxed); }
  std::chrono::steady_clock::time_point latest_start() const {
    return std::chrono::steady_clock::time_point(
        std::chrono::steady_clock::duration(latest_start_.load(std::memory_order_relaxed)));
  }
  const ResourceSet& total() const { return total_; }
  /// Set whenever queue or resources change; cleared by whoever reports load.
  std::atomic<bool> load_changed{false};

 private:
  struct ShapeQueue {
    ResourceDemand demand;
    std::deque<TaskPtr> tasks;
  };
  void worker_main(int slot, bool extra);
  bool fits_locked(const ResourceDemand& d) const { return available_.fits(d) && gpus_.can_take(gpus_of(d)); }
  TaskPtr pick_locked();
  void maybe_add_worker_locked();
  bool wake_idle_locked();
  /// Some queue's first task fits the free resources now.
  bool queue_head_fits_locked();
  /// `runnable` queued tasks can start now: wake that many idle workers (each
  /// once), or, with none idle and none spinning, add one.
  void start_workers_locked(std::size_t runnable);
  /// Queues `t`; true when its demand fits the free resources now.
  bool push_locked(TaskPtr t);
  void run_more_locked();

  ResourceSet total_;
  ResourceSet available_;
  int spin_us_;
  Executor exec_;
  ThreadStart on_thread_start_;
  GpuPool gpus_;
  AdaptiveMutex mu_;
  std::condition_variable_any cv_;
  std::vector<ShapeQueue> queues_;
  std::size_t queued_ = 0;
  std::atomic<std::size_t> queued_hint_{0};
  std::atomic<std::uint32_t> running_{0};  // written under mu_; read without it by running_now()
  std::atomic<std::chrono::steady_clock::rep> latest_start_{0};
  void mark_start() {
    latest_start_.store(std::chrono::steady_clock::now().time_since_epoch().count(), std::memory_order_relaxed);
  }
  std::uint64_t finished_ = 0;
  std::uint64_t seq_ = 0;
  int workers_ = 0, idle_ = 0, spinning_ = 0, waking_ = 0, base_workers_ = 1;
  int starting_ = 0;  // extra workers started and not yet in their loop
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace raympi::detail
