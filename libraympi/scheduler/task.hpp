#pragma once
// A task as a node holds it: its TaskSpec, the refs it keeps alive, and its
// resolved dependencies.

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "raympi/detail/registry.hpp"
#include "raympi/detail/runtime_api.hpp"

namespace raympi::detail {

/// @brief A task, actor creation or actor method call as a node holds it: the
/// spec (by value) plus what only running it needs.
struct Task : TaskSpec {
  Task() = default;
  explicit Task(TaskSpec&& s) : TaskSpec(std::move(s)) {}

  std::vector<RefPtr> held;          // every ref the spec carries, alive until the task is done
  RefPtr result;                     // on the owner: its result's record (null for tasks from the wire)
  std::vector<StoredPtr> resolved;   // dependency objects, by dependency slot
  std::atomic<int> missing{0};
  std::vector<std::pair<std::int32_t, std::uint64_t>> locality;  // rank -> argument bytes there
  std::uint64_t seq = 0;             // ready-queue order
  std::vector<int> gpu_ids;          // GPU ids given while it runs (an actor creation: for the actor's life)
  bool keeps_gpus = false;           // actor_create: the actor keeps gpu_ids after the creation task ends
  bool back_to_submitter = false;    // submitted by the driver thread: destroyed there (TaskPipeline::drop_finished)
  std::int32_t attempts = 1;         // runs so far, retries included (the timeline and summary count retries)
  mutable bool has_children = false; // submitted tasks while it ran (core/cancellation tracks them)
};
using TaskPtr = std::shared_ptr<Task>;

}  // namespace raympi::detail
