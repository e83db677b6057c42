#pragma once
// The global scheduler (rank 0): places tasks that a node could not run at
// once, by free resources, then argument bytes already on a node, then load.

#include <vector>

#include "scheduler/resources.hpp"
#include "serialization/messages.hpp"

namespace raympi::detail {

/// @brief Rank 0's view of every node's resources and load.
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
  explicit GlobalScheduler(std::vector<NodeView> nodes) : nodes_(std::move(nodes)) {}

  /// The rank to run a task on, or -1 when no node can ever satisfy it.
  int choose(const ResourceDemand& d, const std::vector<std::pair<std::int32_t, std::uint64_t>>& locality);
  void on_load(const NodeLoadMsg& m);
  /// The node died: it is never chosen again.
  void mark_dead(int rank);
  /// True when a dead node could have run `d` (so -1 from choose() means "died", not "infeasible").
  bool dead_node_fits(const ResourceDemand& d) const;

 private:
  std::vector<NodeView> nodes_;  // only touched on the progress thread
};

}  // namespace raympi::detail
