#pragma once
/// @file api.hpp
/// @brief Lifecycle, objects (put, get, wait) and cluster information.

// raympi uses MPI's C API only; skip the deprecated C++ bindings (they need libmpi_cxx).
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "raympi/config.hpp"
#include "raympi/detail/runtime_api.hpp"
#include "raympi/errors.hpp"
#include "raympi/task.hpp"

namespace raympi {

/// @brief "No timeout" for `get` and `wait`.
inline constexpr std::chrono::nanoseconds forever{-1};

/// @brief Starts raympi over MPI_COMM_WORLD (calls MPI_Init_thread if needed).
/// Returns on the driver rank only; every other rank serves until shutdown and exits 0.
///
/// @code
/// int main(int argc, char** argv) {
///   raympi::init(argc, argv);
///   std::cout << raympi::get(raympi::task(add).remote(1, 2)) << '\n';
///   raympi::shutdown();
/// }
/// @endcode
void init(int& argc, char**& argv, Config cfg = {});

/// @brief Starts raympi on a duplicate of `comm`; the application owns MPI.
///
/// @code
/// MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
/// raympi::init(MPI_COMM_WORLD);
/// @endcode
void init(MPI_Comm comm, Config cfg = {});

/// @brief Stops the job: cancels queued work, frees every object, releases every rank. Driver only; idempotent.
///
/// @code
/// raympi::shutdown();
/// @endcode
void shutdown();

/// @brief True on the driver between init and shutdown, and inside any task.
///
/// @code
/// if (!raympi::is_initialized()) raympi::init(argc, argv);
/// @endcode
bool is_initialized();

/// @brief Runs `driver_main` on the driver rank and serves on the others;
/// returns the driver's exit status on every rank.
///
/// @code
/// int main(int argc, char** argv) {
///   return raympi::run(argc, argv, [] { return raympi::get(raympi::task(add).remote(1, 2)) == 3 ? 0 : 1; });
/// }
/// @endcode
int run(int argc, char** argv, std::function<int()> driver_main, Config cfg = {});

/// @brief Stores a value in this node's object store.
///
/// Putting an `ObjectRef<T>` gives an `ObjectRef<ObjectRef<T>>` (a nested
/// ref): the stored ref keeps its object alive as long as the outer object
/// lives, and a task whose parameter is `ObjectRef<T>` passed the outer ref
/// receives the inner one.
///
/// @code
/// raympi::ObjectRef<std::vector<double>> w = raympi::put(std::vector<double>(1'000'000, 1.0));
/// raympi::ObjectRef<raympi::ObjectRef<std::vector<double>>> n = raympi::put(w);
/// @endcode
template <class T>
ObjectRef<std::decay_t<T>> put(T&& value) {
  using V = std::decay_t<T>;
  std::vector<detail::RefPtr> contained;
  detail::Buffer bytes = detail::serialize_value(value, &contained);
  std::shared_ptr<const void> cached;
  if constexpr (std::is_rvalue_reference_v<T&&> && !std::is_const_v<std::remove_reference_t<T>>)
    cached = std::make_shared<const V>(std::move(value));
  return ObjectRef<V>(detail::put_object(std::move(bytes), std::move(cached), cached ? &typeid(V) : nullptr,
                                         std::move(contained)));
}

namespace detail {
inline StoredPtr fetch_one(ObjectId id, std::chrono::nanoseconds timeout) {
  if (id.nil()) throw Error("raympi::get: the ObjectRef is null (default-constructed)");
  StoredPtr o = get_objects({id}, timeout).front();
  if (o->error != ErrorKind::none) throw_stored_error(*o);
  return o;
}
/// The ids of a list of refs for get/wait; a null ref is an error.
template <class R>
std::vector<ObjectId> ids_of(const std::vector<R>& refs) {
  std::vector<ObjectId> ids;
  ids.reserve(refs.size());
  for (auto& r : refs) {
    if (!r.valid()) throw Error("raympi::get: a null ObjectRef in the list");
    ids.push_back(r.handle().id());
  }
  return ids;
}

}  // namespace detail

/// @brief Blocks until the object exists and returns a copy of its value.
///
/// @code
/// int v = raympi::get(raympi::task(add).remote(1, 2));
/// @endcode
template <class T>
T get(const ObjectRef<T>& ref) {
  return detail::fetch_one(ref.handle().id(), forever)->template copy<T>();
}

/// @brief Like `get`, throwing GetTimeoutError once `timeout` has passed.
///
/// @code
/// int x = raympi::get(r, std::chrono::milliseconds(500));
/// @endcode
template <class T, class Rep, class Period>
T get(const ObjectRef<T>& ref, std::chrono::duration<Rep, Period> timeout) {
  return detail::fetch_one(ref.handle().id(), std::chrono::duration_cast<std::chrono::nanoseconds>(timeout))
      ->template copy<T>();
}

/// @brief Waits for a void task; rethrows its failure.
///
/// @code
/// raympi::get(raympi::task(write_file).remote("out.h5"));
/// @endcode
inline void get(const ObjectRef<void>& ref) { detail::fetch_one(ref.handle().id(), forever); }

/// @brief Gets many objects (fetched concurrently), in the input's order.
///
/// @code
/// std::vector<int> xs = raympi::get(refs);
/// @endcode
template <class T>
  requires(!std::is_void_v<T>)
std::vector<T> get(const std::vector<ObjectRef<T>>& refs) {
  auto objs = detail::get_objects(detail::ids_of(refs), forever);
  std::vector<T> out;
  out.reserve(objs.size());
  for (auto& o : objs) {
    if (o->error != detail::ErrorKind::none) detail::throw_stored_error(*o);
    out.push_back(o->template copy<T>());
  }
  return out;
}

/// @brief Waits for many void tasks or actor calls; rethrows the first failure (in input order).
///
/// @code
/// std::vector<raympi::ObjectRef<void>> done;
/// for (auto& a : actors) done.push_back(a.task(&Model::set_weights).remote(avg));
/// raympi::get(done);
/// @endcode
inline void get(const std::vector<ObjectRef<void>>& refs) {
  for (auto& o : detail::get_objects(detail::ids_of(refs), forever))
    if (o->error != detail::ErrorKind::none) detail::throw_stored_error(*o);
}

/// @brief A shared, read-only view of the object: no copy where this node holds it,
/// and every `get_shared` on one node shares one value.
///
/// @code
/// std::shared_ptr<const std::vector<double>> w = raympi::get_shared(weights);
/// @endcode
template <class T>
std::shared_ptr<const T> get_shared(const ObjectRef<T>& ref) {
  return detail::fetch_one(ref.handle().id(), forever)->template typed<T>();
}

/// @brief Result of `wait`: both lists keep the input's order.
///
/// @code
/// raympi::WaitResult<int> wr = raympi::wait(refs, 1);
/// int first = raympi::get(wr.ready.front());
/// @endcode
template <class T>
struct WaitResult {
  std::vector<ObjectRef<T>> ready;
  std::vector<ObjectRef<T>> remaining;
};

/// @brief Waits until `num_returns` of `refs` are ready (or the timeout ends).
///
/// @code
/// auto wr = raympi::wait(refs, /*num_returns=*/3, std::chrono::seconds(2));
/// @endcode
template <class T, class Rep = std::int64_t, class Period = std::nano>
WaitResult<T> wait(const std::vector<ObjectRef<T>>& refs, std::size_t num_returns = 1,
                   std::chrono::duration<Rep, Period> timeout = forever) {
  if (num_returns > refs.size())
    throw Error("raympi::wait: num_returns (" + std::to_string(num_returns) + ") exceeds the number of refs (" +
                std::to_string(refs.size()) + ")");
  std::vector<detail::ObjectId> ids;
  ids.reserve(refs.size());
  for (auto& r : refs) ids.push_back(r.handle().id());
  auto ready = detail::wait_objects(ids, num_returns, std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  WaitResult<T> wr;
  std::size_t taken = 0;
  for (std::size_t i = 0; i < refs.size(); ++i) {
    if (ready[i] && taken < num_returns) {
      wr.ready.push_back(refs[i]);
      ++taken;
    } else {
      wr.remaining.push_back(refs[i]);
    }
  }
  return wr;
}

/// @brief Cancels the task or actor call whose result `ref` is, from any rank.
/// Cooperative, as in Ray: a task not yet started never runs, and `get` on
/// `ref` (and on every task depending on it) throws TaskCancelledError; a
/// running task is never interrupted: raympi::cancel_requested() becomes
/// true in it; if it returns, its result stands; if it throws
/// TaskCancelledError, `get` throws that. `recursive` (the default) cancels
/// the tasks it submitted too, transitively. A finished task is left as it is.
/// A queued actor call never runs; a running one sees cancel_requested().
///
/// @code
/// raympi::ObjectRef<int> r = raympi::task(long_job).remote(cfg);
/// raympi::cancel(r);
/// try { raympi::get(r); } catch (const raympi::TaskCancelledError&) { /* it had not finished */ }
/// @endcode
template <class T>
void cancel(const ObjectRef<T>& ref, bool recursive = true) {
  detail::cancel_task(ref.handle().id(), recursive);
}

/// @brief True inside a task or actor call once its result was cancelled
/// (raympi::cancel); false elsewhere. Poll it in long loops and stop early:
/// return a partial result (it stands) or throw raympi::TaskCancelledError.
///
/// @code
/// int long_job(int steps) {
///   for (int i = 0; i < steps; ++i) {
///     if (raympi::cancel_requested()) throw raympi::TaskCancelledError("stopped at step " + std::to_string(i));
///     step(i);
///   }
///   return steps;
/// }
/// @endcode
bool cancel_requested();

/// @brief One GPU of a node: the device behind GPU id `id` there.
///
/// @code
/// for (const raympi::GpuInfo& g : raympi::nodes().front().gpus) std::cout << g.id << ' ' << g.pci_bus_id << '\n';
/// @endcode
struct GpuInfo {
  int id = -1;             // what gpu_ids() returns for it on that node
  std::string name;        // e.g. "NVIDIA A100-SXM4-40GB"
  std::string pci_bus_id;  // e.g. "0000:17:00.0"
  std::string uuid;        // "GPU-…" where NVML or RSMI report one, else empty
};

/// @brief One node of the job as the GCS knows it.
///
/// @code
/// for (const raympi::NodeInfo& n : raympi::nodes()) std::cout << n.rank << ' ' << n.host << '\n';
/// @endcode
struct NodeInfo {
  int rank = -1;
  std::string host;
  std::map<std::string, double> resources;  // totals ("CPU", "GPU", custom ones)
  std::map<std::string, double> available;  // as last reported
  bool alive = true;
  bool is_driver = false;
  double seconds_since_heartbeat = 0;
  std::uint64_t tasks_finished = 0;
  std::string cpuset;          // the rank's PUs in hwloc's list syntax, e.g. "0-31"
  int num_pus = 0;             // PUs in cpuset
  int num_cores = 0;           // cores they belong to
  bool workers_pinned = false; // worker threads bound one per PU (Config::pin_workers)
  std::vector<GpuInfo> gpus;   // detected GPUs behind its GPU ids (none where GPUs were only declared)
};

/// @brief The GPU ids given to the running task or actor (positions in its
/// node's visible-device order, e.g. for cudaSetDevice); empty outside one.
/// A task with num_gpus(k), k whole, gets k distinct ids; a fraction shares one id.
///
/// @code
/// int train(int epochs) {
///   std::vector<int> ids = raympi::gpu_ids();   // {0} or {1} with num_gpus(1)
///   return ids.empty() ? -1 : ids.front();
/// }
/// @endcode
std::vector<int> gpu_ids();

/// @brief Totals of every resource over all nodes.
///
/// @code
/// double cpus = raympi::cluster_resources()["CPU"];
/// @endcode
std::map<std::string, double> cluster_resources();

/// @brief Resources free right now over all nodes (as last reported to the GCS).
///
/// @code
/// double free_cpus = raympi::available_resources()["CPU"];
/// @endcode
std::map<std::string, double> available_resources();

/// @brief The nodes of the job: rank, host, resources, liveness.
///
/// @code
/// std::size_t n = raympi::nodes().size();
/// @endcode
std::vector<NodeInfo> nodes();

/// @brief Writes a Chrome trace (Trace Event JSON) of every task and actor
/// call so far to `path`: one process per node rank, one row per worker and
/// per actor, flow arrows from each task to the tasks that consumed its
/// result, object transfers and spills on a transport row. Opens in
/// chrome://tracing, Perfetto, or as HTML through `raympi timeline` (docs/timeline.md).
/// Driver only; gathers every node's records (memory and HDF5 event log).
///
/// @code
/// raympi::timeline("trace.json");
/// @endcode
void timeline(const std::string& path);

/// @brief A table of the job so far: tasks and actor calls per function
/// (count, mean/max/total duration, failures, retries), per node (tasks,
/// busy %, bytes in/out, spilled bytes), objects created and freed. Also
/// printed at shutdown with `RAYMPI_SUMMARY=1`.
///
/// @code
/// std::cout << raympi::summary();
/// @endcode
std::string summary();

/// @brief The MPI rank this code runs on (driver or task).
///
/// @code
/// int where = raympi::get(raympi::task([] { return raympi::current_rank(); }).remote());
/// @endcode
int current_rank();

}  // namespace raympi
