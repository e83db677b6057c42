// Integration: placement groups — each strategy on the job's nodes (1 node at
// NP 1 and 3, 2 at NP 4, 3 at NP 5), infeasible groups, groups that wait for
// resources, removal, and tasks and actors placed in bundles. Every node has
// RAYMPI_NUM_CPUS=4 RAYMPI_NUM_GPUS=2 RAYMPI_RESOURCES=Slot=2 (tests/CMakeLists.txt).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <raympi/raympi.hpp>

#include "test_support.hpp"

namespace {

using namespace raympi_test;
using raympi::Strategy;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr double kCpusPerNode = 4;

class Probe {
 public:
  int rank() const { return raympi::current_rank(); }
};
std::unique_ptr<Probe> make_probe() { return std::make_unique<Probe>(); }
int add_one(int x) { return x + 1; }
std::vector<int> my_gpus() { return raympi::gpu_ids(); }
// A task that places its own child in bundle `i` of a group it was handed.
int child_rank_in(raympi::PlacementGroup pg, int i) {
  return raympi::get(raympi::task(raympi_test::where_am_i).placement_group(pg, i).remote());
}
// Runs in a one-CPU bundle and waits for children in the same bundle: its
// CPU is lent to them while it waits, as outside groups.
int children_in_my_bundle(raympi::PlacementGroup pg, int i) {
  std::vector<raympi::ObjectRef<int>> kids;
  for (int k = 0; k < 3; ++k) kids.push_back(raympi::task(add_one).placement_group(pg, i).remote(k));
  int sum = 0;
  for (int v : raympi::get(kids)) sum += v;
  return sum;
}

}  // namespace

RAYMPI_REMOTE(make_probe, add_one, my_gpus, child_rank_in, children_in_my_bundle, &Probe::rank);

