// Every node rank loads the synthetic machine of tests/data/two_socket_4gpu.xml
// (HWLOC_XMLFILE: 2 packages, 16 cores, 32 PUs, 4 NVIDIA GPUs) with real
// hwloc. Resources, worker binding and GPU ids end to end through the public
// API. The run's environment narrows the GPUs (CUDA_VISIBLE_DEVICES, Slurm);
// RAYMPI_TEST_EXPECT_GPUS lists the PCI bus ids the run must end up with.
// Node ranks sharing the host split the machine (whole cores, contiguous).
// A file's machine is not this system: hwloc's binding calls do nothing
// there, so these tests compare the masks the runtime intended (it records
// them per thread).
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "test_support.hpp"
#include "topology/pinning.hpp"

namespace {

std::vector<std::string> expected_bus_ids() {
  std::vector<std::string> out;
  const char* v = std::getenv("RAYMPI_TEST_EXPECT_GPUS");
  std::string s = v ? v : "";
  for (std::size_t pos = 0; pos < s.size();) {
    std::size_t comma = std::min(s.find(',', pos), s.size());
    out.push_back(s.substr(pos, comma - pos));
    pos = comma + 1;
  }
  return out;
}

// Every node rank sees the whole file's machine, so the node ranks split it:
// node k of m gets cores [16k/m, 16(k+1)/m) (core c holds PUs 2c and 2c+1).
struct Share {
  int first_core = 0, cores = 16;
  int pus() const { return 2 * cores; }
  std::string cpuset() const { return std::to_string(2 * first_core) + "-" + std::to_string(2 * (first_core + cores) - 1); }
  // The share's PUs in the order workers take them: the first PU of every
  // core (2c), then the second (2c+1).
  std::string pu_at(int position) const {
    return std::to_string(position < cores ? 2 * (first_core + position) : 2 * (first_core + position - cores) + 1);
  }
};

Share share_of(int rank) {
  const auto nodes = raympi_test::node_ranks();
  const int m = int(nodes.size());
  const int k = int(std::find(nodes.begin(), nodes.end(), rank) - nodes.begin());
  return {16 * k / m, 16 * (k + 1) / m - 16 * k / m};
}

// Tasks that meet: each blocks until `n` of them run at once (so they ran on
// n different workers, or held n GPU shares together), then reports.
std::atomic<int> g_arrived{0};
bool meet(int n) {
  ++g_arrived;
  return raympi_test::eventually([&] { return g_arrived.load() >= n; }, 60);
}

std::string binding_when_all_run(int n) {
  return meet(n) ? raympi::detail::this_thread_binding() : std::string("timeout");
}

std::vector<int> gpus_when_all_run(int n) {
  std::vector<int> ids = raympi::gpu_ids();
  if (!meet(n)) ids.push_back(-100);
  return ids;
}

struct GpuActor {
  std::vector<int> ids() { return raympi::gpu_ids(); }
  std::string binding() { return raympi::detail::this_thread_binding(); }
};
std::unique_ptr<GpuActor> make_gpu_actor() { return std::make_unique<GpuActor>(); }

raympi::NodeInfo driver_node() {
  for (auto& n : raympi::nodes())
    if (n.is_driver) return n;
  throw std::runtime_error("no driver node");
}

int gpu_count() { return int(driver_node().resources.at("GPU")); }

}  // namespace

RAYMPI_REMOTE(binding_when_all_run, gpus_when_all_run, make_gpu_actor, &GpuActor::ids, &GpuActor::binding);

TEST(GpuTopology, NodesReportTheSyntheticMachine) {
  const auto expect = expected_bus_ids();
  for (const raympi::NodeInfo& n : raympi::nodes()) {
    SCOPED_TRACE("rank " + std::to_string(n.rank));
    const Share share = share_of(n.rank);
    EXPECT_EQ(n.resources.at("CPU"), share.pus());  // the default: every PU of the rank's share
    EXPECT_EQ(n.resources.at("GPU"), double(expect.size()));
    EXPECT_EQ(n.cpuset, share.cpuset());
    EXPECT_EQ(n.num_pus, share.pus());
    EXPECT_EQ(n.num_cores, share.cores);
    EXPECT_TRUE(n.workers_pinned);
    ASSERT_EQ(n.gpus.size(), expect.size());
    for (std::size_t i = 0; i < expect.size(); ++i) {
      EXPECT_EQ(n.gpus[i].id, int(i));
      EXPECT_EQ(n.gpus[i].pci_bus_id, expect[i]);
      EXPECT_EQ(n.gpus[i].name, "NVIDIA A100-SXM4-40GB");
    }
  }
}

