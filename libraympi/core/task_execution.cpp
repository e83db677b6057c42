// Tasks on their node: running the function (with retries), and reporting
// the result or error to the owner.
#include <cxxabi.h>

#include "base/fault_injection.hpp"
#include "base/log.hpp"
#include "core/actor_table.hpp"
#include "core/cancellation.hpp"
#include "core/context.hpp"
#include "core/fetcher.hpp"
#include "core/gcs_client.hpp"
#include "core/object_table.hpp"
#include "core/owner_table.hpp"
#include "core/task_pipeline.hpp"
#include "core/timeline_service.hpp"
#include "raympi/errors.hpp"
#include "store/object_store.hpp"

namespace raympi::detail {

namespace {
thread_local const Task* t_current = nullptr;

std::string current_exception_type() {
  auto* t = abi::__cxa_current_exception_type();
  return t ? demangle(t->name()) : std::string("unknown");
}
}  // namespace

const Task* current_task() { return t_current; }
CurrentTaskScope::CurrentTaskScope(const Task* t) : prev_(t_current) { t_current = t; }
CurrentTaskScope::~CurrentTaskScope() { t_current = prev_; }

bool failed_dependency(const Task& t, ErrorKind& err, std::string& message) {
  for (const auto& d : t.resolved) {
    if (d && d->error != ErrorKind::none) {  // a failed dependency fails us with its error
      err = d->error;
      message = d->error_message;
      return true;
    }
  }
  return false;
}

ErrorKind TaskPipeline::invoke_guarded(const Task& t, Invocation& inv, std::string& message) {
  InArchive ar(t.args.data, t.args.size);
  inv.args = &ar;
  inv.deps = t.resolved.data();
  inv.num_deps = t.resolved.size();
  CurrentTaskScope scope(&t);  // a task run inline by a waiting task nests
  auto where = [&] {
    return std::string(t.kind == TaskKind::actor_call ? "actor method '" : "task '") + t.display_name() +
           "' (function " + t.fn->name + ") failed on rank " + std::to_string(cx_.rank) + " with ";
  };
  try {
    t.fn->invoke(t.fn->address, inv);
    return ErrorKind::none;
  } catch (const SerializationError& e) {
    message = e.what();
    return ErrorKind::serialization;
  } catch (const TaskCancelledError& e) {  // it saw cancel_requested() (or a cancelled get) and gave up
    message = std::string(e.what()).starts_with("raympi::TaskCancelledError")  // a cancelled child's, as it is
                  ? std::string(e.what())
                  : "raympi::TaskCancelledError: " +
                        std::string(t.kind == TaskKind::actor_call ? "actor method '" : "task '") + t.display_name() +
                        "' (function " + t.fn->name + ") stopped on rank " + std::to_string(cx_.rank) +
                        " after its cancellation: " + e.what();
    return ErrorKind::cancelled;
  } catch (const TaskError& e) {
    message = e.what();  // a nested task failed: its text already says where
    return ErrorKind::task;
  } catch (const std::exception& e) {
    message = "raympi::TaskError: " + where() + current_exception_type() + ": " + e.what();
  } catch (...) {
    message = "raympi::TaskError: " + where() + current_exception_type();
  }
  return ErrorKind::task;
}

void TaskPipeline::execute(const TaskPtr& t) {
  const double started = cx_.now_seconds();
  try {
    run_and_finish(t, started);
  } catch (const std::exception& e) {
    // The runtime's own failure around the task (the task's exceptions are
    // caught by invoke_guarded): the task fails with it instead of the worker
    // thread terminating the rank.
    std::string message = "raympi: internal error while running '" + t->display_name() + "' on rank " +
                          std::to_string(cx_.rank) + ": " + e.what();
    RAYMPI_LOG_ERROR("{}", message);
    try {
      Invocation none;
      finish(t, none, ErrorKind::task, std::move(message), started);
    } catch (const std::exception& again) {
      RAYMPI_LOG_ERROR("rank {}: could not report the failure of '{}': {}", cx_.rank, t->display_name(), again.what());
    }
  }
}

void TaskPipeline::run_and_finish(const TaskPtr& t, double started) {
  maybe_inject_fault("task");
  if (t->kind == TaskKind::actor_create) {
    cx_.actors->start(t);
    return;
  }
  if (cx_.cancels->drop_if_cancelled(t)) return;  // cancelled while queued: never runs
  Invocation inv;
  ErrorKind err = ErrorKind::none;
  std::string message;
  if (!failed_dependency(*t, err, message)) {
    for (int attempt = 0;; ++attempt) {
      inv = Invocation{};
      err = invoke_guarded(*t, inv, message);
      t->attempts = attempt + 1;
      if (err == ErrorKind::none || err == ErrorKind::cancelled || attempt >= t->max_retries || cx_.stopping.load())
        break;
      RAYMPI_LOG_INFO("retrying task '{}' (attempt {} of {}) after: {}", t->display_name(), attempt + 2,
                      t->max_retries + 1, message);
    }
  }
  finish(t, inv, err, std::move(message), started);
  if (t->back_to_submitter) {
    std::lock_guard lk(finished_mu_);
    finished_.push_back(t);
  }
}

void TaskPipeline::finish(const TaskPtr& t, Invocation& inv, ErrorKind err, std::string message, double started) {
  const int owner = t->id.owner();
  // The task's handle on its result goes now: an actor's creation task lives
  // as long as the actor and must not keep the actor's handles alive.
  RefPtr result = owner == cx_.rank ? result_record(*t) : RefPtr();
  t->result.reset();
  cx_.cancels->finished(*t);  // its cancel mark and child list, if any
  cx_.timeline->task_finished(*t, err, started, inv.result.size);
  if (err != ErrorKind::none) {
    if (owner == cx_.rank) {
      if (result) cx_.owners->failed(ObjectTable::record(result), err, std::move(message));
    } else {
      TaskDoneMsg done{t->id, cx_.rank, err, std::move(message), false, 0, {}};
      cx_.send(owner, encode_msg(MsgType::task_done, done));
    }
    return;
  }
  auto o = std::make_shared<StoredObject>();
  o->id = t->id;
  o->bytes = std::move(inv.result);
  o->value = std::move(inv.value);
  o->type = inv.type;
  std::uint64_t size = o->bytes.size;
  if (owner == cx_.rank) {
    cx_.store->put(o);
    if (!result) return;
    ObjectRecord& r = ObjectTable::record(result);
    if (t->kind == TaskKind::actor_create) cx_.owners->actor_created(r, cx_.rank);
    cx_.owners->ready(r, cx_.rank, size, std::move(inv.contained));
    return;
  }
  TaskDoneMsg done{t->id, cx_.rank, ErrorKind::none, {}, size <= kInlineObjectBytes, size, {}};
  for (auto& r : inv.contained) done.contained.push_back(r.id());
  cx_.objects->mint(inv.contained);
  if (done.inlined) {
    cx_.send(owner, encode_msg(MsgType::task_done, done, &o->bytes));
  } else {
    cx_.store->put(o);
    cx_.send(owner, encode_msg(MsgType::task_done, done));
  }
  // Tasks of this node that depend on the result start now, not after the
  // owner's answer (its add_location, if any, follows the done message).
  cx_.fetcher->produced_here(o, !done.inlined);
}

}  // namespace raympi::detail