namespace {

int num_nodes() { return int(node_ranks().size()); }

raympi::PlacementGroupInfo info_of(const raympi::PlacementGroup& pg) {
  for (auto& g : raympi::placement_groups())
    if (g.id == pg.id()) return g;
  ADD_FAILURE() << "placement group " << pg.id() << " is not listed";
  return {};
}

std::vector<int> bundle_nodes(const raympi::PlacementGroup& pg) {
  std::vector<int> out;
  for (auto& b : info_of(pg).bundles) out.push_back(b.node_rank);
  return out;
}

std::vector<raympi::Bundle> cpus(int bundles, double each) {
  return std::vector<raympi::Bundle>(bundles, raympi::Bundle{{"CPU", each}});
}

bool is_node(int rank) {
  auto n = node_ranks();
  return std::find(n.begin(), n.end(), rank) != n.end();
}

// Free CPUs over the cluster as nodes() reports them (load reports lag).
double free_cpus() { return raympi::available_resources()["CPU"]; }
bool free_cpus_become(double want) {
  return eventually([&] { return free_cpus() == want; }, 20);
}

// Removes the group at the end of the test, also when an ASSERT fails.
struct Removal {
  raympi::PlacementGroup pg;
  ~Removal() {
    try {
      raympi::remove_placement_group(pg);
    } catch (...) {
    }
  }
};

TEST(PlacementGroup, StrictPackPutsEveryBundleOnOneNode) {
  auto pg = raympi::placement_group(cpus(2, 1), Strategy::strict_pack, "strict-pack");
  Removal r{pg};
  ASSERT_TRUE(pg.wait(seconds(30)));
  auto nodes = bundle_nodes(pg);
  ASSERT_EQ(nodes.size(), 2u);
  EXPECT_EQ(nodes[0], nodes[1]);
  EXPECT_TRUE(is_node(nodes[0]));
  auto g = info_of(pg);
  EXPECT_EQ(g.name, "strict-pack");
  EXPECT_EQ(g.strategy, Strategy::strict_pack);
  EXPECT_EQ(g.state, raympi::PlacementGroupState::created);
  EXPECT_EQ(g.bundles[1].resources.at("CPU"), 1);
}

TEST(PlacementGroup, StrictSpreadPutsBundlesOnDistinctNodes) {
  const int n = num_nodes();
  auto pg = raympi::placement_group(cpus(n, 1), Strategy::strict_spread);
  Removal r{pg};
  ASSERT_TRUE(pg.wait(seconds(30)));
  auto nodes = bundle_nodes(pg);
  std::set<int> distinct(nodes.begin(), nodes.end());
  EXPECT_EQ(int(distinct.size()), n) << "every bundle on a node of its own";
  for (int node : nodes) EXPECT_TRUE(is_node(node));
}

TEST(PlacementGroup, StrictSpreadWithMoreBundlesThanNodesIsInfeasible) {
  auto pg = raympi::placement_group(cpus(num_nodes() + 1, 1), Strategy::strict_spread, "too-wide");
  Removal r{pg};
  try {
    pg.wait(seconds(30));
    FAIL() << "expected InfeasibleError";
  } catch (const raympi::InfeasibleError& e) {
    EXPECT_NE(std::string(e.what()).find("too-wide"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("strict_spread"), std::string::npos) << e.what();
  }
  EXPECT_EQ(info_of(pg).state, raympi::PlacementGroupState::infeasible);
}

TEST(PlacementGroup, ABundleBiggerThanAnyNodeIsInfeasible) {
  auto big = raympi::placement_group({{{"CPU", kCpusPerNode + 1}}}, Strategy::pack);
  Removal r1{big};
  EXPECT_THROW(big.wait(seconds(30)), raympi::InfeasibleError);
  // Each bundle fits a node, but not both on one.
  auto together = raympi::placement_group(cpus(2, 3), Strategy::strict_pack);
  Removal r2{together};
  EXPECT_THROW(together.wait(seconds(30)), raympi::InfeasibleError);
  auto custom = raympi::placement_group({{{"Slot", 3}}}, Strategy::pack);
  Removal r3{custom};
  EXPECT_THROW(custom.wait(seconds(30)), raympi::InfeasibleError);
}

TEST(PlacementGroup, PackUsesOneNodeWhenItFitsAndMoreWhenNot) {
  auto one = raympi::placement_group(cpus(2, 2), Strategy::pack);
  Removal r1{one};
  ASSERT_TRUE(one.wait(seconds(30)));
  auto nodes = bundle_nodes(one);
  EXPECT_EQ(nodes[0], nodes[1]);
  raympi::remove_placement_group(one);
  auto two = raympi::placement_group(cpus(2, 3), Strategy::pack);
  Removal r2{two};
  if (num_nodes() == 1) {
    EXPECT_THROW(two.wait(seconds(30)), raympi::InfeasibleError);
    return;
  }
  ASSERT_TRUE(two.wait(seconds(30)));
  nodes = bundle_nodes(two);
  EXPECT_NE(nodes[0], nodes[1]);
}

TEST(PlacementGroup, SpreadUsesAsManyNodesAsItCan) {
  const int n = num_nodes();
  auto pg = raympi::placement_group(cpus(n + 1, 1), Strategy::spread);
  Removal r{pg};
  ASSERT_TRUE(pg.wait(seconds(30)));
  auto nodes = bundle_nodes(pg);
  std::set<int> distinct(nodes.begin(), nodes.end());
  EXPECT_EQ(int(distinct.size()), n) << "n+1 bundles over n nodes use every node";
}

TEST(PlacementGroup, TasksAndActorsInABundleRunOnItsNode) {
  const int n = num_nodes();
  auto pg = raympi::placement_group(cpus(n, 2), Strategy::strict_spread);
  Removal r{pg};
  ASSERT_TRUE(pg.wait(seconds(30)));
  auto nodes = bundle_nodes(pg);
  for (int i = 0; i < n; ++i) {
    std::vector<raympi::ObjectRef<int>> where;
    for (int k = 0; k < 4; ++k) where.push_back(raympi::task(where_am_i).placement_group(pg, i).remote());
    for (int rank : raympi::get(where)) EXPECT_EQ(rank, nodes[i]) << "bundle " << i;
    auto a = raympi::actor(make_probe).placement_group(pg, i).remote();
    EXPECT_EQ(raympi::get(a.task(&Probe::rank).remote()), nodes[i]) << "actor in bundle " << i;
    a.kill();
  }
  // A task handed the group places its child in it (wherever the parent runs).
  for (int i = 0; i < n; ++i) EXPECT_EQ(raympi::get(raympi::task(child_rank_in).num_cpus(0).remote(pg, i)), nodes[i]);
  // Any bundle: one of the group's nodes.
  EXPECT_TRUE(std::count(nodes.begin(), nodes.end(), raympi::get(raympi::task(where_am_i).placement_group(pg).remote())));
  EXPECT_EQ(raympi::get(raympi::task(add_one).placement_group(pg, -1).remote(41)), 42);
}

TEST(PlacementGroup, ATaskWaitingOnChildrenInItsBundleLendsThemItsCpu) {
  auto pg = raympi::placement_group(cpus(1, 1), Strategy::strict_pack);
  Removal r{pg};
  ASSERT_TRUE(pg.wait(seconds(30)));
  EXPECT_EQ(raympi::get(raympi::task(children_in_my_bundle).placement_group(pg, 0).remote(pg, 0), seconds(60)), 6);
}

TEST(PlacementGroup, GpuWorkInABundleGetsGpuIdsAndOtherWorkCannotTakeReservedGpus) {
  if (raympi::cluster_resources()["GPU"] < 2 * num_nodes()) GTEST_SKIP() << "needs RAYMPI_NUM_GPUS=2";
  const int driver = driver_rank();
  auto pg = raympi::placement_group({{{"CPU", 1}, {"GPU", 1}, {node_tag(driver), 0.1}}}, Strategy::pack);
  Removal r{pg};
  ASSERT_TRUE(pg.wait(seconds(30)));
  auto ids = raympi::get(on_node(my_gpus, driver).num_gpus(1).placement_group(pg, 0).remote());
  ASSERT_EQ(ids.size(), 1u);
  EXPECT_GE(ids[0], 0);
  EXPECT_LT(ids[0], 2);
  // One of the node's two GPUs is reserved: a task wanting both waits for the removal.
  auto both = on_node(my_gpus, driver).num_gpus(2).remote();
  EXPECT_TRUE(raympi::wait(std::vector<raympi::ObjectRef<std::vector<int>>>{both}, 1, milliseconds(300)).ready.empty());
  raympi::remove_placement_group(pg);
  EXPECT_EQ(raympi::get(both, seconds(30)).size(), 2u);
}

TEST(PlacementGroup, WorkSubmittedBeforeTheGroupIsPlacedRunsOnceItIs) {
  auto pg = raympi::placement_group(cpus(1, 1), Strategy::pack);
  Removal r{pg};
  auto early = raympi::task(where_am_i).placement_group(pg, 0).remote();  // may be parked until created
  ASSERT_TRUE(pg.wait(seconds(30)));
  EXPECT_EQ(raympi::get(early), bundle_nodes(pg)[0]);
}

TEST(PlacementGroup, BadBundleIndexAndTooLargeDemandsAreClearErrors) {
  auto pg = raympi::placement_group(cpus(2, 1), Strategy::pack, "small");
  Removal r{pg};
  try {
    raympi::task(add_one).placement_group(pg, 2);
    FAIL() << "expected raympi::Error";
  } catch (const raympi::Error& e) {
    EXPECT_NE(std::string(e.what()).find("bundle index 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(raympi::task(add_one).placement_group(pg, -2), raympi::Error);
  EXPECT_THROW(raympi::actor(make_probe).placement_group(pg, 7), raympi::Error);
  EXPECT_THROW(raympi::placement_group({}, Strategy::pack), raympi::Error);
  EXPECT_THROW(raympi::placement_group({{{"CPU", -1}}}, Strategy::pack), raympi::Error);
  ASSERT_TRUE(pg.wait(seconds(30)));
  // A demand above its bundle's reservation can never run there.
  auto big = raympi::task(add_one).num_cpus(2).placement_group(pg, 0).remote(1);
  try {
    raympi::get(big);
    FAIL() << "expected InfeasibleError";
  } catch (const raympi::InfeasibleError& e) {
    EXPECT_NE(std::string(e.what()).find("small"), std::string::npos) << e.what();
  }
}

TEST(PlacementGroup, ReservationShowsInAvailableResourcesAndRemovalFreesIt) {
  const double total = kCpusPerNode * num_nodes();
  ASSERT_TRUE(free_cpus_become(total)) << "free CPUs: " << free_cpus();
  auto pg = raympi::placement_group(cpus(1, 3), Strategy::pack);
  ASSERT_TRUE(pg.wait(seconds(30)));
  EXPECT_TRUE(free_cpus_become(total - 3)) << "free CPUs: " << free_cpus();
  for (auto& n : raympi::nodes())
    for (auto& [name, amount] : n.available) EXPECT_NE(name.rfind("@pg", 0), 0u) << name << " leaked into nodes()";
  raympi::remove_placement_group(pg);
  EXPECT_TRUE(free_cpus_become(total)) << "free CPUs: " << free_cpus();
  EXPECT_EQ(info_of(pg).state, raympi::PlacementGroupState::removed);
  EXPECT_THROW(pg.wait(seconds(1)), raympi::Error);
}

TEST(PlacementGroup, AGroupThatCannotBePlacedYetWaitsAndGetsFreedResources) {
  // Every CPU of every node reserved by one group...
  auto all = raympi::placement_group(cpus(num_nodes(), kCpusPerNode), Strategy::strict_spread);
  Removal r_all{all};
  ASSERT_TRUE(all.wait(seconds(30)));
  // ...so the next one waits, holding nothing.
  auto next = raympi::placement_group({{{"CPU", 2}}, {{"CPU", 1}}}, Strategy::pack);
  Removal r{next};
  EXPECT_FALSE(next.wait(milliseconds(300)));
  auto g = info_of(next);
  EXPECT_EQ(g.state, raympi::PlacementGroupState::pending);
  EXPECT_EQ(g.bundles[0].node_rank, -1);
  auto parked = raympi::task(add_one).placement_group(next, 1).remote(1);
  EXPECT_FALSE(raympi::wait(std::vector<raympi::ObjectRef<int>>{parked}, 1, milliseconds(200)).ready.size());
  // Work parked on a group that is removed before it was placed fails.
  auto doomed = raympi::placement_group(cpus(1, 1), Strategy::pack, "doomed");
  auto never = raympi::task(add_one).placement_group(doomed, 0).remote(1);
  raympi::remove_placement_group(doomed);
  try {
    raympi::get(never, seconds(30));
    FAIL() << "expected an Error";
  } catch (const raympi::Error& e) {
    EXPECT_NE(std::string(e.what()).find("doomed"), std::string::npos) << e.what();
  }
  raympi::remove_placement_group(all);
  ASSERT_TRUE(next.wait(seconds(30)));
  EXPECT_EQ(raympi::get(parked), 2);
}

TEST(PlacementGroup, AGroupWaitsForCpusThatTasksHoldAndIsPlacedWhenTheyEnd) {
  const int driver = driver_rank();
  GateGuard gates;
  const int key = gates.add();
  // All free first: the reports that follow show the holder (none left from earlier tests).
  ASSERT_TRUE(free_cpus_become(kCpusPerNode * num_nodes())) << "free CPUs: " << free_cpus();
  // A task holds every CPU of the driver's node...
  auto holder = on_node(gate_wait, driver).num_cpus(kCpusPerNode).remote(key);
  EXPECT_TRUE(free_cpus_become(kCpusPerNode * (num_nodes() - 1))) << "free CPUs: " << free_cpus();
  // ...so that node refuses a bundle only it can hold (its node tag) until the task ends.
  auto pg = raympi::placement_group({{{"CPU", 2}, {node_tag(driver), 0.1}}}, Strategy::pack);
  Removal r{pg};
  EXPECT_FALSE(pg.wait(milliseconds(400)));
  EXPECT_EQ(info_of(pg).bundles[0].node_rank, -1);
  gates.open_all();
  EXPECT_EQ(raympi::get(holder), key);
  ASSERT_TRUE(pg.wait(seconds(30)));
  EXPECT_EQ(bundle_nodes(pg)[0], driver);
}

TEST(PlacementGroup, RemovalFailsQueuedWorkAndLetsRunningWorkFinish) {
  const int driver = driver_rank();
  auto pg = raympi::placement_group({{{"CPU", 1}, {node_tag(driver), 0.1}}}, Strategy::pack, "short-lived");
  ASSERT_TRUE(pg.wait(seconds(30)));
  GateGuard gates;
  const int key = gates.add();
  auto running = on_node(gate_wait, driver).placement_group(pg, 0).remote(key);  // takes the bundle's CPU
  auto queued = on_node(add_one, driver).placement_group(pg, 0).remote(1);       // waits for it
  EXPECT_FALSE(raympi::wait(std::vector<raympi::ObjectRef<int>>{queued}, 1, milliseconds(300)).ready.size());
  raympi::remove_placement_group(pg);
  try {
    raympi::get(queued, seconds(30));
    FAIL() << "expected an Error for work of a removed group";
  } catch (const raympi::Error& e) {
    EXPECT_NE(std::string(e.what()).find("short-lived"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("removed"), std::string::npos) << e.what();
  }
  // Work placed after the removal fails at once.
  EXPECT_THROW(raympi::get(raympi::task(add_one).placement_group(pg, 0).remote(1)), raympi::Error);
  // The reservation is back but for the CPU the running task still uses.
  const double total = kCpusPerNode * num_nodes();
  EXPECT_TRUE(free_cpus_become(total - 1)) << "free CPUs: " << free_cpus();
  std::this_thread::sleep_for(milliseconds(300));
  EXPECT_EQ(free_cpus(), total - 1) << "the running task's CPU stays taken until it ends";
  gates.open_all();
  EXPECT_EQ(raympi::get(running), key);  // running work is not interrupted
  EXPECT_TRUE(free_cpus_become(kCpusPerNode * num_nodes())) << "free CPUs: " << free_cpus();
}

}  // namespace
