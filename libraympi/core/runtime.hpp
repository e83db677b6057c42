#pragma once
// The runtime of one rank. Every rank builds the same object; its roles
// (global scheduler, GCS, node) decide which parts are active. One process
// (n = 1) holds all roles and talks to itself through the loopback
// transport; the MPI transport connects ranks. Nothing else differs.

#include <chrono>
#include <condition_variable>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "actors/actor_host.hpp"
#include "base/adaptive_mutex.hpp"
#include "core/refs.hpp"
#include "gcs/gcs.hpp"
#include "raympi/config.hpp"
#include "raympi/detail/runtime_api.hpp"
#include "scheduler/global_scheduler.hpp"
#include "scheduler/local_scheduler.hpp"
#include "serialization/messages.hpp"
#include "store/object_store.hpp"
#include "topology/pinning.hpp"
#include "topology/topology.hpp"
#include "transport/transport.hpp"
#include "transport/ucx_plane.hpp"

namespace raympi::detail {

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

/// @brief A caller blocked in get/wait: arrivals counted, results by input slot.
struct Waiter {
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<std::size_t> arrived{0};
  std::size_t need = 0;
  std::vector<StoredPtr> results;
  bool cancelled = false;
};

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
const Task* current_task();
/// True (with the error) when one of the task's resolved dependencies failed.
bool failed_dependency(const Task& t, ErrorKind& err, std::string& message);

class Runtime {
 public:
  struct Options {
    Config cfg;
    Roles roles;
    int rank = 0;
    std::vector<NodeDesc> nodes;
    std::vector<std::string> function_keys;
    std::unique_ptr<UcxPlane> data_plane;  // null: object bytes move over MPI
    std::string job_tag;                    // names the job's spill folder
    std::shared_ptr<const Pinning> pinning;  // node ranks: where worker threads run
  };

  Runtime(Options opts, std::unique_ptr<Transport> transport);
  ~Runtime();
  static Runtime* instance();
  static void set_instance(Runtime* rt);

  void start();
  int rank() const { return rank_; }
  const Roles& roles() const { return roles_; }
  bool is_driver() const { return rank_ == roles_.first_node; }
  bool stopping() const { return stopping_.load(); }
  RefTable& refs() { return refs_; }
  ObjectStore& store() { return store_; }
  const Config& config() const { return cfg_; }
  /// Every node as learnt at init (static facts: host, cpuset, GPUs, totals).
  const std::vector<NodeDesc>& node_table() const { return nodes_; }

  // The front end's entry points.
  RefPtr submit(TaskSubmission&& s);
  RefPtr put(Buffer bytes, std::shared_ptr<const void> value, const std::type_info* type,
             std::vector<RefPtr> contained);
  std::vector<StoredPtr> get(const std::vector<ObjectId>& ids, std::chrono::nanoseconds timeout);
  std::vector<char> wait(const std::vector<ObjectId>& ids, std::size_t num_returns,
                         std::chrono::nanoseconds timeout);
  GcsReplyMsg query_gcs(GcsQueryMsg q);
  GcsReplyMsg query_gcs(GcsQueryKind kind) {
    GcsQueryMsg q;
    q.kind = kind;
    return query_gcs(std::move(q));
  }
  LocalStats stats();
  void kill_actor(ObjectId actor, bool no_restart);
  RefPtr lookup_actor(const std::string& name, const std::type_info& cls);

  /// Driver: stops every rank and this one. Returns once all ranks acknowledged
  /// (all but those seen to fail, which the others are told to skip).
  void shutdown_job(int exit_code);
  /// A peer died (the data plane saw its endpoint break).
  void peer_failed(int rank);
  /// Some rank of the job failed (then collectives and MPI_Finalize would hang).
  bool lost_peers() {
    std::lock_guard lk(life_mu_);
    return !failed_ranks_.empty();
  }
  /// Other ranks: serve until the driver's shutdown; returns the driver's exit code.
  int serve();

 private:
  // runtime.cpp: dispatch, timers, lifecycle
  void on_message(int src, Buffer msg);
  Clock::time_point on_tick(Clock::time_point now);
  void record_event(TaskEvent ev);
  void flush_events();
  void gcs_events(const GcsEventsMsg& batch);
  void send_load(bool to_gcs);
  void stop_local();
  double now_seconds() const;

  // tasks.cpp: placement, execution, completion
  ObjectId next_id();
  void place(TaskPtr t);
  void fail_owned(ObjectId id, ErrorKind err, std::string message);
  void resolve_and_enqueue(TaskPtr t);
  void ready(TaskPtr t);
  ErrorKind invoke_guarded(const Task& t, Invocation& inv, std::string& message);
  void forward(const TaskPtr& t, int dst);
  void execute(const TaskPtr& t);
  void finish(const TaskPtr& t, Invocation& inv, ErrorKind err, std::string message, double started);
  void handle_submit(int src, const Buffer& msg);
  void handle_task_done(int src, const Buffer& msg);
  void route_at_gs(const Buffer& msg);

