#pragma once
// What every component of a rank's runtime shares: the job's static facts
// (roles, node table, configuration), the transports and the leaf services,
// and where to find the other components. The Runtime fills it once at
// construction; components keep a reference and call each other only
// through the narrow methods of their own headers (see core/README.md for
// who may call whom).

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "raympi/config.hpp"
#include "scheduler/resources.hpp"
#include "serialization/messages.hpp"
#include "topology/topology.hpp"

namespace raympi::detail {

class Transport;
class UcxPlane;
class ObjectStore;
class LocalScheduler;
class ObjectTable;
class OwnerTable;
class Fetcher;
class Waiters;
class TaskPipeline;
class ActorRouter;
class ActorTable;
class GcsClient;
class GcsServer;
class GlobalScheduler;
class TimelineService;
class Membership;
class PlacementGroups;
class Cancellation;

using Clock = std::chrono::steady_clock;

/// @brief A node of the job as every rank learns it at init.
struct NodeDesc {
  int rank = -1;
  std::string host;
  ResourceSet total;
  std::string cpuset;           // the rank's PUs (hwloc list syntax)
  std::int32_t pus = 0, cores = 0;
  std::vector<GpuDevice> gpus;  // the GPUs behind its GPU ids, id = position
  bool pinned = false;          // worker threads bound to PUs
  template <class A>
  void serialize(A& ar) { ar(rank, host, total, cpuset, pus, cores, gpus, pinned); }
};

/// @brief Which rank plays which role, for a job of `size` ranks.
struct Roles {
  int size = 1, gs = 0, gcs = 0, first_node = 0;
  static Roles for_size(int size);
  bool is_node(int r) const { return r >= first_node; }
};

/// @brief The shared facts and the component directory of one rank.
struct Context {
  Config cfg;
  Roles roles;
  int rank = 0;
  std::vector<NodeDesc> nodes;
  /// The job clock's zero on this rank's steady clock (rank 0's start; see
  /// timeline/clock_sync): times in task records line up across ranks.
  Clock::time_point epoch = Clock::now();
  std::atomic<bool> stopping{false};

  // Transports and leaf services (null where this rank has no such role).
  Transport* transport = nullptr;
  UcxPlane* data = nullptr;            // null: object bytes move over MPI
  ObjectStore* store = nullptr;
  LocalScheduler* scheduler = nullptr; // node ranks only
  GlobalScheduler* gs = nullptr;       // the GS rank only

  // The components.
  ObjectTable* objects = nullptr;
  OwnerTable* owners = nullptr;
  Fetcher* fetcher = nullptr;
  Waiters* waiters = nullptr;
  TaskPipeline* tasks = nullptr;
  ActorRouter* router = nullptr;
  ActorTable* actors = nullptr;
  GcsClient* gcs = nullptr;
  GcsServer* gcs_server = nullptr;     // the GCS rank only
  TimelineService* timeline = nullptr; // event records, trace, summary
  Membership* membership = nullptr;    // which ranks are alive
  PlacementGroups* pgs = nullptr;      // placement groups (core/placement_groups)
  Cancellation* cancels = nullptr;     // raympi::cancel (core/cancellation)

  bool is_node() const { return roles.is_node(rank); }
  bool is_driver() const { return rank == roles.first_node; }
  double now_seconds() const { return seconds_at(Clock::now()); }
  double seconds_at(Clock::time_point t) const { return std::chrono::duration<double>(t - epoch).count(); }
  /// Sends a control message (to this rank too: it loops back through the
  /// progress thread). Messages to a rank known dead are dropped.
  void send(int dst, Buffer msg) const;
};

}  // namespace raympi::detail
