#pragma once
// Tasks from submission to result: placement (local, the one feasible node,
// or the GS), dependency resolution, execution with retries, and completion
// at the owner.

#include <memory>
#include <string>

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
  /// Runs a task on this thread (a worker, or a get that took it from the queue).
  void execute(const TaskPtr& t);
  /// Runs the function with the task's arguments; the error, if any.
  ErrorKind invoke_guarded(const Task& t, Invocation& inv, std::string& message);
  /// Reports a task's end: its result (or error) to its owner, an event to the GCS.
  void finish(const TaskPtr& t, Invocation& inv, ErrorKind err, std::string message, double started);
  /// The task with this result id still sits in this node's queue: run it on this thread.
  void run_if_queued(ObjectId id);

  /// Drops the tasks that ran since the last call (see finished_).
  void drop_finished();

  /// submit_task at a node: a task placed here.
  void on_submit(int src, const Buffer& msg);
  /// submit_task at the GS: choose a node and forward the message as is.
  void on_submit_at_gs(const Buffer& msg);
  /// task_done at the owner.
  void on_task_done(int src, const Buffer& msg);

 private:
  void place(TaskPtr t);
  void ready(TaskPtr t);
  /// The checks and clean-up every submission starts with; true on the driver's thread.
  bool begin_submission();
  /// A new task of `s`, its result's record created and pending (`ref`).
  TaskPtr make_task(TaskSubmission&& s, bool driver_thread, RefPtr& ref);
  /// The owner's record of a task's result (the one it holds, or found by id).
  RefPtr result_record(const Task& t);
  std::string infeasible_message(const Task& t) const;

  Context& cx_;
  // Tasks the driver thread submitted and a worker ran, destroyed by the
  // driver's next submit, get or wait (or the tick) instead of by the worker: their memory
  // (task, argument bytes, demand) then goes back to the thread that
  // allocated it, whose allocator cache reuses it at once; freed by workers it
  // crossed threads and cost the driver malloc's slow path on every submit.
  AdaptiveMutex finished_mu_;
  std::vector<TaskPtr> finished_;
};

}  // namespace raympi::detail
