#pragma once
// The narrow interface between the header-only typed front end and the
// runtime inside libraympi. Everything here is type-erased.

#include <chrono>
#include <map>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "raympi/detail/archive.hpp"
#include "raympi/detail/object_store_view.hpp"
#include "raympi/detail/refs.hpp"

namespace raympi::detail {

struct FunctionInfo;

/// @brief A resource demand: CPU and GPU slots plus named custom resources.
struct ResourceDemand {
  ResourceDemand() = default;
  explicit ResourceDemand(double cpus) : cpu(cpus) {}
  double cpu = 1;
  double gpu = 0;
  std::vector<std::pair<std::string, double>> custom;  // sorted by name, no duplicates

  void set(const std::string& name, double amount);
  /// Same shape: tasks with equal demands share one ready queue.
  bool operator==(const ResourceDemand&) const = default;
  template <class Archive>
  void serialize(Archive& ar) { ar(cpu, gpu, custom); }
};

enum class TaskKind : std::uint8_t { task = 0, actor_create = 1, actor_call = 2 };
RAYMPI_WIRE_ENUM(TaskKind, TaskKind::actor_call)  // the last TaskKind: keep in step

/// @brief What an actor creation carries besides its factory call.
struct ActorSpec {
  ResourceDemand holds{0};   // held while the actor lives
  std::int32_t max_restarts = 0;
  std::string name;          // registered in the GCS when not empty
  std::int32_t max_concurrency = 1;  // calls run at once (1: one at a time, in order)
  template <class Archive>
  void serialize(Archive& ar) { ar(holds, max_restarts, name, max_concurrency); }
};

/// @brief One task, actor creation or actor method call, as every part of
/// raympi describes it: built by the typed front end, held by the node that
/// runs it (scheduler/task.hpp's Task is a TaskSpec plus run-time state), and
/// sent over the wire as itself (its argument bytes follow the message body).
struct TaskSpec {
  ObjectId id;                      // the task's id, and its result's; set at submit
  const FunctionInfo* fn = nullptr; // travels as its registry id
  std::string name;                 // a custom name, else the function's
  ResourceDemand demand;            // to run (tasks) or to place (actors)
  std::int32_t max_retries = 0;
  Buffer args;                      // one flag + payload per parameter (not in the body)
  std::vector<ObjectId> deps;       // objects to resolve before the call, by dependency slot
  double submitted_at = 0;          // seconds since the submitting rank started
  TaskKind kind = TaskKind::task;
  ObjectId actor;                   // actor_call: the actor called
  std::uint64_t caller = 0, call_seq = 0;  // actor_call: calls of one caller run in call_seq order
  ActorSpec actor_spec;             // actor_create
  // Not on the wire: the submitter routes the
  // work to its bundle's node and rewrites `demand` into the bundle's own resources.
  std::uint64_t placement_group = 0;  // 0: none
  std::int32_t bundle_index = -1;     // -1: any bundle of the group

  /// The custom name, else the function's.
  std::string display_name() const;
  template <class Archive>
  void save(Archive& ar) const {
    ar(id, function_id(fn), name, demand, max_retries, deps, submitted_at, kind);
    if (kind == TaskKind::actor_call) ar(actor, caller, call_seq);
    if (kind == TaskKind::actor_create) ar(actor_spec);
  }
  template <class Archive>
  void load(Archive& ar) {
    std::uint64_t fn_id = 0;
    ar(id, fn_id, name, demand, max_retries, deps, submitted_at, kind);
    fn = function_by_id(fn_id);  // null when unknown here: the task fails with that reason
    if (kind == TaskKind::actor_call) ar(actor, caller, call_seq);
    if (kind == TaskKind::actor_create) ar(actor_spec);
  }

