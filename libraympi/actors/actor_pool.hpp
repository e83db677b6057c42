#pragma once
// The threads that run a node's actors. An actor is a mailbox (ActorHost);
// when it has something to do (build, a call, a restart, retiring) it is
// queued here and a pool thread runs it for a while. Idle actors hold no
// thread, so a node can host 100,000 of them.
//
// Why an elastic pool: an actor's method may block (a raympi::get waiting on
// another actor, a lock, a sleep), holding its thread. A fixed pool would
// deadlock once every thread waits on an actor that is queued behind them.
// So while anything is queued, a thread is on its way to the queue: an idle
// one is woken at once (a thread that takes an actor and leaves others queued
// wakes the next one first, since what it runs may block); when none is idle
// and the queue stalls (nothing taken for kStall) while every pool thread is
// blocked (not runnable: a CPU-starved node gains nothing from more threads)
// or for kLongStall in any case, a watchdog starts a new thread, up to
// max_threads (then an error is logged and actors wait for one to free up). Threads thus grow one at a time while work waits, not
// one per runnable actor in a burst; threads beyond core_threads exit after
// idle_exit without work. Idle threads poll for spin_us (a caller streaming
// calls then skips the futex wake-up) and then block on a condition
// variable; the watchdog blocks too unless actors wait with no thread coming.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <thread>

#include <sys/types.h>

namespace raympi::detail {

class ActorHost;

/// @brief An elastic pool of threads that run runnable actors.
class ActorPool {
 public:
  struct Options {
    std::size_t core_threads = 2;  ///< kept when idle
    std::size_t max_threads = 4096;  ///< never more: then runnable actors wait for a free thread (an error is logged)
    std::chrono::milliseconds idle_exit{3000};  ///< threads beyond core_threads exit after this long without work
    int spin_us = 0;  ///< an idle thread polls the queue this long before it blocks
    std::function<void()> thread_started;  ///< first thing on each pool thread (where the node pins it)
  };

  explicit ActorPool(Options options);
  /// Stops the pool (see stop).
  ~ActorPool();
  ActorPool(const ActorPool&) = delete;
  ActorPool& operator=(const ActorPool&) = delete;

  /// The host became runnable: a pool thread will call its run_some(). Throws
  /// std::system_error when the pool has no thread and none can be started.
  void submit(std::shared_ptr<ActorHost> host);
  /// Threads exit once nothing is queued; returns when all are gone. Later
  /// submits start no thread (they throw when no thread is left).
  void stop();

  /// How long queued actors may wait, every thread busy, before a thread is added.
  static constexpr std::chrono::microseconds kStall{1000};
  /// How long they may wait while some pool thread is runnable (not blocked).
  static constexpr std::chrono::milliseconds kLongStall{50};

  /// Threads now (the watchdog not counted), and the most there ever were at once.
  std::size_t threads();
  std::size_t peak_threads();

 private:
  struct PoolThread {
    std::thread handle;
    pid_t tid = 0;  // set by the thread itself: the watchdog reads its state
  };
  using ThreadList = std::list<PoolThread>;
  /// Makes one thread come to the queue: wakes an idle one, else starts one
  /// (`now`), else leaves it to the watchdog.
  void call_a_thread_locked(bool now);
  void watchdog_main();
  void spawn_locked();
  void thread_main(ThreadList::iterator self);
  /// Idle: waits for a submit; false when the thread should exit (idle too long).
  bool wait_for_work_locked(std::unique_lock<std::mutex>& lk);
  void exit_locked(std::unique_lock<std::mutex>& lk, ThreadList::iterator self);

  const Options opt_;
  std::mutex mu_;
  std::condition_variable cv_;       // idle threads wait here
  std::condition_variable gone_cv_;  // stop() waits here for the last thread
  std::deque<std::shared_ptr<ActorHost>> queue_;
  std::atomic<std::size_t> queued_hint_{0};  // queue_.size(), read by spinning threads without the lock
  ThreadList threads_;  // running (each erases itself when it exits)
  std::thread zombie_;  // the last thread that exited, joined by the next one to exit or by stop()
  std::thread watchdog_;  // started the first time every thread is busy
  std::condition_variable watchdog_cv_;
  std::uint64_t taken_ = 0;  // actors taken from the queue so far (the watchdog's progress mark)
  std::size_t idle_ = 0;      // threads waiting for work (spinning or sleeping)
  std::size_t claimed_ = 0;   // idle threads already woken for a submit (at most idle_)
  std::size_t starting_ = 0;  // started, not yet at the queue
  std::size_t spinning_ = 0, sleeping_ = 0, peak_ = 0;
  bool stopping_ = false, cap_logged_ = false, watchdog_asleep_ = false;
};

}  // namespace raympi::detail
