#pragma once
// One actor on its node: the instance, a thread of its own, and the mailbox.
// Calls from one caller run in the order of their sequence numbers whatever
// order they arrive in (they come over different paths: direct, after their
// arguments resolved, after the caller learned where the actor lives).

#include <atomic>
#include <cstdint>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "scheduler/task.hpp"

namespace raympi::detail {

/// @brief Hosts one actor: builds it, runs its calls one at a time, restarts
/// or retires it. Knows nothing of ranks or messages; the runtime's hooks do.
class ActorHost : public std::enable_shared_from_this<ActorHost> {
 public:
  enum class Phase : std::uint8_t { starting, alive, restarting, dead };
  struct Hooks {
    /// Runs the factory (on the actor's thread); throws what the factory threw.
    std::function<std::shared_ptr<void>(ActorHost&)> build;
    /// Runs one call on the instance and reports its result.
    std::function<void(ActorHost&, const TaskPtr&, void* self)> run;
    /// Fails one call with ActorDiedError.
    std::function<void(ActorHost&, const TaskPtr&, const std::string& why)> fail;
    /// The phase changed (restarts counts rebuilds so far).
    std::function<void(ActorHost&, Phase, const std::string& message)> changed;
    /// First thing on the actor's own thread (where the node pins it).
    std::function<void(ActorHost&)> thread_started;
    /// The thread is gone and the instance destroyed.
    std::function<void(ActorHost&)> exited;
  };

  ActorHost(TaskPtr creation, int spin_us, Hooks hooks);
  ~ActorHost();

  /// Starts the actor's thread, which builds the instance.
  void start();
  /// A call whose arguments are all on this node.
  void deliver(TaskPtr call);
  /// Stops the actor: queued calls (and the running one) fail; with `restart`
  /// and restarts left it is rebuilt, otherwise it is dead for good.
  void kill(bool restart, const std::string& why);
  /// No handle is left anywhere: retire after the queued calls.
  void release();
  /// A caller will send no more calls than `calls` in all: forget its
  /// sequence once they have all been released (its state would grow forever otherwise).
  void caller_done(std::uint64_t caller, std::uint64_t calls);
  /// Job shutdown: drop the queue, destroy the instance, return when the thread is gone.
  void stop();

  const TaskPtr& creation() const { return creation_; }
  ObjectId id() const { return creation_->id; }
  int restarts() const { return restarts_.load(); }
  /// Changes whenever the instance is killed: a call that sees it change while
  /// running was in flight at the crash.
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  std::string death_reason();
  bool exited() const { return exited_.load(); }
  /// Callers whose call sequence this actor still tracks.
  std::size_t callers();
  bool released() const { return released_.load(); }

 private:
  struct CallerQueue {
    std::uint64_t next = 0;
    std::uint64_t done_at = UINT64_MAX;      // caller_done: forget the queue when next reaches it
    std::map<std::uint64_t, TaskPtr> early;  // arrived before their predecessors
  };
  void thread_main();
  bool build_locked(std::unique_lock<std::mutex>& lk);
  void die_locked(std::string why, std::vector<TaskPtr>& failed);
  void set_phase(Phase p, const std::string& message);
  TaskPtr next_call_locked(std::unique_lock<std::mutex>& lk);

  TaskPtr creation_;
  int max_restarts_;
  int spin_us_;
  Hooks hooks_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<TaskPtr> ready_;
  std::atomic<std::size_t> ready_hint_{0};
  std::unordered_map<std::uint64_t, CallerQueue> callers_;
  std::shared_ptr<void> instance_;
  Phase phase_ = Phase::starting;
  std::string death_reason_;
  bool kill_requested_ = false, kill_restart_ = false, stop_ = false, sleeping_ = false;
  std::string kill_reason_;
  std::atomic<int> restarts_{0};
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<bool> exited_{false}, released_{false};
  std::condition_variable exit_cv_;
};

}  // namespace raympi::detail
