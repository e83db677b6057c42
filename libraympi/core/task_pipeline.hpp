#pragma once
// Tasks from submission to result: placement (local, the one feasible node,
// or the GS), dependency resolution, execution with retries, and completion
// at the owner.

#include <memory>
#include <string>
#include <unordered_map>

#include "base/adaptive_mutex.hpp"
#include "raympi/detail/runtime_api.hpp"
#include "scheduler/task.hpp"
#include "serialization/messages.hpp"

namespace raympi::detail {

struct Context;

/// @brief Marks the task (or actor call) this thread runs, for nested gets.
class CurrentTaskScope {
 public:
  explicit CurrentTaskScope(const Task* t);
  ~CurrentTaskScope();
  CurrentTaskScope(const CurrentTaskScope&) = delete;
  CurrentTaskScope& operator=(const CurrentTaskScope&) = delete;

 private:
  const Task* prev_;
};
/// The task (or actor call) running on this thread, if any.
const Task* current_task();
/// True (with the error) when one of the task's resolved dependencies failed.
bool failed_dependency(const Task& t, ErrorKind& err, std::string& message);

/// @brief Submission, placement, execution and completion of tasks.
class TaskPipeline {
 public:
  explicit TaskPipeline(Context& cx) : cx_(cx) {}

  /// The front end's entry: a task, actor creation or actor call made on this rank.
  RefPtr submit(TaskSubmission&& s);
  /// Tasks submitted together: those that can run here at once are queued
  /// under one scheduler lock, with one wake-up round.
  std::vector<RefPtr> submit_batch(std::vector<TaskSubmission>&& subs);
  /// Resolves the task's dependencies here, then queues it (or hands an actor call to its actor).
  void resolve_and_enqueue(TaskPtr t);
  /// Sends the task to `dst` (the GS, or the node that runs it).
  void forward(const TaskPtr& t, int dst);
  /// The owner's side of a task that failed before it could run.
  void fail_owned(const Task& t, ErrorKind err, std::string message);
  /// Runs a task on this thread (a worker, or a get that took it from the
  /// queue). Never throws: a failure of the runtime's own fails the task.
  void execute(const TaskPtr& t);
  /// Runs the function with the task's arguments; the error, if any.
  ErrorKind invoke_guarded(const Task& t, Invocation& inv, std::string& message);
  /// Reports a task's end: its result (or error) to its owner, an event to the GCS.
  void finish(const TaskPtr& t, Invocation& inv, ErrorKind err, std::string message, double started);
  /// The task with this result id still sits in this node's queue: run it on this thread.
  void run_if_queued(ObjectId id);

  /// True when this rank sent task `id` away and it has
  /// not ended: `node` is where (-1: at the GS, not placed yet).
  bool remote_node(ObjectId id, int& node);

  /// Drops the tasks that ran since the last call (see finished_).
  void drop_finished();

  /// submit_task at a node: a task placed here.
  void on_submit(int src, const Buffer& msg);
  /// submit_task at the GS: choose a node and forward the message as is.
  void on_submit_at_gs(const Buffer& msg);
  /// task_done at the owner.
  void on_task_done(int src, const Buffer& msg);

  // Failing over from a dead node (core/failover.cpp).
  /// task_placed at the owner: the nodes the GS chose for its tasks.
  void on_task_placed(const TaskPlacedMsg& m);
  /// The GS: sends the owners their placement batches (the progress thread's tick).
  void flush_placed();
  bool placed_pending() const { return !placed_.empty(); }
  /// The node rank died: this rank's tasks there are retried elsewhere (when
  /// their max_retries allow) or fail with NodeDiedError / ActorDiedError.
  void on_node_died(int rank, const std::string& why);
  /// The creation of an actor that may restart (max_restarts left), taken
  /// out of the table (null when none).
  TaskPtr take_restartable(ObjectId actor);
  /// Creates the actor again elsewhere (its node died): one restart spent.
  void restart_actor(TaskPtr creation, const std::string& why);

 private:
  void place(TaskPtr t);
  /// execute()'s work: run (with retries) and report.
  void run_and_finish(const TaskPtr& t, double started);
  void ready(TaskPtr t);
  /// The checks and clean-up every submission starts with; true on the driver's thread.
  bool begin_submission();
  /// A new task of `s`, its result's record created and pending (`ref`).
  TaskPtr make_task(TaskSubmission&& s, bool driver_thread, RefPtr& ref);
  /// The owner's record of a task's result (the one it holds, or found by id).
  RefPtr result_record(const Task& t);
  std::string infeasible_message(const Task& t) const;
  /// A task of this rank that was running on a dead node: again elsewhere, or its error.
  void fail_over(TaskPtr t, const std::string& why);

  Context& cx_;
  // Tasks the driver thread submitted and a worker ran, destroyed by the
  // driver's next submit, get or wait (or the tick) instead of by the worker: their memory
  // (task, argument bytes, demand) then goes back to the thread that
  // allocated it, whose allocator cache reuses it at once; freed by workers it
  // crossed threads and cost the driver malloc's slow path on every submit.
  AdaptiveMutex finished_mu_;
  std::vector<TaskPtr> finished_;

  // Tasks this rank owns that run on another node, until their task_done:
  // what a node's death takes with it. node -1: sent to the GS, node not told yet.
  struct RemoteTask {
    TaskPtr task;
    int node = -1;
  };
  AdaptiveMutex remote_mu_;
  std::unordered_map<ObjectId, RemoteTask> remote_;
  // Creations of live actors with restarts left, kept to create them again
  // if their node dies (under remote_mu_).
  std::unordered_map<ObjectId, TaskPtr> restartable_;
  // The GS only (its progress thread only): placements not yet told, per owner.
  std::unordered_map<int, TaskPlacedMsg> placed_;
};

}  // namespace raympi::detail
