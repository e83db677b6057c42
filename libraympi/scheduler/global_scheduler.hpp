#pragma once
// The global scheduler (rank 0): places tasks that a node could not run at
// once, by free resources, then argument bytes already on a node, then load.

#include <vector>

#include "scheduler/resources.hpp"
#include "serialization/messages.hpp"

namespace raympi::detail {

/// @brief Rank 0's view of every node's resources and load. Up to 64 nodes a
/// decision weighs every node; beyond, the nodes holding the arguments and a
/// moving sample (global_scheduler.cpp).
class GlobalScheduler {
 public:
  struct NodeView {
    int rank = -1;
    ResourceSet total;
    ResourceSet available;
    std::uint32_t queued = 0;
    std::uint32_t running = 0;
    bool dead = false;
  };
  explicit GlobalScheduler(std::vector<NodeView> nodes);

  /// The rank to run a task on, or -1 when no node can ever satisfy it.
  int choose(const ResourceDemand& d, const std::vector<std::pair<std::int32_t, std::uint64_t>>& locality);
  void on_load(const NodeLoadMsg& m);
  /// The node died: it is never chosen again.
  void mark_dead(int rank);
  /// True when a dead node could have run `d` (so -1 from choose() means "died", not "infeasible").
  bool dead_node_fits(const ResourceDemand& d) const;

 private:
  NodeView* find(int rank);
  /// Lists the node in free_cpus_ while it has a free CPU (and lives).
  void track_free_cpus(const NodeView& n);

  std::vector<NodeView> nodes_;  // only touched on the progress thread
  // nodes_ index by rank (-1: not a node): a load report costs O(1), not a
  // scan, as every busy node sends one every few milliseconds.
  std::vector<int> index_by_rank_;
  std::size_t cursor_ = 0;  // large clusters: where the next decision's sample starts
  std::vector<int> free_cpus_;  // indices of the nodes with a free CPU, in no order
  std::vector<int> free_slot_;  // per node index: its place in free_cpus_, or -1
  std::size_t free_cursor_ = 0;
};

}  // namespace raympi::detail