 private:
  static std::uint64_t function_id(const FunctionInfo* f);
  static const FunctionInfo* function_by_id(std::uint64_t id);
};

/// @brief What the typed front end hands to the runtime: the spec and the
/// refs it carries (dependencies and handles inside arguments), which stay
/// alive until the task is done.
struct TaskSubmission {
  TaskSpec spec;
  std::vector<RefPtr> held;  // every ref the spec carries
  RefPtr actor;              // actor_call: the actor called (kept alive until the call is done)
};

/// @brief What an invoker reads and writes when a task runs.
struct Invocation {
  InArchive* args = nullptr;
  const StoredPtr* deps = nullptr;
  std::size_t num_deps = 0;
  Buffer result;
  std::shared_ptr<const void> value;
  const std::type_info* type = nullptr;
  std::vector<RefPtr> contained;
  void* self = nullptr;              // the actor instance a method runs on
  std::shared_ptr<void> instance;    // what an actor factory built
};

/// Submits a task or an actor method call (returns its result's ref) or an
/// actor creation (returns the actor's handle ref).
RefPtr submit_task(TaskSubmission&& s);
/// Submits tasks (not actor calls or creations) in one go; their refs in order.
std::vector<RefPtr> submit_tasks(std::vector<TaskSubmission>&& subs);
/// Cancels the task or actor call whose result is `id`.
void cancel_task(ObjectId id, bool recursive);
/// Stops an actor; `no_restart = false` counts as a crash (restarts apply).
void kill_actor(ObjectId actor, bool no_restart);
/// The named actor's handle ref, or a null ref; throws when its class is not `cls`.
RefPtr lookup_actor(const std::string& name, const std::type_info& cls);
RefPtr put_object(Buffer bytes, std::shared_ptr<const void> value, const std::type_info* type,
                  std::vector<RefPtr> contained);
/// Blocks until every object is in this node's store; negative timeout: forever.
std::vector<StoredPtr> get_objects(const std::vector<ObjectId>& ids, std::chrono::nanoseconds timeout);
/// Blocks until `num_returns` objects are local or the timeout ends; 1 = ready, per input.
std::vector<char> wait_objects(const std::vector<ObjectId>& ids, std::size_t num_returns,
                               std::chrono::nanoseconds timeout);

/// @brief Counters of this rank's runtime, for tests and diagnostics.
struct LocalStats {
  std::size_t store_objects = 0;  // objects in this node's store (copies included)
  std::size_t store_bytes = 0;
  std::size_t ref_records = 0;    // reference-table records (live refs known here)
  std::size_t owned_objects = 0;  // objects this rank owns and has not freed
  std::size_t fetches = 0;        // fetches in flight
  std::size_t actors_hosted = 0;  // actors on this node (dead ones until their last handle goes)
  std::size_t actor_routes = 0;   // actors this process calls (where they live, call sequence)
  std::size_t actor_callers = 0;  // callers whose call order the actors hosted here track
  std::size_t spilled_objects = 0;  // objects of this node's store in spill files
  std::size_t spilled_bytes = 0;
  std::string spill_folder;          // this rank's spill folder (exists once something spilled)
  bool data_plane = false;           // object bytes move over UCX (else MPI)
  std::uint64_t data_plane_received = 0;  // bytes this rank received over UCX
  std::uint64_t data_plane_sent = 0;      // bytes this rank handed to UCX to send
  std::uint64_t data_plane_cma_received = 0;  // of data_plane_received: bytes copied from a same-host peer by cma
  std::size_t pooled_free_bytes = 0;      // freed object buffers this process keeps for reuse
  template <class Archive>
  void serialize(Archive& ar) {
    ar(store_objects, store_bytes, ref_records, owned_objects, fetches, actors_hosted, actor_routes, actor_callers,
       spilled_objects, spilled_bytes, spill_folder, data_plane, data_plane_received, data_plane_sent, data_plane_cma_received,
       pooled_free_bytes);
  }
};
LocalStats local_stats();
/// Benchmarks: turns running a queued task on the thread that gets its result
/// on or off in this process (Config::inline_get), so one run measures both.
void set_inline_get(bool on);
/// The GCS's table sizes and counters (tasks, objects, actors by state, names).
std::map<std::string, std::uint64_t> gcs_counters();

}  // namespace raympi::detail
