#pragma once
// Actors, the node's side: building an actor where the scheduler placed its
// creation, delivering calls to its mailbox, running them on the node's actor
// pool, kill / restart / release, and the resources it holds.

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "actors/actor_host.hpp"
#include "actors/actor_pool.hpp"
#include "serialization/messages.hpp"

namespace raympi::detail {

struct Context;

/// @brief The actors hosted on this node.
class ActorTable {
 public:
  explicit ActorTable(Context& cx) : cx_(cx) {}

  /// Runs an actor creation placed here: holds its resources, queues its build on the pool.
  void start(const TaskPtr& creation);
  /// A call whose arguments are all here: into its actor's mailbox.
  void deliver(TaskPtr call);
  void on_kill(const ActorKillMsg& m);
  /// Takes a released call out of its actor's mailbox
  /// (null when no actor here has it queued).
  TaskPtr take_queued_call(ObjectId call);
  /// The actor's last handle anywhere is gone.
  void on_release(ObjectId actor);
  /// A caller will make no more calls than it said.
  void on_caller_done(const ActorCallerDoneMsg& m);
  /// Job shutdown: every actor's instance is destroyed (on the pool), then the pool stops.
  void stop();
  /// How many calls the actor hosted here runs at once (1 when not hosted here).
  std::uint32_t max_concurrency(ObjectId actor);
  /// Actors hosted (dead ones until released) and the callers they track.
  std::size_t count(std::size_t* callers = nullptr);
  /// The pool's threads now and at most so far (0 before the first actor).
  std::size_t pool_threads(std::size_t* peak = nullptr);

  /// Pool threads kept when idle, and the most there may be.
  static constexpr std::size_t kCorePoolThreads = 2, kMaxPoolThreads = 4096;

 private:
  std::shared_ptr<ActorHost> hosted(ObjectId actor);
  /// The pool (and hooks_), made with the first actor: the node's config and scheduler are set by then.
  ActorPool& pool();
  bool pool_made() const { return pool_ready_.load(std::memory_order_acquire); }
  std::shared_ptr<const ActorHost::Hooks> make_hooks();
  void run_call(ActorHost& h, const TaskPtr& t, void* self);
  void on_phase(ActorHost& h, ActorHost::Phase p, const std::string& message);
  std::string died_message(const Task& creation, const std::string& why) const;
  void fail(const TaskPtr& t, ErrorKind err, std::string message, double started);

  Context& cx_;
  std::mutex mu_;  // actors_, exited_, stopped_
  std::unordered_map<ObjectId, std::shared_ptr<ActorHost>> actors_;  // hosted here (dead ones until released)
  std::unordered_set<ObjectId> exited_;  // dead hosts kept as tombstones
  bool stopped_ = false;
  std::once_flag pool_once_;
  std::atomic<bool> pool_ready_{false};
  std::shared_ptr<const ActorHost::Hooks> hooks_;  // one copy for every actor
  std::unique_ptr<ActorPool> pool_;
};

}  // namespace raympi::detail
