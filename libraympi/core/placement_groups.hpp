#pragma once
// Placement groups at run time, in three roles every rank may hold:
//  * the GS (rank 0) places each group atomically with a two-phase protocol:
//    it plans every bundle (scheduler/placement_groups), asks each chosen
//    node to reserve its bundles (prepare), and when every node said yes
//    commits them, else rolls the yeses back (abort) and tries again later;
//    a group that does not fit now waits holding nothing;
//  * a node reserves, commits, aborts and releases bundles in its local
//    scheduler, and fails the queued work of a released group;
//  * every node rank keeps the table of groups (the GS broadcasts each
//    change), answers wait() and placement_groups() from it, and routes work
//    placed in a group to its bundle's node, parking it until the group is
//    created.
// Messages: one MsgType (placement_group) carrying a PgMsg.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <vector>

#include "raympi/placement_group.hpp"
#include "scheduler/placement_groups.hpp"
#include "scheduler/task.hpp"
#include "serialization/messages.hpp"

namespace raympi::detail {

struct Context;
using Clock = std::chrono::steady_clock;

enum class PgOp : std::uint8_t {
  create,    // creator -> GS: a new group (id, name, strategy, bundles)
  remove,    // any node -> GS
  prepare,   // GS -> node: reserve bundles `indices` (phase 1), answered by `prepared`
  prepared,  // node -> GS: ok, or refused (resources in use)
  commit,    // GS -> node: the reserved bundles become usable (phase 2)
  abort,     // GS -> node: give a prepared reservation back (another node refused)
  release,   // GS -> node: the group was removed: give its bundles back, fail its queued work
  update     // GS -> every node: the group's state and bundle nodes
};
RAYMPI_WIRE_ENUM(PgOp, PgOp::update)  // the last PgOp: keep in step

/// @brief The placement_group message (PgOp says which).
struct PgMsg {
  PgOp op = PgOp::update;
  std::uint64_t id = 0, txn = 0;      // txn: the GS's attempt at placing the group
  std::string name;
  std::uint8_t strategy = 0, state = 0;  // raympi::Strategy / PlacementGroupState
  std::vector<Bundle> bundles;
  std::vector<std::int32_t> nodes;    // update: each bundle's node rank
  std::vector<std::int32_t> indices;  // prepare, commit, abort, release: the receiver's bundles
  bool ok = false;
  std::string message;                // update: why infeasible / removed
  template <class A>
  void serialize(A& ar) { ar(op, id, txn, name, strategy, state, bundles, nodes, indices, ok, message); }
};

/// @brief Placement groups of this rank (GS, node and table roles).
class PlacementGroups {
 public:
  explicit PlacementGroups(Context& cx) : cx_(cx) {}

  // The public API (driver and task threads).
  std::uint64_t create(const std::vector<Bundle>& bundles, Strategy strategy, const std::string& name);
  bool wait(std::uint64_t id, std::chrono::nanoseconds timeout);
  void remove(std::uint64_t id);
  std::vector<PlacementGroupInfo> list();

  /// TaskPipeline::place for work placed in a group: to its bundle's node,
  /// parked until the group is created, or failed (removed, infeasible, too big).
  void place(TaskPtr t);
  /// TaskPipeline::ready on the node: false (the task failed) when its group was released here.
  bool admit(const TaskPtr& t);

  /// The placement_group message (progress thread).
  void on_message(int src, const Buffer& msg);
  /// GS: tries refused groups again; node: collects what a released group's
  /// running work gave back. The next time it wants to be called.
  Clock::time_point tick(Clock::time_point now);

 private:
  // --- the table (every node rank), under mu_
  struct Entry {
    PlacementGroupInfo info;
    std::vector<ResourceDemand> demands;  // per bundle
    std::string message;                  // why infeasible / removed
    std::vector<TaskPtr> parked;          // work waiting for the group to be created
    unsigned next_any = 0;                // index -1: the next node to try first
    bool known = false;                   // bundles known (else only work parked on it)
  };
  void on_update(const PgMsg& m);
  /// The node for `t` in group `e` (its demand rewritten into the bundle), or -1 with `why`.
  int route_locked(Entry& e, Task& t, ErrorKind& err, std::string& why);
  void dispatch(TaskPtr t, int node);
  void fail(const TaskPtr& t, ErrorKind err, const std::string& why);

  // --- the GS (progress thread only)
  struct GsGroup {
    PgMsg created;                        // name, strategy, bundles as asked
    std::vector<ResourceDemand> demands;
    std::vector<int> nodes;               // the plan being tried, then the placement
    PlacementGroupState state = PlacementGroupState::pending;
    std::uint64_t txn = 0;                // the attempt in flight (0: none)
    std::set<int> awaiting;               // nodes yet to answer prepare
    std::vector<int> ok_nodes;            // nodes that reserved
    bool refused = false;
  };
  Clock::time_point gs_tick(Clock::time_point now);
  void gs_create(PgMsg m);
  void gs_remove(std::uint64_t id);
  void gs_prepared(int src, const PgMsg& m);
  /// Starts placing the first pending group that fits now (one attempt at a time).
  void gs_try_place();
  void gs_broadcast(std::uint64_t id, const GsGroup& g, const std::string& message);
  /// Sends `op` to each node of the plan with its bundle indices.
  void gs_send_nodes(std::uint64_t id, const GsGroup& g, PgOp op, const std::vector<int>* only = nullptr);
  /// capacity_ minus (take) or plus the plan's bundles.
  void gs_account(const GsGroup& g, bool take);
  std::vector<PgNode> gs_candidates(bool skip_refused, Clock::time_point now) const;

  // --- the node (progress thread, and admit)
  struct NodeGroup {
    std::vector<std::pair<int, ResourceDemand>> bundles;  // index, amounts
    ResourceDemand base{0};                               // their sum, taken from the node
    bool committed = false;
    std::uint64_t txn = 0;
  };
  void node_prepare(int src, const PgMsg& m);
  void node_end(const PgMsg& m);  // commit, abort, release

  Context& cx_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::uint64_t, Entry> table_;
  std::set<std::uint64_t> released_;  // node: groups released here (their late work fails)
  std::atomic<std::uint64_t> next_id_{0};

  std::map<std::uint64_t, GsGroup> groups_;
  std::deque<std::uint64_t> pending_;  // GS: groups not placed yet, oldest first
  std::map<int, ResourceSet> capacity_;  // GS: node totals minus reserved bundles
  std::map<int, Clock::time_point> refused_at_;
  std::set<std::uint64_t> removed_early_;  // GS: removes that arrived before their create
  std::uint64_t in_flight_ = 0, next_txn_ = 0;
  Clock::time_point retry_at_ = Clock::time_point::max();
  std::chrono::milliseconds backoff_{10};

  std::unordered_map<std::uint64_t, NodeGroup> node_groups_;
  std::unordered_map<std::uint64_t, ResourceDemand> draining_;  // released groups' work still running: amounts
};

}  // namespace raympi::detail
