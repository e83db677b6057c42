#include "actors/actor_host.hpp"

#include <cxxabi.h>

#include <algorithm>
#include <system_error>

#include "actors/actor_pool.hpp"
#include "base/log.hpp"
#include "raympi/detail/serialization.hpp"

namespace raympi::detail {

namespace {
std::string describe_current_exception() {
  auto* t = abi::__cxa_current_exception_type();
  std::string type = t ? demangle(t->name()) : std::string("an unknown exception");
  try {
    throw;
  } catch (const std::exception& e) {
    return type + ": " + e.what();
  } catch (...) {
    return type;
  }
}

constexpr std::size_t kCompactAfter = 64;  // a queue that never drains drops its popped front past this
}  // namespace

TaskPtr ActorHost::CallQueue::pop() {
  TaskPtr t = std::move(items[head++]);
  if (head == items.size()) {
    std::vector<TaskPtr>().swap(items);  // drained: an idle actor keeps no capacity
    head = 0;
  } else if (head >= kCompactAfter && head * 2 >= items.size()) {
    items.erase(items.begin(), items.begin() + std::ptrdiff_t(head));  // never drained: drop the popped half
    head = 0;
  }
  return t;
}

void ActorHost::CallQueue::drain_into(std::vector<TaskPtr>& out) {
  for (std::size_t i = head; i < items.size(); ++i) out.push_back(std::move(items[i]));
  std::vector<TaskPtr>().swap(items);
  head = 0;
}

TaskPtr ActorHost::CallQueue::take(ObjectId id) {
  for (std::size_t i = head; i < items.size(); ++i) {
    if (items[i]->id != id) continue;
    TaskPtr t = std::move(items[i]);
    items.erase(items.begin() + std::ptrdiff_t(i));
    if (head == items.size()) {
      std::vector<TaskPtr>().swap(items);
      head = 0;
    }
    return t;
  }
  return nullptr;
}

ActorHost::CallerQueue* ActorHost::Callers::find(std::uint64_t caller) {
  auto it = std::lower_bound(queues_.begin(), queues_.end(), caller,
                             [](const CallerQueue& q, std::uint64_t c) { return q.caller < c; });
  return it != queues_.end() && it->caller == caller ? &*it : nullptr;
}

ActorHost::CallerQueue& ActorHost::Callers::get(std::uint64_t caller) {
  auto it = std::lower_bound(queues_.begin(), queues_.end(), caller,
                             [](const CallerQueue& q, std::uint64_t c) { return q.caller < c; });
  if (it == queues_.end() || it->caller != caller) {
    CallerQueue q;
    q.caller = caller;
    it = queues_.insert(it, std::move(q));
  }
  return *it;
}

void ActorHost::Callers::erase(const CallerQueue& q) {
  queues_.erase(queues_.begin() + (&q - queues_.data()));
  if (queues_.empty()) clear();  // an idle actor keeps no capacity
}

ActorHost::ActorHost(TaskPtr creation, ActorPool& pool, const Hooks& hooks)
    : creation_(std::move(creation)), pool_(pool), hooks_(hooks) {}

ActorHost::~ActorHost() = default;

thread_local std::uint64_t ActorHost::turn_generation_ = 0;

std::uint32_t ActorHost::max_concurrency() const {
  return std::uint32_t(std::max<std::int32_t>(1, creation_->actor_spec.max_concurrency));
}

bool ActorHost::exclusive_due_locked() const {
  return stop_ || phase_ == Phase::dead || need_build_ || kill_requested_ || (released_.load() && ready_.empty());
}

bool ActorHost::schedule_locked() {
  if (!started_) return false;
  if (turns_ == 0) {
    ++turns_;
    return true;
  }
  // A threaded actor takes another pool thread only for released calls that
  // no turn already on its way will take (turns_ - running_ are between calls
  // or still queued on the pool), and never while a lone step is due.
  if (turns_ >= max_concurrency() || exclusive_ || phase_ != Phase::alive || exclusive_due_locked()) return false;
  if (ready_.size() <= turns_ - running_) return false;
  ++turns_;
  return true;
}

void ActorHost::submit_if(bool due) {
  if (!due) return;
  try {
    pool_.submit(shared_from_this());
  } catch (const std::system_error& e) {
    // The pool has no thread and cannot start one: the next event tries again.
    RAYMPI_LOG_ERROR("raympi: actor {} cannot run: {}", id().value, e.what());
    std::lock_guard lk(mu_);
    --turns_;
  }
}

void ActorHost::start() {
  {
    std::lock_guard lk(mu_);
    started_ = true;
    turns_ = 1;
  }
  try {
    pool_.submit(shared_from_this());
  } catch (...) {
    std::lock_guard lk(mu_);
    started_ = false;
    turns_ = 0;
    throw;
  }
}

std::size_t ActorHost::callers() {
  std::lock_guard lk(mu_);
  return callers_.size();
}

std::string ActorHost::death_reason() {
  std::lock_guard lk(mu_);
  return phase_ == Phase::dead ? reason_ : std::string();
}

void ActorHost::deliver(TaskPtr call) {
  std::unique_lock lk(mu_);
  if (phase_ == Phase::dead) {
    std::string why = reason_;
    lk.unlock();
    hooks_.fail(*this, call, why);
    return;
  }
  CallerQueue& q = callers_.get(call->caller);
  if (call->call_seq != q.next) {
    if (!q.early) q.early = std::make_unique<std::map<std::uint64_t, TaskPtr>>();
    q.early->emplace(call->call_seq, std::move(call));
    return;
  }
  ready_.push(std::move(call));
  ++q.next;
  if (q.early) {
    while (!q.early->empty() && q.early->begin()->first == q.next) {
      ready_.push(std::move(q.early->begin()->second));
      q.early->erase(q.early->begin());
      ++q.next;
    }
    if (q.early->empty()) q.early.reset();
  }
  if (q.next == q.done_at) callers_.erase(q);
  const bool due = schedule_locked();
  lk.unlock();
  submit_if(due);
}

void ActorHost::kill(bool restart, const std::string& why) {
  std::vector<TaskPtr> failed;
  bool due = false;
  {
    std::lock_guard lk(mu_);
    if (phase_ == Phase::dead) return;
    generation_.fetch_add(1, std::memory_order_acq_rel);  // the running call, if any, was in flight
    if (restart && restarts_.load() < creation_->actor_spec.max_restarts) {
      // A crash: what is queued now was in flight and fails; calls delivered
      // from now on wait for the rebuilt instance. Calls that arrived early
      // (waiting for predecessors) are not queued yet and run on it too.
      kill_requested_ = true;
      reason_ = why;
      ready_.drain_into(failed);
    } else {
      die_locked(why, failed);  // final: fail everything now, not after the running call
    }
    due = schedule_locked();
  }
  submit_if(due);
  for (auto& t : failed) hooks_.fail(*this, t, why);
}

TaskPtr ActorHost::take_queued(ObjectId call) {
  std::lock_guard lk(mu_);
  return ready_.take(call);
}

void ActorHost::release() {
  released_.store(true);
  std::unique_lock lk(mu_);
  const bool due = schedule_locked();
  lk.unlock();
  submit_if(due);
}

void ActorHost::caller_done(std::uint64_t caller, std::uint64_t calls) {
  std::lock_guard lk(mu_);
  CallerQueue* q = callers_.find(caller);
  if (!q) {
    if (calls == 0 || phase_ == Phase::dead) return;
    q = &callers_.get(caller);  // its calls are still on their way
  }
  if (q->next == calls) callers_.erase(*q);
  else q->done_at = calls;
}

void ActorHost::request_stop() {
  std::unique_lock lk(mu_);
  if (exited_.load()) return;
  stop_ = true;
  started_ = true;  // never started: it retires on the pool all the same
  if (!schedule_locked()) return;  // queued or running: it sees stop_ there
  lk.unlock();
  try {
    pool_.submit(shared_from_this());
  } catch (const std::system_error&) {
    run_some();  // no pool thread left: retire on this thread
  }
}

void ActorHost::wait_exited() {
  while (!exited_.load(std::memory_order_acquire)) exited_.wait(false, std::memory_order_acquire);
}

void ActorHost::die_locked(std::string why, std::vector<TaskPtr>& failed) {
  phase_ = Phase::dead;
  reason_ = std::move(why);
  ready_.drain_into(failed);
  for (auto& q : callers_.all())
    if (q.early)
      for (auto& [seq, t] : *q.early) failed.push_back(std::move(t));
  callers_.clear();
}

bool ActorHost::build_locked(std::unique_lock<std::mutex>& lk) {
  for (;;) {
    lk.unlock();
    std::shared_ptr<void> made;
    std::string error;
    try {
      made = hooks_.build(*this);
    } catch (...) {
      error = describe_current_exception();
    }
    lk.lock();
    if (made) {
      instance_ = std::move(made);
      if (phase_ == Phase::dead) return false;  // killed while being built: retire destroys it
      phase_ = Phase::alive;
      lk.unlock();
      hooks_.changed(*this, Phase::alive, {});
      lk.lock();
      return true;
    }
    if (phase_ != Phase::dead && !stop_ && restarts_.load() < creation_->actor_spec.max_restarts) {
      restarts_.fetch_add(1);
      phase_ = Phase::restarting;
      lk.unlock();
      hooks_.changed(*this, Phase::restarting, "its factory threw " + error);
      lk.lock();
      continue;
    }
    if (phase_ != Phase::dead) {
      std::vector<TaskPtr> failed;
      std::string why = "its factory threw " + error;
      die_locked(why, failed);
      lk.unlock();
      for (auto& t : failed) hooks_.fail(*this, t, why);
      lk.lock();
    }
    return false;
  }
}

void ActorHost::restart_locked(std::unique_lock<std::mutex>& lk) {
  // A crash with restarts left (kill() failed what was in flight): rebuild.
  kill_requested_ = false;
  std::string why = reason_;
  std::shared_ptr<void> old = std::move(instance_);
  restarts_.fetch_add(1);
  phase_ = Phase::restarting;
  lk.unlock();
  old.reset();  // the destructor runs on the pool, like the constructor
  hooks_.changed(*this, Phase::restarting, why);
  lk.lock();
  need_build_ = true;
}

void ActorHost::retire_locked(std::unique_lock<std::mutex>& lk) {
  std::vector<TaskPtr> failed;
  if (phase_ != Phase::dead)
    die_locked(stop_ ? "the job is shutting down" : "no handle to it is left anywhere", failed);
  if (stop_) failed.clear();  // nobody waits for results at shutdown
  std::shared_ptr<void> instance = std::move(instance_);
  std::string why = reason_;
  exclusive_ = true;  // for good: later turns leave at once
  lk.unlock();  // this turn stays counted in turns_: a retired actor is never queued again
  instance.reset();
  for (auto& t : failed) hooks_.fail(*this, t, why);
  hooks_.changed(*this, Phase::dead, why);
  hooks_.exited(*this);
  exited_.store(true, std::memory_order_release);
  exited_.notify_all();
}

bool ActorHost::run_some() {
  std::unique_lock lk(mu_);
  for (int calls = 0;;) {
    if (exclusive_ || (running_ > 0 && exclusive_due_locked())) {
      // Threaded actor: another turn builds, restarts or retires, or a lone
      // step is due while calls still run (the turn whose call ends last does it).
      --turns_;
      return false;
    }
    if (stop_ || phase_ == Phase::dead) {
      retire_locked(lk);
      return false;
    }
    if (need_build_) {
      need_build_ = false;
      exclusive_ = true;
      build_locked(lk);
      exclusive_ = false;
      continue;
    }
    if (kill_requested_) {
      exclusive_ = true;
      restart_locked(lk);
      exclusive_ = false;
      continue;
    }
    if (!ready_.empty()) {
      if (calls++ == kCallsPerTurn) return true;  // stays counted in turns_: the pool queues it again
      TaskPtr t = ready_.pop();
      // Taken before a kill that comes now: the kill's new generation marks it in flight.
      turn_generation_ = generation_.load(std::memory_order_acquire);
      void* self = instance_.get();  // replaced only by a lone turn, once no call runs
      ++running_;
      const bool another = schedule_locked();  // threaded: a second thread for the calls left
      lk.unlock();
      submit_if(another);
      hooks_.run(*this, t, self);
      t.reset();
      lk.lock();
      --running_;
      continue;
    }
    if (released_.load()) {
      retire_locked(lk);
      return false;
    }
    --turns_;  // idle: the next event queues it again
    return false;
  }
}

}  // namespace raympi::detail
