#include "core/waiters.hpp"

#include <sched.h>

#include <algorithm>

#include "core/actor_router.hpp"
#include "core/context.hpp"
#include "core/fetcher.hpp"
#include "core/membership.hpp"
#include "core/progress_line.hpp"
#include "core/task_pipeline.hpp"
#include "raympi/errors.hpp"
#include "scheduler/local_scheduler.hpp"
#include "store/object_store.hpp"

namespace raympi::detail {

namespace {

// The driver's long wait with a progress line: the same blocking wait on the
// condition variable, cut into slices that end when the line is due (not
// before 2 s into the wait, then 4 times a second on a terminal, every 2 s
// otherwise). `lk` holds the waiter's lock on entry and on return; it is
// released while the line is written.
template <class Pred, class Count>
void wait_showing_progress(std::condition_variable& cv, std::unique_lock<std::mutex>& lk, Pred pred, Count count,
                           ProgressLine& line, Clock::time_point deadline) {
  while (!pred()) {
    if (cv.wait_until(lk, std::min(deadline, line.next_update()), pred)) break;
    auto now = Clock::now();
    if (now >= deadline) break;
    std::size_t done = count();
    lk.unlock();
    line.update(done, now);
    lk.lock();
  }
}

}  // namespace

std::vector<StoredPtr> Waiters::block_on(const std::vector<ObjectId>& ids, std::size_t need,
                                         std::chrono::nanoseconds timeout, bool& timed_out, const char* what) {
  const Task* cur = current_task();
  if (cur && cur->kind == TaskKind::actor_call) cx_.router->refuse_self_wait(*cur, ids);
  if (!cur) cx_.tasks->drop_finished();  // the driver's tasks that ran release their arguments now, not at the tick
  auto w = std::make_shared<Waiter>();
  w->need = need;
  w->results.resize(ids.size());
  // What is here already needs no fetch and no callback (one store lock for all).
  const std::size_t here_at_start = cx_.store->get_in_memory(ids, w->results);
  w->arrived.store(here_at_start, std::memory_order_relaxed);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (w->results[i]) continue;
    cx_.fetcher->fetch(ids[i], [w, i](const StoredPtr& o) {
      std::size_t n;
      {
        std::lock_guard lk(w->mu);
        if (w->results[i]) return;
        w->results[i] = o;
        n = w->arrived.fetch_add(1) + 1;
      }
      if (n == w->need) w->cv.notify_all();
    });
  }
  auto start = Clock::now();
  auto done = [&] { return w->arrived.load(std::memory_order_acquire) >= need; };
  if (!done()) {
    auto spin_until = start + std::chrono::microseconds(cx_.cfg.spin_us);
    while (!done() && Clock::now() < spin_until) sched_yield();
  }
  if (!done()) {
    {
      std::lock_guard lk(mu_);
      waiters_.insert(w);
    }
    if (cur && cx_.scheduler) cx_.scheduler->block(cur->demand);  // lend our CPU to our children
    {
      std::unique_lock lk(w->mu);
      auto pred = [&] {
        return w->arrived.load() >= need || w->cancelled || cx_.stopping.load() || cx_.membership->fatal();
      };
      // The driver's own wait on many objects may show progress (Config::progress);
      // every other wait blocks exactly as before, with no timed wake-up.
      auto mode = !cur && ProgressLine::may_show(cx_.cfg.progress, need)
                      ? ProgressLine::mode_for_stderr(cx_.cfg.progress)
                      : ProgressLine::Mode::off;
      if (mode != ProgressLine::Mode::off) {
        ProgressLine line(what, need, mode, start, std::min(here_at_start, need));
        auto deadline = timeout.count() < 0 ? Clock::time_point::max() : start + timeout;
        auto count = [&] { return std::min(w->arrived.load(), need); };
        wait_showing_progress(w->cv, lk, pred, count, line, deadline);
        std::size_t done = count();
        lk.unlock();
        line.finish(done, Clock::now());
      } else if (timeout.count() < 0) {
        w->cv.wait(lk, pred);
      } else {
        w->cv.wait_until(lk, start + timeout, pred);
      }
    }
    if (cur && cx_.scheduler) cx_.scheduler->unblock(cur->demand);
    {
      std::lock_guard lk(mu_);
      waiters_.erase(w);
    }
    if (!done() && cx_.membership->fatal()) throw Error(cx_.membership->fatal_reason());
    if (!done() && (w->cancelled || cx_.stopping.load())) throw Error("raympi: the job is shutting down");
  }
  std::lock_guard lk(w->mu);
  timed_out = w->arrived.load() < need;
  return w->results;
}

std::vector<StoredPtr> Waiters::get(const std::vector<ObjectId>& ids, std::chrono::nanoseconds timeout) {
  // Waiting for one result whose task still sits in this node's queue: run it
  // on this thread (it holds its resources as on a worker). The caller would
  // only wait for a worker to pick it up; nothing else is delayed. Not with a
  // timeout: a task cannot be interrupted. Config::inline_get = 0 turns this
  // off, to measure the path through a worker (what Ray's figures measure).
  if (inline_get_.load(std::memory_order_relaxed) && ids.size() == 1 && timeout.count() < 0 && cx_.scheduler && ids[0].owner() == cx_.rank)
    cx_.tasks->run_if_queued(ids[0]);
  bool timed_out = false;
  auto out = block_on(ids, ids.size(), timeout, timed_out, "get");
  if (timed_out) {
    std::size_t missing = 0;
    for (auto& o : out) missing += !o;
    throw GetTimeoutError("raympi::get: " + std::to_string(missing) + " of " + std::to_string(ids.size()) +
                          " object(s) not ready after " +
                          std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count()) +
                          " ms");
  }
  return out;
}

std::vector<char> Waiters::wait(const std::vector<ObjectId>& ids, std::size_t num_returns,
                                std::chrono::nanoseconds timeout) {
  bool timed_out = false;
  auto out = block_on(ids, num_returns, timeout, timed_out, "wait");
  std::vector<char> ready(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) ready[i] = out[i] != nullptr;
  return ready;
}

void Waiters::cancel_all() {
  std::lock_guard lk(mu_);
  for (auto& w : waiters_) {
    std::lock_guard wl(w->mu);
    w->cancelled = true;
    w->cv.notify_all();
  }
}

}  // namespace raympi::detail
