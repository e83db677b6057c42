#pragma once
// A task as a node holds it: its spec, the refs it keeps alive, and its
// resolved dependencies.

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "raympi/detail/registry.hpp"
#include "raympi/detail/runtime_api.hpp"

namespace raympi::detail {

/// @brief A task, actor creation or actor method call as a node holds it.
struct Task {
  ObjectId id;  // also the id of its result
  const FunctionInfo* fn = nullptr;
  std::string name;
  ResourceDemand demand;
  std::string shape;
  int max_retries = 0;
  Buffer args;
  std::vector<ObjectId> deps;
  std::vector<RefPtr> held;
  std::vector<StoredPtr> resolved;
  std::atomic<int> missing{0};
  std::vector<std::pair<std::int32_t, std::uint64_t>> locality;
  double submitted_at = 0;
  std::uint64_t seq = 0;  // ready-queue order
  TaskKind kind = TaskKind::task;
  ObjectId actor;          // actor_call: calls of one caller run in call_seq order
  std::uint64_t caller = 0, call_seq = 0;
  ActorSpec spec;          // actor_create
  std::vector<int> gpu_ids;  // GPU ids given while it runs (an actor creation: for the actor's life)
  bool keeps_gpus = false;   // actor_create: the actor keeps gpu_ids after the creation task ends

  std::string display_name() const { return name.empty() ? (fn ? fn->name : std::string("?")) : name; }
};
using TaskPtr = std::shared_ptr<Task>;

}  // namespace raympi::detail
