// The global scheduler (libraympi/scheduler/global_scheduler.hpp) fed by
// hand-made node views and load reports: placement by free resources, then
// load; load reports by rank; dead nodes. No raympi::init, no MPI.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "scheduler/global_scheduler.hpp"

namespace {

using raympi::detail::GlobalScheduler;
using raympi::detail::NodeLoadMsg;
using raympi::detail::ResourceDemand;
using raympi::detail::ResourceSet;

GlobalScheduler::NodeView node(int rank, double cpus, double free_cpus) {
  GlobalScheduler::NodeView v;
  v.rank = rank;
  v.total = ResourceSet::from_map({{"CPU", cpus}});
  v.available = ResourceSet::from_map({{"CPU", free_cpus}});
  return v;
}

NodeLoadMsg load(int rank, double free_cpus, std::uint32_t queued, std::uint32_t running) {
  NodeLoadMsg m;
  m.rank = rank;
  m.available = {{"CPU", free_cpus}};
  m.queued = queued;
  m.running = running;
  return m;
}

TEST(GlobalScheduler, ChoosesANodeWithFreeResourcesAndTakesThemUntilTheNextReport) {
  GlobalScheduler gs({node(2, 4, 0), node(3, 4, 2)});
  EXPECT_EQ(gs.choose(ResourceDemand(1), {}), 3);
  EXPECT_EQ(gs.choose(ResourceDemand(1), {}), 3);
  // Rank 3's two free CPUs are taken (optimistically): both are full now, so
  // the less loaded one wins (rank 2: nothing queued, rank 3: two placed).
  EXPECT_EQ(gs.choose(ResourceDemand(1), {}), 2);
  gs.on_load(load(2, 0, 8, 4));
  gs.on_load(load(3, 4, 0, 0));
  EXPECT_EQ(gs.choose(ResourceDemand(1), {}), 3) << "the report freed rank 3";
}

TEST(GlobalScheduler, LoadReportsGoToTheirNodeOnlyAndStrangersAreIgnored) {
  GlobalScheduler gs({node(2, 4, 4), node(5, 4, 4), node(9, 4, 4)});
  gs.on_load(load(5, 0, 10, 4));
  gs.on_load(load(9, 0, 10, 4));
  gs.on_load(load(7, 4, 0, 0));   // a rank between nodes: not a node
  gs.on_load(load(100, 4, 0, 0)); // beyond every rank
  gs.on_load(load(-1, 4, 0, 0));
  for (int i = 0; i < 4; ++i) EXPECT_EQ(gs.choose(ResourceDemand(1), {}), 2);
}

TEST(GlobalScheduler, ADeadNodeIsNeverChosenAndInfeasibleDemandsGetMinusOne) {
  GlobalScheduler gs({node(2, 4, 4), node(3, 16, 16)});
  ResourceDemand big(8);
  EXPECT_EQ(gs.choose(big, {}), 3);
  EXPECT_FALSE(gs.dead_node_fits(big));
  gs.mark_dead(3);
  EXPECT_EQ(gs.choose(big, {}), -1) << "only the dead node could run it";
  EXPECT_TRUE(gs.dead_node_fits(big)) << "so -1 means died, not infeasible";
  EXPECT_EQ(gs.choose(ResourceDemand(1), {}), 2);
  gs.on_load(load(3, 16, 0, 0));
  EXPECT_EQ(gs.choose(big, {}), -1) << "a report does not bring a dead node back";
  EXPECT_EQ(gs.choose(ResourceDemand(64), {}), -1);
  EXPECT_FALSE(gs.dead_node_fits(ResourceDemand(64)));
}

TEST(GlobalScheduler, ArgumentBytesOnANodeWinOverLoad) {
  GlobalScheduler gs({node(2, 4, 4), node(3, 4, 4)});
  gs.on_load(load(3, 4, 3, 0));  // more loaded, but holds the arguments
  EXPECT_EQ(gs.choose(ResourceDemand(1), {{3, 64u << 20}}), 3);
  EXPECT_EQ(gs.choose(ResourceDemand(1), {{3, 100}}), 2) << "a few bytes do not beat load";
}

}  // namespace

namespace {

// Beyond 64 nodes a decision weighs a moving sample: placement must still
// find the few free nodes, the argument holders, spread load evenly, and
// find the one node able to run a large task.
TEST(GlobalScheduler, ALargeClusterIsSampledYetFindsFreeNodesHoldersAndTheOnlyFit) {
  std::vector<GlobalScheduler::NodeView> nodes;
  for (int r = 2; r < 2 + 1000; ++r) nodes.push_back(node(r, 4, 0));
  nodes.back().total = ResourceSet::from_map({{"CPU", 4}, {"bigmem", 1}});
  GlobalScheduler gs(std::move(nodes));
  ResourceDemand bigmem(1);
  bigmem.set("bigmem", 1);
  EXPECT_EQ(gs.choose(bigmem, {}), 1001) << "only the last node has bigmem";
  EXPECT_EQ(gs.choose(ResourceDemand(128), {}), -1);

  gs.on_load(load(700, 4, 0, 0));  // one node of 1000 has free CPUs
  int free_found = 0;
  for (int i = 0; i < 4; ++i) free_found += gs.choose(ResourceDemand(1), {}) == 700;
  EXPECT_EQ(free_found, 4) << "the free node's 4 CPUs go first, wherever the sample starts";

  EXPECT_EQ(gs.choose(ResourceDemand(1), {{333, 64u << 20}}), 333) << "the argument holder is always weighed";

  // Every node busy: 10,000 decisions spread over the nodes (at most a few
  // more on one node than on another), not piled on the sample's first ones.
  std::map<int, int> placed;
  for (int i = 0; i < 10000; ++i) placed[gs.choose(ResourceDemand(1), {})]++;
  int most = 0;
  for (auto& [rank, count] : placed) most = std::max(most, count);
  EXPECT_GE(placed.size(), 990u);
  EXPECT_LE(most, 20);
}

}  // namespace
