// Integration: resources — what the cluster reports, infeasible demands, and
// resource limits on concurrency. Runs at NP 1, 3 and 4 with
// RAYMPI_NUM_CPUS=4 RAYMPI_NUM_GPUS=0 RAYMPI_RESOURCES=Custom1=2 (per node).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <raympi/raympi.hpp>

#include "test_support.hpp"

namespace {

using raympi::ObjectRef;
using namespace raympi_test;
using Clock = std::chrono::steady_clock;

constexpr double kCpusPerNode = 4;
constexpr double kCustom1PerNode = 2;

int identity(int x) { return x; }
// The rank the task ran on, after holding its resources for `ms`.
int rank_after(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return raympi::current_rank();
}

// Concurrency probe of this process, per key: how many tasks of the key run
// at once at most. Pinned to the driver's rank, the driver reads it directly.
std::mutex g_mu;
std::map<int, int> g_running, g_peak;
int occupy(int key, int ms) {
  {
    std::lock_guard lk(g_mu);
    int now = ++g_running[key];
    g_peak[key] = std::max(g_peak[key], now);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  std::lock_guard lk(g_mu);
  --g_running[key];
  return 0;
}
int peak(int key) {
  std::lock_guard lk(g_mu);
  return g_peak[key];
}

}  // namespace

RAYMPI_REMOTE(identity, rank_after, occupy);

namespace {

// Submits and gets; the timeout turns a hang into a GetTimeoutError (a failure).
template <class Caller>
void submit_and_get(Caller caller) {
  (void)raympi::get(caller.remote(1), std::chrono::seconds(60));
}

TEST(Resources, ClusterResourcesSumTheNodes) {
  auto ranks = node_ranks();
  auto res = raympi::cluster_resources();
  EXPECT_EQ(res["CPU"], kCpusPerNode * double(ranks.size()));
  EXPECT_EQ(res["Custom1"], kCustom1PerNode * double(ranks.size()));
  EXPECT_EQ(res.count("GPU") ? res["GPU"] : 0.0, 0);
  for (int r : ranks) EXPECT_EQ(res[node_tag(r)], 1) << node_tag(r);
  EXPECT_EQ(res.count(node_tag(world_size())), 0u);
}

TEST(Resources, NodesReportRanksResourcesAndTheDriver) {
  auto ranks = node_ranks();
  auto ns = raympi::nodes();
  ASSERT_EQ(ns.size(), ranks.size());
  std::vector<int> seen;
  int drivers = 0;
  for (auto& n : ns) {
    seen.push_back(n.rank);
    EXPECT_TRUE(n.alive) << "rank " << n.rank;
    EXPECT_EQ(n.resources.at("CPU"), kCpusPerNode) << "rank " << n.rank;
    EXPECT_EQ(n.resources.at("Custom1"), kCustom1PerNode) << "rank " << n.rank;
    EXPECT_EQ(n.resources.at(node_tag(n.rank)), 1) << "rank " << n.rank;
    EXPECT_FALSE(n.host.empty());
    if (n.is_driver) {
      ++drivers;
      EXPECT_EQ(n.rank, driver_rank());
    }
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, ranks);
  EXPECT_EQ(drivers, 1);
  EXPECT_EQ(driver_rank(), ranks.front()) << "the driver runs on the first node rank";
}

TEST(Resources, AvailableNeverExceedsTotal) {
  auto total = raympi::cluster_resources();
  for (auto& [name, amount] : raympi::available_resources()) EXPECT_LE(amount, total[name] + 1e-9) << name;
}

TEST(Resources, TooManyCpusIsInfeasibleNotAHang) {
  EXPECT_THROW(submit_and_get(raympi::task(identity).num_cpus(1000)), raympi::InfeasibleError);
}

TEST(Resources, UnknownCustomResourceIsInfeasible) {
  EXPECT_THROW(submit_and_get(raympi::task(identity).resource("NoSuchResource", 1)), raympi::InfeasibleError);
}

TEST(Resources, GpusOnAGpulessJobAreInfeasible) {
  EXPECT_THROW(submit_and_get(raympi::task(identity).num_gpus(1)), raympi::InfeasibleError);
}

TEST(Resources, MoreThanAnyOneNodeHasIsInfeasible) {
  // On 4 ranks the cluster has Custom1=4 in total, but no node has 3.
  EXPECT_THROW(submit_and_get(raympi::task(identity).resource("Custom1", kCustom1PerNode + 1)),
               raympi::InfeasibleError);
  EXPECT_THROW(submit_and_get(raympi::task(identity).num_cpus(kCpusPerNode + 0.5)), raympi::InfeasibleError);
  EXPECT_THROW(submit_and_get(on_node(identity, driver_rank()).resource(node_tag(driver_rank()), 1.5)),
               raympi::InfeasibleError);
}

TEST(Resources, PinToAMissingNodeIsInfeasible) {
  EXPECT_THROW(submit_and_get(on_node(identity, world_size() + 7)), raympi::InfeasibleError);
}

TEST(Resources, InfeasibleTaskFailsItsDependentsNotTheJob) {
  auto bad = raympi::task(identity).num_cpus(1000).remote(1);
  auto dependent = raympi::task(identity).remote(bad);
  EXPECT_THROW((void)raympi::get(dependent, std::chrono::seconds(60)), raympi::Error);
  EXPECT_EQ(raympi::get(raympi::task(identity).remote(5)), 5) << "the job goes on after an infeasible task";
}

TEST(Resources, ExactlyWhatANodeHasIsFeasible) {
  EXPECT_NO_THROW(submit_and_get(raympi::task(identity).num_cpus(kCpusPerNode).resource("Custom1", kCustom1PerNode)));
  EXPECT_NO_THROW(submit_and_get(raympi::task(identity).num_cpus(0)));
  EXPECT_NO_THROW(submit_and_get(raympi::task(identity).num_cpus(0.25)));
}

// Custom1=2 on the driver's node: 4 tasks of 1 Custom1 each, pinned there,
// run two at a time. Only lower bounds on time (a loaded machine is slower).
TEST(Resources, CustomResourceLimitsConcurrency) {
  int key = fresh_key();
  auto t0 = Clock::now();
  std::vector<ObjectRef<int>> refs;
  for (int i = 0; i < 4; ++i)
    refs.push_back(on_node(occupy, driver_rank()).resource("Custom1", 1).remote(key, 200));
  (void)raympi::get(refs);
  double elapsed = seconds_since(t0);
  EXPECT_GE(elapsed, 0.39) << "4 tasks x 0.2 s with Custom1=2 need two rounds";
  EXPECT_LE(peak(key), 2) << "more tasks than Custom1 allows ran at once";
  EXPECT_GE(peak(key), 1);
}

TEST(Resources, CpuDemandLimitsConcurrency) {
  int key = fresh_key();
  std::vector<ObjectRef<int>> refs;
  for (int i = 0; i < 6; ++i) refs.push_back(on_node(occupy, driver_rank()).num_cpus(2).remote(key, 100));
  (void)raympi::get(refs);
  EXPECT_LE(peak(key), 2) << "num_cpus(2) on a 4-CPU node: at most 2 at once";

  int key1 = fresh_key();
  refs.clear();
  for (int i = 0; i < 12; ++i) refs.push_back(on_node(occupy, driver_rank()).remote(key1, 50));
  (void)raympi::get(refs);
  EXPECT_LE(peak(key1), int(kCpusPerNode)) << "default demand is 1 CPU";
}

TEST(Resources, AllNodesShareTheWork) {
  // Eight tasks that each hold a node's whole Custom1 (2) for 200 ms: while
  // one runs on a node, the next cannot start there, so with several nodes
  // they must spread, and every node runs some of them.
  auto ranks = node_ranks();
  std::vector<ObjectRef<int>> refs;
  for (int i = 0; i < 8; ++i)
    refs.push_back(raympi::task(rank_after).resource("Custom1", kCustom1PerNode).remote(200));
  auto where = raympi::get(refs);
  std::map<int, int> ran;
  for (int r : where) {
    EXPECT_TRUE(std::count(ranks.begin(), ranks.end(), r)) << "a task ran on rank " << r << ", not a node rank";
    ++ran[r];
  }
  for (int r : ranks) EXPECT_GT(ran[r], 0) << "node rank " << r << " ran none of the 8 tasks";
}

}  // namespace
