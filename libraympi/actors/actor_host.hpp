#pragma once
// One actor on its node: the instance and its mailbox. It has no thread of its
// own: whenever it has something to do it is queued on the node's ActorPool,
// and one pool thread at a time runs it (build, calls, restarts, retiring);
// a threaded actor (max_concurrency n > 1) runs up to n calls at once, on as
// many pool threads, while build, restart and retiring still run alone.
// Calls from one caller run in the order of their sequence numbers whatever
// order they arrive in (they come over different paths: direct, after their
// arguments resolved, after the caller learned where the actor lives).

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "scheduler/task.hpp"

namespace raympi::detail {

class ActorPool;

/// @brief Hosts one actor: builds it, runs its calls one at a time, restarts
/// or retires it. Knows nothing of ranks or messages; the runtime's hooks do.
class ActorHost : public std::enable_shared_from_this<ActorHost> {
 public:
  enum class Phase : std::uint8_t { starting, alive, restarting, dead };
  /// Shared by all the actors of a node (one copy, not one per actor). All
  /// run on a pool thread, except fail, which may run on the thread that
  /// killed the actor or delivered a call to a dead one.
  struct Hooks {
    /// Runs the factory; throws what the factory threw.
    std::function<std::shared_ptr<void>(ActorHost&)> build;
    /// Runs one call on the instance and reports its result.
    std::function<void(ActorHost&, const TaskPtr&, void* self)> run;
    /// Fails one call with ActorDiedError.
    std::function<void(ActorHost&, const TaskPtr&, const std::string& why)> fail;
    /// The phase changed (restarts counts rebuilds so far).
    std::function<void(ActorHost&, Phase, const std::string& message)> changed;
    /// The actor is retired and its instance destroyed.
    std::function<void(ActorHost&)> exited;
  };

  /// `pool` and `hooks` outlive the host (the node's ActorTable owns them).
  ActorHost(TaskPtr creation, ActorPool& pool, const Hooks& hooks);
  ~ActorHost();

  /// Queues the actor on the pool, which builds the instance. Throws
  /// std::system_error when the pool cannot start a thread at all.
  void start();
  /// A call whose arguments are all on this node.
  void deliver(TaskPtr call);
  /// Stops the actor: queued calls (and the running one) fail; with `restart`
  /// and restarts left it is rebuilt, otherwise it is dead for good.
  void kill(bool restart, const std::string& why);
  /// Takes the call with this id out of the released
  /// queue (null when it is not there: running, done, or still waiting for
  /// its predecessors, in which case it is dropped when its turn comes).
  TaskPtr take_queued(ObjectId call);
  /// No handle is left anywhere: retire after the queued calls.
  void release();
  /// A caller will send no more calls than `calls` in all: forget its
  /// sequence once they have all been released (its state would grow forever otherwise).
  void caller_done(std::uint64_t caller, std::uint64_t calls);
  /// Job shutdown: drop the queue, destroy the instance (on the pool, after
  /// the running call); request_stop returns at once, wait_exited when done.
  void request_stop();
  void wait_exited();
  void stop() {
    request_stop();
    wait_exited();
  }

  /// On a pool thread, on at most max_concurrency at once (one unless the
  /// actor is threaded): does what is due (builds, restarts, runs queued
  /// calls, retires; all but calls run alone). True when calls are left after
  /// this turn: the pool queues it again, behind the other runnable actors.
  bool run_some();

  const TaskPtr& creation() const { return creation_; }
  ObjectId id() const { return creation_->id; }
  int restarts() const { return restarts_.load(); }
  /// Changes whenever the instance is killed: a call that sees it change while
  /// running was in flight at the crash.
  std::uint64_t generation() const { return generation_.load(std::memory_order_acquire); }
  /// The generation when the calling thread's running call was taken off the
  /// queue (read by that thread only): differs from generation() once a kill came.
  std::uint64_t turn_generation() const { return turn_generation_; }
  /// Calls it may run at once (ActorSpec::max_concurrency, at least 1).
  std::uint32_t max_concurrency() const;
  std::string death_reason();
  bool exited() const { return exited_.load(); }
  /// Callers whose call sequence this actor still tracks.
  std::size_t callers();
  bool released() const { return released_.load(); }

  /// Calls one actor runs in a turn before the pool lets other actors go first.
  static constexpr int kCallsPerTurn = 64;

 private:
  // Memory matters here: a node may host 100,000 idle actors (each costs
  // the node about 1.3 KiB in all, ~240 bytes of it this object).
  struct CallerQueue {
    std::uint64_t caller = 0;
    std::uint64_t next = 0;
    std::uint64_t done_at = UINT64_MAX;                       // caller_done: forget it when next reaches this
    std::unique_ptr<std::map<std::uint64_t, TaskPtr>> early;  // arrived before their predecessors (rare)
  };
  /// The callers with a sequence, sorted by caller id: most actors have one or
  /// two, and a vector entry costs 32 bytes where a hash map costs ~200.
  class Callers {
   public:
    CallerQueue* find(std::uint64_t caller);
    CallerQueue& get(std::uint64_t caller);  // made when missing
    void erase(const CallerQueue& q);
    std::size_t size() const { return queues_.size(); }
    void clear() { std::vector<CallerQueue>().swap(queues_); }
    std::vector<CallerQueue>& all() { return queues_; }

   private:
    std::vector<CallerQueue> queues_;
  };
  /// The released calls, oldest first. A vector and a read index: an idle
  /// actor's empty queue allocates nothing (std::deque allocates ~600 bytes).
  struct CallQueue {
    std::vector<TaskPtr> items;
    std::size_t head = 0;
    bool empty() const { return head == items.size(); }
    std::size_t size() const { return items.size() - head; }
    void push(TaskPtr t) { items.push_back(std::move(t)); }
    TaskPtr pop();
    void drain_into(std::vector<TaskPtr>& out);
    TaskPtr take(ObjectId id);  // out of the middle (cancellation: rare)
  };

  /// Counts one more turn queued on the pool; true when the caller must submit
  /// it. One turn at a time, or up to max_concurrency while the actor is alive
  /// and has released calls no turn is on its way for.
  bool schedule_locked();
  /// Something only a lone turn may do is due (build, restart, retire).
  bool exclusive_due_locked() const;
  /// Submits it (outside mu_) when schedule_locked said so.
  void submit_if(bool due);
  bool build_locked(std::unique_lock<std::mutex>& lk);
  void restart_locked(std::unique_lock<std::mutex>& lk);
  void retire_locked(std::unique_lock<std::mutex>& lk);
  void die_locked(std::string why, std::vector<TaskPtr>& failed);

  TaskPtr creation_;
  ActorPool& pool_;
  const Hooks& hooks_;

  std::mutex mu_;
  CallQueue ready_;
  Callers callers_;
  std::shared_ptr<void> instance_;
  std::string reason_;  // dead: why; else a pending restart's reason
  Phase phase_ = Phase::starting;
  bool started_ = false, exclusive_ = false;  // exclusive_: a turn builds, restarts or retires (lock released)
  std::uint32_t turns_ = 0;    // turns queued on the pool or running there (at most max_concurrency)
  std::uint32_t running_ = 0;  // calls running now (threaded actors: several)
  bool need_build_ = true, kill_requested_ = false, stop_ = false;
  std::atomic<int> restarts_{0};
  std::atomic<std::uint64_t> generation_{0};
  static thread_local std::uint64_t turn_generation_;  // per pool thread: set under mu_ when it takes a call
  std::atomic<bool> exited_{false}, released_{false};
};

}  // namespace raympi::detail
