#pragma once
// The runtime of one rank: it builds the components, dispatches control
// messages to them, runs the periodic tick, and starts and stops the rank.
// Every rank builds the same object; its roles (global scheduler, GCS, node)
// decide which parts exist. One process (n = 1) holds all roles and talks to
// itself through the loopback transport; the MPI transport connects ranks.
// The logic lives in the components (see core/README.md); nothing here keeps
// per-object or per-task state.

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "core/actor_router.hpp"
#include "core/actor_table.hpp"
#include "core/cancellation.hpp"
#include "core/context.hpp"
#include "core/fetcher.hpp"
#include "core/gcs_client.hpp"
#include "core/gcs_server.hpp"
#include "core/membership.hpp"
#include "core/object_table.hpp"
#include "core/owner_table.hpp"
#include "core/placement_groups.hpp"
#include "core/task_pipeline.hpp"
#include "core/timeline_service.hpp"
#include "core/waiters.hpp"
#include "scheduler/global_scheduler.hpp"
#include "scheduler/local_scheduler.hpp"
#include "store/object_store.hpp"
#include "topology/pinning.hpp"
#include "transport/transport.hpp"
#include "transport/ucx_plane.hpp"

namespace raympi::detail {

/// @brief One rank's runtime: the components, message dispatch, start and stop.
class Runtime {
 public:
  struct Options {
    Config cfg;
    Roles roles;
    int rank = 0;
    std::vector<NodeDesc> nodes;
    std::vector<std::string> function_keys;
    std::unique_ptr<UcxPlane> data_plane;    // null: object bytes move over MPI
    std::string job_tag;                     // names the job's spill folder
    std::shared_ptr<const Pinning> pinning;  // node ranks: where worker threads run
    Clock::time_point epoch = Clock::now();  // the job clock's zero here (timeline/clock_sync)
    double clock_error_us = 0;
  };

  Runtime(Options opts, std::unique_ptr<Transport> transport);
  ~Runtime();
  void start();

  Context& context() { return cx_; }
  int rank() const { return cx_.rank; }
  const Roles& roles() const { return cx_.roles; }
  /// Every node as learnt at init (static facts: host, cpuset, GPUs, totals).
  const std::vector<NodeDesc>& node_table() const { return cx_.nodes; }
  /// Counters of this rank's components, for tests and diagnostics.
  LocalStats stats();

  /// Driver: stops every rank and this one. Returns once all ranks acknowledged
  /// (all but those seen to fail, which the others are told to skip).
  void shutdown_job(int exit_code);
  /// Other ranks: serve until the driver's shutdown; returns the driver's exit code.
  int serve();
  /// A peer died (the data plane saw its endpoint break): the GCS is told.
  void peer_failed(int rank);
  /// `rank` is dead (the GCS said so, or this rank found it): fail over its
  /// work, or end the job when it held a role the job cannot lose.
  void on_node_died(int rank, const std::string& reason);
  /// Some rank of the job failed (then collectives and MPI_Finalize would hang).
  bool lost_peers();
  /// Event records, trace and summary of this rank.
  TimelineService& timeline() { return *timeline_; }

 private:
  void on_message(int src, Buffer msg);
  /// The progress thread's periodic work; never throws.
  Clock::time_point on_tick(Clock::time_point now);
  Clock::time_point tick(Clock::time_point now);
  void send_load(bool to_gcs);
  void on_shutdown(const Buffer& msg);
  /// The GCS's verdict: broadcast it and apply it here.
  void declare_dead(int rank, const std::string& reason);
  /// Ranks that neither acknowledged the shutdown nor died (life_mu_ held).
  std::vector<int> unacked_ranks_locked(const std::vector<int>& skipped);
  /// "rank 3 (host h), rank 4 (host h)"
  std::string describe_ranks(const std::vector<int>& ranks);
  void stop_local();
  /// The driver: waits until every rank not in `skipped` acknowledged the
  /// shutdown, died, or went silent for the heartbeat timeout (silent_ranks_).
  void await_acknowledgements(std::vector<int> skipped);
  /// A rank that acknowledged: waits for the driver's shutdown_final (every
  /// rank then enters the closing barrier at about the same time).
  void await_final();
  /// The progress thread, from the shutdown on: shutdown_alive to the driver
  /// while finishing; leaves the job (exit status 1) when the driver went
  /// silent for the heartbeat timeout before its shutdown_final.
  void shutdown_tick(Clock::time_point now);

  Context cx_;
  // First in, last out: every component below may hold object handles
  // (queued tasks, fetches, routes), released into this table as they go.
  ObjectTable objects_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<Membership> membership_;  // before the components: their last sends ask it
  std::unique_ptr<UcxPlane> data_;
  std::shared_ptr<const Pinning> pinning_;
  ObjectStore store_;
  std::unique_ptr<TimelineService> timeline_;  // outlives the workers that record into it
  std::unique_ptr<LocalScheduler> scheduler_;
  std::unique_ptr<GlobalScheduler> gs_;
  OwnerTable owners_{cx_};
  Fetcher fetcher_{cx_};
  Waiters waiters_{cx_};
  Cancellation cancels_{cx_};  // cancellation (outlives the components that call it)
  TaskPipeline tasks_{cx_};
  ActorRouter router_{cx_};
  ActorTable actors_{cx_};
  GcsClient gcs_{cx_};
  PlacementGroups pgs_{cx_};
  std::unique_ptr<GcsServer> gcs_server_;
  Clock::time_point last_flush_, last_heartbeat_, last_gs_load_;
  std::chrono::microseconds event_flush_{0}, gs_load_spacing_{0};  // by node count (runtime.cpp)

  std::mutex life_mu_;  // the shutdown handshake
  std::condition_variable life_cv_;
  bool shutdown_requested_ = false;
  int exit_code_ = 0;
  std::vector<int> acked_;  // ranks that acknowledged the shutdown
  std::vector<int> failed_ranks_;  // ranks seen to die (frozen once shutdown begins)
  // Liveness during the shutdown (core/shutdown.cpp), when the heartbeats
  // have stopped. The driver: when each rank still finishing its tasks last
  // said so (shutdown_alive), and the ranks that went silent instead.
  std::unordered_map<int, Clock::time_point> finishing_heard_;
  std::vector<int> silent_ranks_;
  // The other ranks: finishing until the acknowledgement (they send
  // shutdown_alive), then waiting for the driver's shutdown_final; when the
  // driver last said it lives.
  std::atomic<bool> shutdown_seen_{false}, finishing_{false};
  Clock::time_point last_alive_sent_{};  // progress thread only
  bool final_received_ = false;
  Clock::time_point driver_heard_{};
};

/// The runtime of this process's running session; null before init and after shutdown.
Runtime* current_runtime();

}  // namespace raympi::detail
