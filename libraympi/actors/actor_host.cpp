#include "actors/actor_host.hpp"

#include <cxxabi.h>
#include <sched.h>

#include <chrono>
#include <thread>

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
}  // namespace

ActorHost::ActorHost(TaskPtr creation, int spin_us, Hooks hooks)
    : creation_(std::move(creation)), max_restarts_(creation_->actor_spec.max_restarts), spin_us_(spin_us),
      hooks_(std::move(hooks)) {}

ActorHost::~ActorHost() = default;

void ActorHost::start() {
  // Detached, holding the host: the thread may outlive every other owner while
  // it destroys the instance; stop() waits for it.
  std::thread([self = shared_from_this()] { self->thread_main(); }).detach();
}

std::size_t ActorHost::callers() {
  std::lock_guard lk(mu_);
  return callers_.size();
}

std::string ActorHost::death_reason() {
  std::lock_guard lk(mu_);
  return death_reason_;
}

void ActorHost::deliver(TaskPtr call) {
  std::unique_lock lk(mu_);
  if (phase_ == Phase::dead) {
    std::string why = death_reason_;
    lk.unlock();
    hooks_.fail(*this, call, why);
    return;
  }
  auto it = callers_.try_emplace(call->caller).first;
  CallerQueue& q = it->second;
  if (call->call_seq != q.next) {
    q.early.emplace(call->call_seq, std::move(call));
    return;
  }
  ready_.push_back(std::move(call));
  ++q.next;
  while (!q.early.empty() && q.early.begin()->first == q.next) {
    ready_.push_back(std::move(q.early.begin()->second));
    q.early.erase(q.early.begin());
    ++q.next;
  }
  if (q.next == q.done_at) callers_.erase(it);
  ready_hint_.store(ready_.size(), std::memory_order_release);
  if (sleeping_) cv_.notify_one();
}

void ActorHost::kill(bool restart, const std::string& why) {
  std::vector<TaskPtr> failed;
  {
    std::lock_guard lk(mu_);
    if (phase_ == Phase::dead) return;
    generation_.fetch_add(1, std::memory_order_acq_rel);  // the running call, if any, was in flight
    kill_requested_ = true;
    kill_restart_ = restart && restarts_.load() < max_restarts_;
    kill_reason_ = why;
    if (kill_restart_) {
      // A crash: what is queued now was in flight and fails; calls delivered
      // from now on wait for the rebuilt instance. Calls that arrived early
      // (waiting for predecessors) are not queued yet and run on it too.
      for (auto& t : ready_) failed.push_back(std::move(t));
      ready_.clear();
      ready_hint_.store(0, std::memory_order_release);
    } else {
      die_locked(why, failed);  // final: fail everything now, not after the running call
    }
    if (sleeping_) cv_.notify_one();
  }
  for (auto& t : failed) hooks_.fail(*this, t, why);
}

void ActorHost::release() {
  released_.store(true);
  std::lock_guard lk(mu_);
  if (sleeping_) cv_.notify_one();
}

void ActorHost::caller_done(std::uint64_t caller, std::uint64_t calls) {
  std::lock_guard lk(mu_);
  auto it = callers_.find(caller);
  if (it == callers_.end()) {
    if (calls == 0 || phase_ == Phase::dead) return;
    it = callers_.try_emplace(caller).first;  // its calls are still on their way
  }
  if (it->second.next == calls) callers_.erase(it);
  else it->second.done_at = calls;
}

void ActorHost::stop() {
  std::unique_lock lk(mu_);
  stop_ = true;
  cv_.notify_one();
  exit_cv_.wait(lk, [&] { return exited_.load(); });
}

void ActorHost::die_locked(std::string why, std::vector<TaskPtr>& failed) {
  phase_ = Phase::dead;
  death_reason_ = std::move(why);
  for (auto& t : ready_) failed.push_back(std::move(t));
  ready_.clear();
  ready_hint_.store(0, std::memory_order_release);
  for (auto& [caller, q] : callers_)
    for (auto& [seq, t] : q.early) failed.push_back(std::move(t));
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
      if (phase_ == Phase::dead) return false;  // killed while being built
      phase_ = Phase::alive;
      lk.unlock();
      hooks_.changed(*this, Phase::alive, {});
      lk.lock();
      return true;
    }
    if (phase_ != Phase::dead && !stop_ && restarts_.load() < max_restarts_) {
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

TaskPtr ActorHost::next_call_locked(std::unique_lock<std::mutex>& lk) {
  bool spun = false;
  for (;;) {
    if (stop_) return nullptr;
    if (kill_requested_) {
      kill_requested_ = false;
      if (phase_ == Phase::dead) return nullptr;  // final: the queue was failed by kill()
      // A crash with restarts left (kill() failed what was in flight): rebuild.
      std::string why = kill_reason_;
      std::shared_ptr<void> old = std::move(instance_);
      restarts_.fetch_add(1);
      phase_ = Phase::restarting;
      lk.unlock();
      old.reset();  // the destructor runs on the actor's thread
      hooks_.changed(*this, Phase::restarting, why);
      lk.lock();
      if (!build_locked(lk)) return nullptr;
      continue;
    }
    if (!ready_.empty()) {
      TaskPtr t = std::move(ready_.front());
      ready_.pop_front();
      ready_hint_.store(ready_.size(), std::memory_order_release);
      return t;
    }
    if (released_.load()) return nullptr;
    if (spin_us_ > 0 && !spun) {
      // Poll briefly: a caller streaming calls then skips the futex wake-up.
      lk.unlock();
      auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(spin_us_);
      while (ready_hint_.load(std::memory_order_acquire) == 0 && std::chrono::steady_clock::now() < until)
        sched_yield();
      lk.lock();
      spun = true;
      continue;  // look at everything again (a kill or release may have come meanwhile)
    }
    sleeping_ = true;
    cv_.wait(lk);
    sleeping_ = false;
  }
}

void ActorHost::thread_main() {
  if (hooks_.thread_started) hooks_.thread_started(*this);
  std::unique_lock lk(mu_);
  if (build_locked(lk)) {
    while (TaskPtr t = next_call_locked(lk)) {
      void* self = instance_.get();
      lk.unlock();
      hooks_.run(*this, t, self);
      t.reset();
      lk.lock();
    }
  }
  std::vector<TaskPtr> failed;
  if (phase_ != Phase::dead)
    die_locked(stop_ ? "the job is shutting down" : "no handle to it is left anywhere", failed);
  if (stop_) failed.clear();  // nobody waits for results at shutdown
  std::shared_ptr<void> instance = std::move(instance_);
  std::string why = death_reason_;
  lk.unlock();
  instance.reset();  // the destructor runs on the actor's thread
  for (auto& t : failed) hooks_.fail(*this, t, why);
  hooks_.changed(*this, Phase::dead, why);
  hooks_.exited(*this);
  lk.lock();
  exited_.store(true);
  exit_cv_.notify_all();
}

}  // namespace raympi::detail
