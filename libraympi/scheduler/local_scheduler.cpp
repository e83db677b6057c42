#include "scheduler/local_scheduler.hpp"

#include "scheduler/placement_groups.hpp"  // a blocked task in a bundle lends its CPUs

#include <sched.h>

#include <chrono>
#include <cmath>

namespace raympi::detail {

namespace {
constexpr int kMaxWorkers = 4096;
constexpr auto kExtraWorkerIdle = std::chrono::seconds(2);
}  // namespace

LocalScheduler::LocalScheduler(ResourceSet total, int spin_us, Executor exec, ThreadStart on_thread_start)
    : total_(total),
      available_(total),
      spin_us_(spin_us),
      exec_(std::move(exec)),
      on_thread_start_(std::move(on_thread_start)),
      gpus_(total.gpu) {
  base_workers_ = base_workers_for(total.cpu);
}

LocalScheduler::~LocalScheduler() { stop(); }

void LocalScheduler::start() {
  std::lock_guard lk(mu_);
  for (int i = 0; i < base_workers_; ++i) {
    ++workers_;
    threads_.emplace_back([this, i] { worker_main(i, false); });
  }
}

std::vector<TaskPtr> LocalScheduler::stop() {
  std::vector<TaskPtr> dropped;
  std::vector<std::thread> threads;
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
    for (auto& q : queues_)
      for (auto& t : q.tasks) dropped.push_back(std::move(t));
    queues_.clear();
    queued_ = 0;
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (auto& t : threads)
    if (t.joinable()) t.join();
  return dropped;
}

bool LocalScheduler::push_locked(TaskPtr t) {
  ShapeQueue* q = nullptr;
  for (auto& sq : queues_)
    if (sq.demand == t->demand) { q = &sq; break; }
  if (!q) {
    queues_.push_back(ShapeQueue{t->demand, {}});
    q = &queues_.back();
  }
  t->seq = seq_++;
  bool fits = fits_locked(t->demand);
  q->tasks.push_back(std::move(t));
  ++queued_;
  queued_hint_.store(queued_, std::memory_order_release);
  load_changed.store(true, std::memory_order_relaxed);
  return fits;
}

void LocalScheduler::enqueue(TaskPtr t) {
  std::lock_guard lk(mu_);
  if (stopping_ || !push_locked(std::move(t))) return;
  start_workers_locked(1);
}

void LocalScheduler::enqueue_batch(std::vector<TaskPtr>& tasks) {
  if (tasks.empty()) return;
  std::lock_guard lk(mu_);
  if (stopping_) return;
  std::size_t fitting = 0;
  for (auto& t : tasks) fitting += push_locked(std::move(t));
  tasks.clear();
  if (fitting > 0) start_workers_locked(fitting);
}

void LocalScheduler::start_workers_locked(std::size_t runnable) {
  if (idle_ > 0) {
    for (std::size_t i = 0; i < runnable && wake_idle_locked(); ++i) {
    }
  } else if (spinning_ == 0) {
    maybe_add_worker_locked();
  }
}

bool LocalScheduler::can_run_now(const ResourceDemand& d) {
  std::lock_guard lk(mu_);
  return queued_ == 0 && fits_locked(d);
}

TaskPtr LocalScheduler::take_queued(ObjectId id) {
  std::lock_guard lk(mu_);
  if (stopping_) return nullptr;
  for (auto& q : queues_) {
    if (q.tasks.empty() || gpus_of(q.demand) > 0 || !available_.fits(q.demand)) continue;
    TaskPtr t;
    if (q.tasks.back()->id == id) {
      t = std::move(q.tasks.back());
      q.tasks.pop_back();
    } else if (q.tasks.front()->id == id) {
      t = std::move(q.tasks.front());
      q.tasks.pop_front();
    } else {
      continue;
    }
    --queued_;
    queued_hint_.store(queued_, std::memory_order_release);
    available_.take(t->demand);
    ++running_;
    mark_start();
    load_changed.store(true, std::memory_order_relaxed);
    return t;
  }
  return nullptr;
}

void LocalScheduler::finished_inline(const ResourceDemand& d) {
  std::lock_guard lk(mu_);
  available_.give(d);
  --running_;
  ++finished_;
  load_changed.store(true, std::memory_order_relaxed);
  if (queued_ > 0 && idle_ > 0) wake_idle_locked();
}

void LocalScheduler::hold(const ResourceDemand& d, Task& creation) {
  std::lock_guard lk(mu_);
  available_.take(d);
  creation.keeps_gpus = true;  // the worker running the creation does not give its ids back
  load_changed.store(true, std::memory_order_relaxed);
}

void LocalScheduler::release(const ResourceDemand& d, const std::vector<int>& gpu_ids) {
  std::lock_guard lk(mu_);
  available_.give(d);
  gpus_.give(gpus_of(d), gpu_ids);
  load_changed.store(true, std::memory_order_relaxed);
  run_more_locked();
}

bool LocalScheduler::reserve(const ResourceDemand& d) {
  std::lock_guard lk(mu_);
  if (!fits_locked(d)) return false;
  available_.take(d);
  load_changed.store(true, std::memory_order_relaxed);
  return true;
}

void LocalScheduler::adjust(const ResourceDemand& take, const ResourceDemand& give) {
  std::lock_guard lk(mu_);
  available_.take(take);
  available_.give(give);
  load_changed.store(true, std::memory_order_relaxed);
  run_more_locked();
}

ResourceDemand LocalScheduler::give_back_group(std::uint64_t group, const ResourceDemand& base) {
  std::lock_guard lk(mu_);
  ResourceDemand debt = detail::give_back_group(available_, group, base);
  load_changed.store(true, std::memory_order_relaxed);
  run_more_locked();
  return debt;
}

bool LocalScheduler::collect_group(std::uint64_t group, ResourceDemand& debt) {
  std::lock_guard lk(mu_);
  const ResourceDemand before = debt;
  const bool paid = detail::collect_group(available_, group, debt);
  if (!(debt == before)) {
    load_changed.store(true, std::memory_order_relaxed);
    run_more_locked();
  }
  return paid;
}

std::vector<TaskPtr> LocalScheduler::take_queued_if(const std::function<bool(const Task&)>& pred) {
  std::vector<TaskPtr> out;
  std::lock_guard lk(mu_);
  for (auto& q : queues_)
    for (auto it = q.tasks.begin(); it != q.tasks.end();) {
      if (pred(**it)) {
        out.push_back(std::move(*it));
        it = q.tasks.erase(it);
        --queued_;
      } else {
        ++it;
      }
    }
  queued_hint_.store(queued_, std::memory_order_release);
  if (!out.empty()) load_changed.store(true, std::memory_order_relaxed);
  return out;
}

void LocalScheduler::block(const ResourceDemand& d) {
  std::lock_guard lk(mu_);
  available_.cpu += d.cpu;
  if (!d.custom.empty()) available_.give(bundle_cpus(d));
  load_changed.store(true, std::memory_order_relaxed);
  run_more_locked();
}

void LocalScheduler::run_more_locked() {
  if (queue_head_fits_locked()) start_workers_locked(1);
}

void LocalScheduler::unblock(const ResourceDemand& d) {
  std::lock_guard lk(mu_);
  available_.cpu -= d.cpu;  // may go below zero until a sibling finishes, as in Ray
  if (!d.custom.empty()) available_.take(bundle_cpus(d));
  load_changed.store(true, std::memory_order_relaxed);
}

LocalScheduler::Load LocalScheduler::load() {
  std::lock_guard lk(mu_);
  return Load{available_.as_map(), std::uint32_t(queued_), running_.load(), finished_};
}

bool LocalScheduler::wake_idle_locked() {
  // Several submissions can land before a woken worker runs: signal each idle
  // worker once, not once per submission (each notify is a futex syscall).
  if (idle_ <= waking_) return false;
  ++waking_;
  cv_.notify_one();
  return true;
}

void LocalScheduler::maybe_add_worker_locked() {
  // One at a time: a burst of tasks that all fit (zero-CPU ones, actor
  // creations) would otherwise start a thread per task before the first
  // of them even runs. Once it runs, the next submission or block that finds
  // nobody idle adds the next one.
  if (stopping_ || workers_ >= kMaxWorkers || starting_ > 0) return;
  ++starting_;
  ++workers_;
  threads_.emplace_back([this] { worker_main(-1, true); });  // stands in for blocked tasks: floats over worker PUs
}

TaskPtr LocalScheduler::pick_locked() {
  ShapeQueue* best = nullptr;
  for (auto& q : queues_) {
    if (q.tasks.empty() || !fits_locked(q.demand)) continue;
    if (!best || q.tasks.front()->seq < best->tasks.front()->seq) best = &q;
  }
  if (!best) return nullptr;
  TaskPtr t = std::move(best->tasks.front());
  best->tasks.pop_front();
  --queued_;
  queued_hint_.store(queued_, std::memory_order_release);
  return t;
}

bool LocalScheduler::queue_head_fits_locked() {
  for (auto& q : queues_)
    if (!q.tasks.empty() && fits_locked(q.demand)) return true;
  return false;
}

void LocalScheduler::worker_main(int slot, bool extra) {
  thread_started(slot);
  std::unique_lock lk(mu_);
  if (extra) --starting_;
  while (!stopping_) {
    if (TaskPtr t = pick_locked()) {
      ResourceDemand d = t->demand;
      available_.take(d);
      t->gpu_ids = gpus_.take(gpus_of(d));
      ++running_;
      mark_start();
      load_changed.store(true, std::memory_order_relaxed);
      // What is left may run another queued task beside ours: wake a helper.
      // (Not before picking: the finishing worker takes the next task itself,
      // and a worker woken for nothing costs two futex calls.)
      if (idle_ > waking_ && queued_ > 0 && queue_head_fits_locked()) wake_idle_locked();
      lk.unlock();
      exec_(t);
      std::vector<int> gpu_ids;  // an actor's creation leaves its ids to the actor
      if (!t->keeps_gpus) gpu_ids = t->gpu_ids;
      t.reset();
      lk.lock();
      gpus_.give(gpus_of(d), gpu_ids);
      available_.give(d);
      --running_;
      ++finished_;
      continue;
    }
    if (spin_us_ > 0 && queued_ == 0) {
      // Poll a little before sleeping: back-to-back submissions then skip the futex
      // wake-up. One spinner per node is enough, more would only steal cores.
      ++spinning_;
      lk.unlock();
      auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us_);
      while (queued_hint_.load(std::memory_order_acquire) == 0 && std::chrono::steady_clock::now() < until)
        sched_yield();
      lk.lock();
      --spinning_;
      if (queued_ > 0 || stopping_) continue;  // stop() may have notified while we spun
    }
    ++idle_;
    bool timed_out = cv_.wait_for(lk, kExtraWorkerIdle) == std::cv_status::timeout;
    --idle_;
    if (waking_ > 0) --waking_;
    if (timed_out && extra && queued_ == 0 && workers_ > base_workers_) break;
  }
  --workers_;
}

}  // namespace raympi::detail
