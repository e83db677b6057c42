#pragma once
// Cancelling tasks and actor calls (raympi::cancel): cooperative, as in Ray.
//
// The owner of a task (the rank that submitted it) knows where it went: to a
// node (TaskPipeline's remote table), to the GS and not placed yet (the GS
// tells the owner where with task_placed), or nowhere (it is on this node:
// waiting for arguments, queued, running, or an actor call parked until its
// actor's node is known). So `cancel` goes to the owner, which sends the
// cancel on to the node that has the task, or marks it here. A node marks a
// cancelled task in `cancelled_` until the task ends there:
//  * queued in the local scheduler: taken out and failed at once;
//  * not yet there, or waiting for its arguments: failed when it becomes
//    ready (TaskPipeline::ready) or when it would start (execute);
//  * an actor call: failed when its turn comes in the mailbox (never taken
//    out of the caller's sequence, which later calls wait on);
//  * running: cancel_requested() is true in it; what it returns stands.
// Recursive cancels also cancel the tasks a task submitted (tracked per
// task while it runs, and its later submissions once it is cancelled).
// Nothing here costs a task anything while no cancel is pending (one atomic
// load), except nested submissions, which record their parent.

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "scheduler/task.hpp"
#include "serialization/messages.hpp"

namespace raympi::detail {

struct Context;

/// @brief The cancels of one rank: as owner (routing them), as node (marking
/// and failing the tasks), and the children running tasks submitted.
class Cancellation {
 public:
  explicit Cancellation(Context& cx) : cx_(cx) {}

  /// raympi::cancel(ref, recursive) on any rank: goes to the task's owner.
  void cancel(ObjectId id, bool recursive);
  /// cancel_task: at the owner (routes it) or at the node that has the task.
  void on_cancel(const CancelMsg& m);

  /// True inside a task or actor call whose result was cancelled.
  bool requested();

  // Hooks in the task path (each a single atomic load while nothing is cancelled).
  /// A plain task about to be queued, forwarded or run: when it was
  /// cancelled, fails it with TaskCancelledError and returns true (do not run it).
  bool drop_if_cancelled(const TaskPtr& t);
  /// An actor call about to run in its mailbox: the same, for actor calls.
  bool drop_call_if_cancelled(const TaskPtr& t);
  /// The owner forwarded `t` to `dst`: a cancel marked here follows it (actor calls).
  void forwarded(const Task& t, int dst);
  /// The GS placed owned tasks (task_placed): cancels waiting for that go on.
  void placed(const TaskPlacedMsg& m);
  /// The running task `parent` submitted `child` (on this thread).
  void child_submitted(const Task& parent, ObjectId child);
  /// A task ended here (ran, failed or was dropped): forget its marks.
  void finished(const Task& t);

  /// Marks kept this long at most: a cancel that crossed its task's end
  /// marks an id that never comes (bounded by age, checked on insertion).
  static constexpr std::chrono::minutes kKeep{10};

 private:
  using Clock = std::chrono::steady_clock;
  struct Mark {
    bool recursive = true;
    Clock::time_point at;
  };
  /// At the owner: where the task is, and the cancel sent or marked.
  void cancel_owned(ObjectId id, bool recursive);
  /// Sends the cancel waiting for task `id`'s placement to `node`.
  void placed(ObjectId id, int node);
  /// At the node that has (or will have) the task.
  void cancel_here(ObjectId id, bool recursive);
  /// Takes the mark of `id` (true when there was one).
  bool take_mark(ObjectId id);
  void fail_cancelled(const TaskPtr& t, const std::string& why);
  void prune_locked(Clock::time_point now);
  void update_count_locked();

  Context& cx_;
  std::mutex mu_;
  std::unordered_map<ObjectId, Mark> cancelled_;  // this node: cancelled, not ended yet
  std::unordered_map<ObjectId, Mark> awaiting_placement_;  // owner: at the GS, node not known yet
  std::unordered_map<ObjectId, std::vector<ObjectId>> children_;  // running here -> tasks it submitted
  std::atomic<std::size_t> marks_{0};  // cancelled_ + awaiting_placement_ (the hooks' fast check)
};

}  // namespace raympi::detail