  // actors.cpp (callers) and actor_node.cpp (the actor's node, the GCS's name table)
  struct ActorRoute {
    int node = -1;
    ErrorKind error = ErrorKind::none;
    std::string message;
    bool locating = false;
    std::uint64_t caller = 0, next_seq = 0;
    std::vector<TaskPtr> parked;  // calls made before the actor's node was known
  };
  void register_actor_name(const Task& creation, const RefPtr& ref);
  void route_call(TaskPtr t);
  void dispatch_call(TaskPtr t, int node, ErrorKind err, const std::string& message);
  void refuse_self_wait(const Task& running, const std::vector<ObjectId>& ids);
  void on_actor_route(ObjectId actor, const StoredPtr& o);
  void forget_route(ObjectId actor);
  void actor_created(ObjectId actor, int node);
  void release_actor_at(int node, ObjectId actor);
  void start_actor(const TaskPtr& creation);
  std::shared_ptr<ActorHost> hosted(ObjectId actor);
  ActorHost::Hooks actor_hooks();
  void deliver_call(TaskPtr t);
  void run_actor_call(ActorHost& h, const TaskPtr& t, void* self);
  std::string actor_died_message(const Task& creation, const std::string& why) const;
  void on_actor_phase(ActorHost& h, ActorHost::Phase p, const std::string& message);
  void handle_actor_kill(const ActorKillMsg& m);
  void handle_actor_release(ObjectId actor);
  void handle_caller_done(const ActorCallerDoneMsg& m);
  void stop_actors();
  GcsReplyMsg answer_gcs(const GcsQueryMsg& q);

  // objects.cpp: fetching objects to this node
  using FetchCallback = std::function<void(const StoredPtr&)>;
  void fetch(ObjectId id, FetchCallback cb);
  void complete_fetch(ObjectId id, const StoredPtr& o);
  void locate(ObjectId id);
  void on_location(const LocationMsg& m, const Buffer& bytes);
  void store_copy(ObjectId id, const Buffer& bytes);
  /// Fails the fetches whose pull went to `rank` (it died): ObjectLostError.
  void fail_pulls_from(int rank);
  void handle_pull(int src, const Buffer& msg);
  void handle_data(int src, const Buffer& msg);
  std::vector<StoredPtr> block_on(const std::vector<ObjectId>& ids, std::size_t need,
                                  std::chrono::nanoseconds timeout, bool& timed_out);

  // ownership.cpp: objects this rank owns
  struct Owned {
    enum class State : std::uint8_t { pending, ready, failed } state = State::pending;
    std::vector<int> locations;
    std::uint64_t size = 0;
    ErrorKind error = ErrorKind::none;
    std::string message;
    std::vector<int> remote_waiters;
    std::vector<std::function<void()>> local_waiters;
    std::vector<RefPtr> contained;  // refs inside the object; while pending: what it keeps alive
    std::int32_t actor_node = -1;   // actor ids: where the actor lives
    bool orphaned = false;          // no reference left while pending: discard when it resolves
  };
  void own_pending(ObjectId id, RefPtr keepalive = {});
  void own_discard(ObjectId id);
  void own_ready(ObjectId id, int location, std::uint64_t size, std::vector<RefPtr> contained);
  void own_failed(ObjectId id, ErrorKind err, std::string message);
  Owned* resolve_owned_locked(ObjectId id, Owned& taken);
  void own_when_resolved(ObjectId id, std::function<void()> fn);
  void own_add_location(ObjectId id, int rank);
  void own_free(ObjectId id);
  void answer_locate(ObjectId id, int requester);
  void notify_resolved(ObjectId id, std::vector<int> remote, std::vector<std::function<void()>> local);
  std::vector<std::pair<std::int32_t, std::uint64_t>> locality_of(const std::vector<ObjectId>& deps);

  Config cfg_;
  Roles roles_;
  int rank_;
  std::vector<NodeDesc> nodes_;
  std::unique_ptr<Transport> transport_;
  std::unique_ptr<UcxPlane> data_;
  RefTable refs_;
  ObjectStore store_;
  std::shared_ptr<const Pinning> pinning_;
  std::unique_ptr<LocalScheduler> scheduler_;
  std::unique_ptr<GlobalScheduler> gs_;
  std::unique_ptr<Gcs> gcs_;
  Clock::time_point epoch_;

  std::atomic<std::uint64_t> id_counter_{0};
  std::atomic<bool> stopping_{false};

  AdaptiveMutex owned_mu_;
  std::unordered_map<ObjectId, Owned> owned_;

  AdaptiveMutex fetch_mu_;
  std::unordered_map<ObjectId, std::vector<FetchCallback>> fetching_;
  std::unordered_map<ObjectId, int> fetch_attempts_;
  std::unordered_map<ObjectId, int> pulling_from_;  // the rank a fetch's pull went to

  std::mutex waiters_mu_;
  std::set<std::shared_ptr<Waiter>> waiters_;

  AdaptiveMutex events_mu_;
  GcsEventsMsg events_;
  Clock::time_point last_flush_, last_heartbeat_, last_gs_load_;

  std::mutex query_mu_;
  std::uint64_t next_query_ = 1;
  std::map<std::uint64_t, std::promise<GcsReplyMsg>> queries_;

  AdaptiveMutex routes_mu_;
  std::unordered_map<ObjectId, ActorRoute> routes_;
  std::atomic<std::uint64_t> caller_counter_{0};
  std::mutex actors_mu_;
  std::unordered_map<ObjectId, std::shared_ptr<ActorHost>> actors_;  // hosted here (dead ones until released)
  std::unordered_set<ObjectId> actor_exited_;  // dead hosts kept as tombstones; guarded by actors_mu_
  std::mutex pins_mu_;
  std::unordered_map<ObjectId, RefPtr> named_pins_;  // GCS: one handle per named actor

  std::mutex life_mu_;
  std::condition_variable life_cv_;
  bool shutdown_requested_ = false;
  int exit_code_ = 0;
  int acks_ = 0;
  std::vector<int> failed_ranks_;  // under life_mu_: ranks seen to die (frozen once shutdown begins)
};

}  // namespace raympi::detail
