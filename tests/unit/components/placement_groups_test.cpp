// The placement-group planner and bundle resources
// (libraympi/scheduler/placement_groups.hpp), and a local scheduler running
// work inside a committed bundle. One process, no raympi::init, no MPI.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "scheduler/local_scheduler.hpp"
#include "scheduler/placement_groups.hpp"

namespace {

using namespace raympi::detail;
using raympi::Strategy;

PgNode node(int rank, double cpus, double gpus = 0) {
  PgNode n;
  n.rank = rank;
  n.capacity.cpu = cpus;
  n.capacity.gpu = gpus;
  return n;
}

std::vector<ResourceDemand> bundles(int count, double cpus) {
  return std::vector<ResourceDemand>(count, bundle_demand({{"CPU", cpus}}, 0));
}

TEST(PlacementPlan, StrictPackPutsAllOnOneNodeOrNowhere) {
  auto plan = plan_bundles(bundles(2, 2), Strategy::strict_pack, {node(2, 2), node(3, 4)});
  EXPECT_EQ(plan, (std::vector<int>{3, 3}));
  EXPECT_TRUE(plan_bundles(bundles(2, 3), Strategy::strict_pack, {node(2, 4), node(3, 4)}).empty());
}

TEST(PlacementPlan, StrictSpreadUsesDistinctNodesOrNone) {
  auto plan = plan_bundles(bundles(3, 1), Strategy::strict_spread, {node(2, 4), node(3, 4), node(4, 4)});
  EXPECT_EQ(std::set<int>(plan.begin(), plan.end()).size(), 3u);
  EXPECT_TRUE(plan_bundles(bundles(3, 1), Strategy::strict_spread, {node(2, 4), node(3, 4)}).empty());
  // The big bundle needs the big node: a search, not first come first served.
  std::vector<ResourceDemand> mixed{bundle_demand({{"CPU", 1}}, 0), bundle_demand({{"CPU", 4}}, 1)};
  EXPECT_EQ(plan_bundles(mixed, Strategy::strict_spread, {node(2, 4), node(3, 1)}), (std::vector<int>{3, 2}));
}

TEST(PlacementPlan, PackFillsOneNodeFirstAndSpreadsWhenItMust) {
  EXPECT_EQ(plan_bundles(bundles(2, 2), Strategy::pack, {node(2, 4), node(3, 4)}), (std::vector<int>{2, 2}));
  auto plan = plan_bundles(bundles(3, 2), Strategy::pack, {node(2, 4), node(3, 4)});
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(std::set<int>(plan.begin(), plan.end()).size(), 2u);
  EXPECT_TRUE(plan_bundles(bundles(3, 3), Strategy::pack, {node(2, 4), node(3, 4)}).empty());
}

TEST(PlacementPlan, SpreadUsesEveryNodeThenShares) {
  auto plan = plan_bundles(bundles(3, 1), Strategy::spread, {node(2, 4), node(3, 4)});
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(std::set<int>(plan.begin(), plan.end()).size(), 2u);
  EXPECT_TRUE(plan_bundles(bundles(1, 8), Strategy::spread, {node(2, 4), node(3, 4)}).empty());
}

TEST(PlacementPlan, GpusAndCustomResourcesCount) {
  std::vector<ResourceDemand> b{bundle_demand({{"CPU", 1}, {"GPU", 1}}, 0)};
  EXPECT_EQ(plan_bundles(b, Strategy::pack, {node(2, 8), node(3, 2, 1)}), (std::vector<int>{3}));
  PgNode custom = node(4, 1);
  custom.capacity.custom["disk"] = 2;
  std::vector<ResourceDemand> d{bundle_demand({{"disk", 2}}, 0)};
  EXPECT_EQ(plan_bundles(d, Strategy::pack, {node(2, 8), custom}), (std::vector<int>{4}));
}

TEST(PlacementPlan, BadBundlesAreClearErrors) {
  EXPECT_THROW(bundle_demand({{"CPU", -1}}, 0), raympi::Error);
  EXPECT_THROW(bundle_demand({}, 0), raympi::Error);
  EXPECT_THROW(bundle_demand({{"CPU", 0}}, 0), raympi::Error);
  EXPECT_EQ(bundle_demand({{"GPU", 1}}, 0).cpu, 0) << "a bundle without CPU reserves none";
}

TEST(BundleResources, WorkInABundleDrawsOnItsOwnNames) {
  ResourceDemand d(2);
  d.set("Custom1", 1);
  ResourceDemand in = in_bundle(d, 7, 1);
  EXPECT_EQ(in.cpu, 0);
  EXPECT_TRUE(is_bundle_demand(in));
  EXPECT_TRUE(uses_group(in, 7));
  EXPECT_FALSE(uses_group(in, 8));
  EXPECT_EQ(group_of(in), 7u);
  EXPECT_EQ(group_of(in_bundle(d, (std::uint64_t(3) << 40) | 12, 0)), (std::uint64_t(3) << 40) | 12);
  EXPECT_EQ(group_of(d), 0u);
  EXPECT_EQ(gpus_of(in_bundle(bundle_demand({{"GPU", 2}}, 0), 7, 1)), 2) << "counted once, not per name";
  EXPECT_EQ(in_bundle(in, 7, 1), in) << "placing again changes nothing";
  ResourceSet committed;
  committed.give(committed_resources(7, {{1, bundle_demand({{"CPU", 2}, {"Custom1", 1}}, 1)}}));
  EXPECT_TRUE(committed.fits(in));
  EXPECT_TRUE(committed.fits(in_bundle(d, 7, -1)));
  EXPECT_FALSE(committed.fits(in_bundle(d, 7, 0))) << "bundle 0 is not on this node";
  EXPECT_TRUE(is_bundle_resource(bundle_resource(7, -1, "CPU")));
  EXPECT_FALSE(is_bundle_resource("CPU"));
}

TEST(BundleResources, ARemovedGroupGivesBackWhatItsWorkDoesNotUseThenTheRest) {
  ResourceSet avail;
  avail.cpu = 1;  // 4 CPUs, 3 reserved in group 5's two bundles
  const ResourceDemand b0 = bundle_demand({{"CPU", 2}}, 0), b1 = bundle_demand({{"CPU", 1}}, 1);
  avail.give(committed_resources(5, {{0, b0}, {1, b1}}));
  const ResourceDemand running = in_bundle(ResourceDemand(1), 5, 0);
  avail.take(running);  // one task runs in bundle 0
  ResourceDemand debt = give_back_group(avail, 5, sum_demands({b0, b1}));
  EXPECT_EQ(avail.cpu, 3) << "all but the running task's CPU";
  EXPECT_EQ(debt.cpu, 1);
  EXPECT_FALSE(collect_group(avail, 5, debt)) << "the task still runs";
  EXPECT_EQ(avail.cpu, 3);
  avail.give(running);  // it ends
  EXPECT_TRUE(collect_group(avail, 5, debt));
  EXPECT_EQ(avail.cpu, 4);
  EXPECT_TRUE(avail.custom.empty()) << "the group's names are gone";
}

TEST(BundleResources, ALocalSchedulerRunsBundleWorkOnlyWithinTheReservation) {
  ResourceSet total;
  total.cpu = 4;
  std::atomic<int> running{0}, peak{0}, done{0};
  LocalScheduler s(total, 0, [&](const TaskPtr&) {
    int now = ++running;
    for (int p = peak; now > p && !peak.compare_exchange_weak(p, now);) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    --running;
    ++done;
  });
  s.start();
  const ResourceDemand base = bundle_demand({{"CPU", 2}}, 0);
  ASSERT_TRUE(s.reserve(base));
  EXPECT_FALSE(s.reserve(bundle_demand({{"CPU", 3}}, 0))) << "only 2 CPUs left";
  EXPECT_EQ(s.load().available.at("CPU"), 2);
  for (int i = 0; i < 6; ++i) {
    auto t = std::make_shared<Task>();
    t->demand = in_bundle(ResourceDemand(1), 9, 0);
    s.enqueue(t);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(done.load(), 0) << "bundle work waits for the commit";
  s.adjust(ResourceDemand(0), committed_resources(9, {{0, base}}));  // commit
  for (int i = 0; i < 500 && done < 6; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(done.load(), 6);
  EXPECT_LE(peak.load(), 2) << "two CPUs reserved: two tasks at a time";
  // Removal: work still queued for the bundle is taken out, the CPUs return.
  auto late = std::make_shared<Task>();
  late->demand = in_bundle(ResourceDemand(1), 9, 0);
  EXPECT_EQ(s.give_back_group(9, base), ResourceDemand(0)) << "nothing of the group runs";
  s.enqueue(late);
  auto taken = s.take_queued_if([](const Task& t) { return uses_group(t.demand, 9); });
  EXPECT_EQ(taken.size(), 1u);
  EXPECT_EQ(s.load().available.at("CPU"), 4);
  s.stop();
}

}  // namespace
