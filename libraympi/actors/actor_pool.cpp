#include "actors/actor_pool.hpp"

#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <system_error>
#include <utility>
#include <vector>

#include "actors/actor_host.hpp"
#include "base/log.hpp"

namespace raympi::detail {

namespace {
// Whether a thread of this process is running or waiting for a CPU ('R'), as
// opposed to blocked: from /proc/self/task/<tid>/stat ("tid (name) S ...").
bool runnable(pid_t tid) {
  char path[64];
  std::snprintf(path, sizeof path, "/proc/self/task/%d/stat", int(tid));
  std::FILE* f = std::fopen(path, "r");
  if (!f) return false;  // gone: not running anything
  char buf[256];
  const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* close = std::strrchr(buf, ')');
  return close && close[1] == ' ' && close[2] == 'R';
}
}  // namespace

ActorPool::ActorPool(Options options) : opt_(std::move(options)) {}

ActorPool::~ActorPool() { stop(); }

std::size_t ActorPool::threads() {
  std::lock_guard lk(mu_);
  return threads_.size();
}

std::size_t ActorPool::peak_threads() {
  std::lock_guard lk(mu_);
  return peak_;
}

void ActorPool::submit(std::shared_ptr<ActorHost> host) {
  std::unique_lock lk(mu_);
  queue_.push_back(std::move(host));
  queued_hint_.store(queue_.size(), std::memory_order_release);
  if (claimed_ + starting_ > 0) return;  // a thread is on its way: it takes the front, and finds a helper for the rest
  try {
    call_a_thread_locked(/*now=*/threads_.empty() || threads_.size() < opt_.core_threads);
  } catch (const std::system_error&) {
    queue_.pop_back();
    queued_hint_.store(queue_.size(), std::memory_order_release);
    throw;
  }
}

void ActorPool::call_a_thread_locked(bool now) {
  if (idle_ > claimed_) {
    // Spinning threads see the queue by themselves; wake a sleeping one
    // only when the spinners are all claimed already.
    ++claimed_;
    if (claimed_ > spinning_ && sleeping_ > 0) cv_.notify_one();
    return;
  }
  // Every thread is busy. Busy threads come back to the queue, unless what
  // they run blocks for good (a method waiting on an actor queued here).
  // The watchdog starts a thread if no queued actor is taken for kStall.
  if (!now && !stopping_) {
    if (!watchdog_.joinable()) {
      try {
        watchdog_ = std::thread([this] { watchdog_main(); });
      } catch (const std::system_error&) {
        now = true;  // no watchdog: start the thread at once
      }
    }
    if (!now) {
      if (watchdog_asleep_) watchdog_cv_.notify_one();
      return;
    }
  }
  if (stopping_) {
    if (!threads_.empty()) return;  // a thread drains the queue before it exits
    throw std::system_error(std::make_error_code(std::errc::operation_canceled),
                            "the node's actor threads are stopped (the job is shutting down)");
  }
  if (threads_.size() >= opt_.max_threads) {
    if (!cap_logged_) {
      cap_logged_ = true;
      RAYMPI_LOG_ERROR(
          "raympi: all {} actor threads of this node are busy (their methods run or block): runnable actors wait "
          "for one to finish; if methods block on other actors of this node this can deadlock",
          opt_.max_threads);
    }
    return;
  }
  try {
    spawn_locked();
  } catch (const std::system_error& e) {
    if (threads_.empty()) throw;
    if (!cap_logged_) {
      cap_logged_ = true;
      RAYMPI_LOG_ERROR("raympi: cannot start another actor thread ({}; {} running): runnable actors wait for one "
                       "to finish; raise `ulimit -u` or use fewer blocking actor methods",
                       e.what(), threads_.size());
    }
  }
}

void ActorPool::spawn_locked() {
  threads_.emplace_back();
  auto self = std::prev(threads_.end());
  try {
    // The thread reads `self` only under mu_, which this caller holds until
    // the handle is stored.
    self->handle = std::thread([this, self] { thread_main(self); });
  } catch (...) {
    threads_.erase(self);
    throw;
  }
  ++starting_;
  if (threads_.size() > peak_) peak_ = threads_.size();
}

void ActorPool::thread_main(ThreadList::iterator self) {
  pthread_setname_np(pthread_self(), "raympi-actors");  // shows in top -H, gdb, /proc/<pid>/task/*/comm
  if (opt_.thread_started) opt_.thread_started();
  std::unique_lock lk(mu_);
  self->tid = gettid();
  --starting_;  // here now
  for (;;) {
    if (!queue_.empty()) {
      std::shared_ptr<ActorHost> host = std::move(queue_.front());
      queue_.pop_front();
      queued_hint_.store(queue_.size(), std::memory_order_release);
      // This thread may block in what it runs now: if more is queued, make
      // sure another thread comes for it (an idle one at once, else a new one
      // when the queue stalls: not one per runnable actor in a burst).
      ++taken_;
      if (!queue_.empty() && claimed_ + starting_ == 0) {
        try {
          call_a_thread_locked(/*now=*/false);
        } catch (const std::system_error&) {  // stopped with no thread left: this one drains the queue
        }
      }
      lk.unlock();
      const bool more = host->run_some();
      if (!more) host.reset();  // may be the last reference: destroyed outside the lock
      lk.lock();
      if (more) {  // its turn is over, others first (this thread takes the queue's front next)
        queue_.push_back(std::move(host));
        queued_hint_.store(queue_.size(), std::memory_order_release);
      }
      continue;
    }
    if (stopping_) break;
    if (!wait_for_work_locked(lk)) break;
  }
  exit_locked(lk, self);
}

bool ActorPool::wait_for_work_locked(std::unique_lock<std::mutex>& lk) {
  ++idle_;
  if (opt_.spin_us > 0) {
    ++spinning_;
    lk.unlock();
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(opt_.spin_us);
    while (queued_hint_.load(std::memory_order_acquire) == 0 && std::chrono::steady_clock::now() < until)
      sched_yield();
    lk.lock();
    --spinning_;
  }
  bool keep = true;
  auto deadline = std::chrono::steady_clock::now() + opt_.idle_exit;
  while (claimed_ == 0 && queue_.empty() && !stopping_) {
    ++sleeping_;
    if (threads_.size() <= opt_.core_threads) {
      cv_.wait(lk);  // a core thread: no timeout, nothing wakes it but work
      deadline = std::chrono::steady_clock::now() + opt_.idle_exit;
    } else if (cv_.wait_until(lk, deadline) == std::cv_status::timeout && claimed_ == 0 && queue_.empty() &&
               threads_.size() > opt_.core_threads) {
      keep = false;  // idle too long, and more threads than the core: exit
    }
    --sleeping_;
    if (!keep) break;
  }
  --idle_;
  if (claimed_ > 0) --claimed_;
  return keep;
}

void ActorPool::exit_locked(std::unique_lock<std::mutex>& lk, ThreadList::iterator self) {
  // A thread cannot join itself: it leaves its handle for the next thread to
  // exit (or stop()) and joins the one left before it.
  std::thread previous = std::exchange(zombie_, std::move(self->handle));
  threads_.erase(self);
  if (threads_.empty()) gone_cv_.notify_all();
  lk.unlock();
  if (previous.joinable()) previous.join();
}

void ActorPool::watchdog_main() {
  std::unique_lock lk(mu_);
  auto backlog = [&] { return !queue_.empty() && claimed_ + starting_ == 0; };
  auto stalled_since = std::chrono::steady_clock::time_point::max();  // no progress since
  while (!stopping_) {
    if (!backlog()) {
      stalled_since = std::chrono::steady_clock::time_point::max();
      watchdog_asleep_ = true;
      watchdog_cv_.wait(lk);  // nothing waits without a thread coming: blocked, no polling
      watchdog_asleep_ = false;
      continue;
    }
    const std::uint64_t seen = taken_;
    const auto deadline = std::chrono::steady_clock::now() + kStall;
    while (!stopping_ && std::chrono::steady_clock::now() < deadline) watchdog_cv_.wait_until(lk, deadline);
    if (stopping_ || !backlog() || taken_ != seen) {
      stalled_since = std::chrono::steady_clock::time_point::max();
      continue;
    }
    const auto now = std::chrono::steady_clock::now();
    if (stalled_since == std::chrono::steady_clock::time_point::max()) stalled_since = now - kStall;
    // Stalled. Threads that are runnable only wait for a CPU (the node is
    // busy): another thread would not help. Add one when they all block, or
    // when the stall lasts (a method may also spin-wait for another actor).
    std::vector<pid_t> tids;
    for (auto& t : threads_)
      if (t.tid != 0) tids.push_back(t.tid);
    lk.unlock();
    bool any_runnable = false;
    for (pid_t tid : tids)
      if ((any_runnable = runnable(tid))) break;
    lk.lock();
    if (any_runnable && now - stalled_since < kLongStall) continue;
    if (stopping_ || !backlog() || taken_ != seen) continue;
    try {
      call_a_thread_locked(/*now=*/true);
    } catch (const std::system_error&) {  // logged there; busy threads still drain the queue
    }
    stalled_since = std::chrono::steady_clock::time_point::max();
  }
}

void ActorPool::stop() {
  std::unique_lock lk(mu_);
  stopping_ = true;
  cv_.notify_all();
  watchdog_cv_.notify_all();
  gone_cv_.wait(lk, [&] { return threads_.empty(); });
  std::thread last = std::move(zombie_), watchdog = std::move(watchdog_);
  lk.unlock();
  if (last.joinable()) last.join();
  if (watchdog.joinable()) watchdog.join();
}

}  // namespace raympi::detail