TEST(GpuTopology, WorkersAreBoundOnePerPu) {
  const Share share = share_of(raympi_test::driver_rank());
  const int n = share.pus();
  std::set<std::string> every_pu;
  for (int i = 0; i < n; ++i) every_pu.insert(share.pu_at(i));
  // Workers still starting when work arrives make the pool add extra workers,
  // which float over all worker PUs ("0-31"); a first round lets the base
  // workers settle (extra ones retire after 2 s idle).
  for (int round = 0; round < 2; ++round) {
    g_arrived = 0;
    std::vector<raympi::ObjectRef<std::string>> refs;
    for (int i = 0; i < n; ++i)
      refs.push_back(raympi_test::on_node(binding_when_all_run, raympi_test::driver_rank()).remote(n));
    std::multiset<std::string> masks;
    for (auto& m : raympi::get(refs)) masks.insert(m);
    for (auto& m : masks) {  // each ran on one PU of its own, or floated
      EXPECT_TRUE(m == share.cpuset() || (every_pu.count(m) == 1 && masks.count(m) == 1)) << "mask " << m;
    }
    if (round == 1) EXPECT_EQ(std::set<std::string>(masks.begin(), masks.end()), every_pu);
    if (round == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  }
}

TEST(GpuTopology, ConcurrentGpuTasksGetDistinctIds) {
  const int gpus = gpu_count();
  ASSERT_GT(gpus, 0);
  g_arrived = 0;
  std::vector<raympi::ObjectRef<std::vector<int>>> refs;
  for (int i = 0; i < gpus; ++i)
    refs.push_back(raympi_test::on_node(gpus_when_all_run, raympi_test::driver_rank()).num_gpus(1).remote(gpus));
  std::set<int> seen;
  for (auto& ids : raympi::get(refs)) {
    ASSERT_EQ(ids.size(), 1u);  // exactly one id each, and all of them ran together
    EXPECT_TRUE(seen.insert(ids[0]).second) << "GPU id " << ids[0] << " given to two running tasks";
    EXPECT_GE(ids[0], 0);
    EXPECT_LT(ids[0], gpus);
  }
}

TEST(GpuTopology, FractionalTasksShareAnId) {
  g_arrived = 0;
  auto caller = raympi_test::on_node(gpus_when_all_run, raympi_test::driver_rank());
  caller.num_gpus(0.5);
  auto a = caller.remote(2), b = caller.remote(2);
  auto ia = raympi::get(a), ib = raympi::get(b);
  ASSERT_EQ(ia.size(), 1u);
  EXPECT_EQ(ia, ib);  // two halves of one GPU, not two GPUs
}

TEST(GpuTopology, ATaskWithTwoGpusGetsTwoIds) {
  if (gpu_count() < 2) GTEST_SKIP() << "fewer than 2 GPUs visible in this run";
  g_arrived = 0;
  auto ids = raympi::get(raympi_test::on_node(gpus_when_all_run, raympi_test::driver_rank()).num_gpus(2).remote(1));
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_NE(ids[0], ids[1]);
}

TEST(GpuTopology, AnActorHoldsItsGpu) {
  const int gpus = gpu_count();
  auto actor = raympi::actor(make_gpu_actor).num_gpus(1).resource(raympi_test::node_tag(raympi_test::driver_rank()), 0.01).remote();
  auto held = raympi::get(actor.task(&GpuActor::ids).remote());
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(raympi::get(actor.task(&GpuActor::ids).remote()), held);  // the same GPU for the actor's life
  EXPECT_EQ(raympi::get(actor.task(&GpuActor::binding).remote()), share_of(raympi_test::driver_rank()).cpuset());  // any worker PU
  // The others run together on the remaining GPUs, never on the actor's.
  g_arrived = 0;
  std::vector<raympi::ObjectRef<std::vector<int>>> refs;
  for (int i = 0; i < gpus - 1; ++i)
    refs.push_back(raympi_test::on_node(gpus_when_all_run, raympi_test::driver_rank()).num_gpus(1).remote(gpus - 1));
  for (auto& ids : raympi::get(refs)) {
    ASSERT_EQ(ids.size(), 1u);
    EXPECT_NE(ids[0], held[0]);
  }
  actor.kill();
  // Its GPU returns: all of them can be held at once again.
  g_arrived = 0;
  refs.clear();
  for (int i = 0; i < gpus; ++i)
    refs.push_back(raympi_test::on_node(gpus_when_all_run, raympi_test::driver_rank()).num_gpus(1).remote(gpus));
  for (auto& ids : raympi::get(refs)) EXPECT_EQ(ids.size(), 1u);
}

TEST(GpuTopology, GpuIdsAreEmptyOutsideTasks) { EXPECT_TRUE(raympi::gpu_ids().empty()); }

TEST(GpuTopology, PrintsTheNodes) {
  for (const raympi::NodeInfo& n : raympi::nodes()) {
    std::printf("rank %d host %s%s cpuset %s (%d PUs, %d cores) CPU=%g GPU=%g pinned=%d\n", n.rank, n.host.c_str(),
                n.is_driver ? " (driver)" : "", n.cpuset.c_str(), n.num_pus, n.num_cores, n.resources.at("CPU"),
                n.resources.at("GPU"), int(n.workers_pinned));
    for (auto& g : n.gpus)
      std::printf("  GPU %d: %s PCI %s UUID %s\n", g.id, g.name.c_str(), g.pci_bus_id.c_str(), g.uuid.c_str());
  }
  SUCCEED();
}
