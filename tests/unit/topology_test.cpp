// The topology layer on a synthetic machine loaded by real hwloc from
// tests/data/two_socket_4gpu.xml (2 packages, 16 cores, 32 PUs, 4 NVIDIA
// A100s, an ASPEED BMC display chip and an NVSwitch function): CPU and GPU
// discovery, narrowing by the allocation's environment, the binding plan of
// worker threads, and GPU id assignment.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <string>
#include <vector>

#include <raympi/errors.hpp>

#include "scheduler/gpu_pool.hpp"
#include "topology/host_share.hpp"
#include "topology/pinning.hpp"
#include "topology/topology.hpp"

namespace {

using raympi::detail::env_from;
using raympi::detail::GpuDevice;
using raympi::detail::GpuPool;
using raympi::detail::Machine;
using raympi::detail::Pinning;

const Machine& synthetic() {
  static const Machine m = raympi::detail::load_machine(RAYMPI_TEST_DATA_DIR "/two_socket_4gpu.xml");
  return m;
}

const std::vector<std::string> kBusIds{"0000:17:00.0", "0000:31:00.0", "0000:b1:00.0", "0000:ca:00.0"};

std::vector<std::string> bus_ids(const std::vector<GpuDevice>& gpus) {
  std::vector<std::string> out;
  for (auto& g : gpus) out.push_back(g.pci_bus_id);
  return out;
}

std::vector<std::string> visible(std::map<std::string, std::string> env, std::vector<std::string>* notes = nullptr) {
  return bus_ids(raympi::detail::visible_gpus(synthetic().gpus, env_from(std::move(env)), notes));
}

TEST(Topology, CountsThePusAndCoresOfTheSyntheticMachine) {
  const Machine& m = synthetic();
  EXPECT_FALSE(m.this_system);  // an XML file without HWLOC_THISSYSTEM=1: no binding applies
  EXPECT_EQ(m.cpuset, "0-31");
  EXPECT_EQ(m.pus.size(), 32u);
  EXPECT_EQ(m.cores, 16);
}

TEST(Topology, OrdersPusCoresFirstThenHyperthreads) {
  // Core c holds PUs 2c and 2c+1: the first PU of every core comes first.
  const Machine& m = synthetic();
  ASSERT_EQ(m.pus.size(), 32u);
  for (unsigned i = 0; i < 16; ++i) EXPECT_EQ(m.pus[i], 2 * i) << "position " << i;
  for (unsigned i = 0; i < 16; ++i) EXPECT_EQ(m.pus[16 + i], 2 * i + 1) << "position " << 16 + i;
}

TEST(Topology, FindsOneGpuPerPciDeviceAndSkipsBmcDisplayAndNvswitch) {
  const Machine& m = synthetic();
  EXPECT_EQ(bus_ids(m.gpus), kBusIds);  // cuda<i>, nvml<i>, card, renderD: still one GPU each
  for (std::size_t i = 0; i < m.gpus.size(); ++i) {
    EXPECT_EQ(m.gpus[i].name, "NVIDIA A100-SXM4-40GB");
    EXPECT_EQ(m.gpus[i].vendor, "NVIDIA");
    EXPECT_EQ(m.gpus[i].physical, int(i));
    EXPECT_EQ(m.gpus[i].uuid, "GPU-5e1c0d2a-0000-4000-8000-00000000000" + std::to_string(i));
  }
}

TEST(Topology, AMissingXmlFileIsAnErrorNotTheRealMachine) {
  ::setenv("HWLOC_XMLFILE", "/nonexistent/machine.xml", 1);
  try {
    raympi::detail::load_machine();
    ADD_FAILURE() << "loaded a machine from a file that does not exist";
  } catch (const raympi::Error& e) {
    EXPECT_NE(std::string(e.what()).find("HWLOC_XMLFILE='/nonexistent/machine.xml' does not exist"), std::string::npos)
        << e.what();
  }
  ::unsetenv("HWLOC_XMLFILE");
}

TEST(VisibleGpus, AllWithoutAnyVariable) { EXPECT_EQ(visible({}), kBusIds); }

TEST(VisibleGpus, CudaVisibleDevicesSelectsAndOrders) {
  EXPECT_EQ(visible({{"CUDA_VISIBLE_DEVICES", "1,3"}}), (std::vector<std::string>{kBusIds[1], kBusIds[3]}));
  EXPECT_EQ(visible({{"CUDA_VISIBLE_DEVICES", "3, 0"}}), (std::vector<std::string>{kBusIds[3], kBusIds[0]}));
}

TEST(VisibleGpus, EmptyCudaVisibleDevicesHidesEveryGpu) {
  EXPECT_TRUE(visible({{"CUDA_VISIBLE_DEVICES", ""}}).empty());
}

TEST(VisibleGpus, UnknownEntriesAreDroppedWithANote) {
  std::vector<std::string> notes;
  EXPECT_EQ(visible({{"CUDA_VISIBLE_DEVICES", "2,7"}}, &notes), (std::vector<std::string>{kBusIds[2]}));
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("CUDA_VISIBLE_DEVICES: entry '7'"), std::string::npos) << notes[0];
}

TEST(VisibleGpus, UuidPrefixesNameDevices) {
  EXPECT_EQ(visible({{"CUDA_VISIBLE_DEVICES", "GPU-5e1c0d2a-0000-4000-8000-000000000002"}}),
            (std::vector<std::string>{kBusIds[2]}));
  EXPECT_TRUE(visible({{"CUDA_VISIBLE_DEVICES", "GPU-5e1c"}}).empty());  // ambiguous: names nothing
}

TEST(VisibleGpus, SlurmStepGpusAreTheMachineNumbers) {
  EXPECT_EQ(visible({{"SLURM_STEP_GPUS", "0,2"}}), (std::vector<std::string>{kBusIds[0], kBusIds[2]}));
  // The step's list wins over the job's.
  EXPECT_EQ(visible({{"SLURM_STEP_GPUS", "3"}, {"SLURM_JOB_GPUS", "0,1,2,3"}}), (std::vector<std::string>{kBusIds[3]}));
  EXPECT_EQ(visible({{"SLURM_JOB_GPUS", "1"}}), (std::vector<std::string>{kBusIds[1]}));
}

TEST(VisibleGpus, SlurmWithAndWithoutDeviceCgroups) {
  const std::vector<std::string> step{kBusIds[1], kBusIds[3]};
  // Without device cgroups Slurm writes its own numbers into CUDA_VISIBLE_DEVICES ...
  EXPECT_EQ(visible({{"SLURM_STEP_GPUS", "1,3"}, {"CUDA_VISIBLE_DEVICES", "1,3"}}), step);
  // ... with them the step's devices are renumbered from 0.
  EXPECT_EQ(visible({{"SLURM_STEP_GPUS", "1,3"}, {"CUDA_VISIBLE_DEVICES", "0,1"}}), step);
  EXPECT_EQ(visible({{"SLURM_STEP_GPUS", "1,3"}, {"GPU_DEVICE_ORDINAL", "0,1"}}), step);
  // The application narrows further inside the step.
  EXPECT_EQ(visible({{"SLURM_STEP_GPUS", "1,3"}, {"CUDA_VISIBLE_DEVICES", "0"}}), (std::vector<std::string>{kBusIds[1]}));
}

TEST(VisibleGpus, RocmVariablesLeaveNvidiaGpusAlone) {
  EXPECT_EQ(visible({{"ROCR_VISIBLE_DEVICES", "0"}, {"HIP_VISIBLE_DEVICES", "0"}}), kBusIds);
}

TEST(Pinning, WorkersFillCoresFirstAndTheRuntimeGetsTheRest) {
  Pinning p(synthetic(), 8, true);
  ASSERT_TRUE(p.enabled());
  for (int slot = 0; slot < 8; ++slot) EXPECT_EQ(p.worker_mask(slot), std::to_string(2 * slot));
  EXPECT_EQ(p.worker_mask(-1), "0,2,4,6,8,10,12,14");  // an actor's thread: any worker PU
  EXPECT_EQ(p.runtime_mask(), "1,3,5,7,9,11,13,15-31");
  EXPECT_FALSE(p.wraps());
}

TEST(Pinning, OneWorkerPerPuLeavesNoRuntimePu) {
  Pinning p(synthetic(), 32, true);
  EXPECT_EQ(p.worker_mask(15), "30");
  EXPECT_EQ(p.worker_mask(16), "1");
  EXPECT_EQ(p.worker_mask(-1), "0-31");
  EXPECT_TRUE(p.runtime_mask().empty());
}

TEST(Pinning, MoreSlotsThanPusWrapRound) {
  Pinning p(synthetic(), 40, true);
  EXPECT_TRUE(p.wraps());
  EXPECT_EQ(p.worker_mask(32), p.worker_mask(0));
  EXPECT_EQ(p.worker_mask(33), "2");
  EXPECT_TRUE(p.runtime_mask().empty());
}

TEST(Pinning, OffMeansNoMasks) {
  Pinning p(synthetic(), 8, false);
  EXPECT_FALSE(p.enabled());
  EXPECT_EQ(p.worker_mask(0), "");
  EXPECT_EQ(p.runtime_mask(), "");
}

// Node ranks sharing the synthetic host (core c holds PUs 2c and 2c+1; cores
// 0-7 on package 0, 8-15 on package 1).
std::vector<std::string> shares(const std::vector<std::string>& cpusets) {
  std::vector<int> ranks;
  for (std::size_t i = 0; i < cpusets.size(); ++i) ranks.push_back(int(2 + i));
  std::vector<std::string> out;
  for (auto& s : raympi::detail::share_host(synthetic(), ranks, cpusets))
    out.push_back(raympi::detail::narrowed_machine(synthetic(), s.pus).cpuset);
  return out;
}

TEST(HostShare, TwoUnboundRanksTakeOnePackageEach) {
  EXPECT_EQ(shares({"0-31", "0-31"}), (std::vector<std::string>{"0-15", "16-31"}));
}

TEST(HostShare, ThreeUnboundRanksTakeContiguousWholeCores) {
  EXPECT_EQ(shares({"0-31", "0-31", "0-31"}), (std::vector<std::string>{"0-9", "10-19", "20-31"}));
}

TEST(HostShare, AShareIsOrderedCoresFirstForItsWorkers) {
  auto s = raympi::detail::share_host(synthetic(), {2, 3}, {"0-31", "0-31"});
  auto m = raympi::detail::narrowed_machine(synthetic(), s[1].pus);
  EXPECT_EQ(m.cores, 8);
  ASSERT_EQ(m.pus.size(), 16u);
  EXPECT_EQ(m.pus[0], 16u);
  EXPECT_EQ(m.pus[1], 18u);
  EXPECT_EQ(m.pus[8], 17u);  // then the hyperthreads
  Pinning p(m, 4, true);
  EXPECT_EQ(p.worker_mask(0), "16");
  EXPECT_EQ(p.runtime_mask(), "17,19,21,23-31");
  EXPECT_TRUE(s[0].shared_with.empty());
}

TEST(HostShare, MoreRanksThanCoresSplitHyperthreads) {
  auto got = shares(std::vector<std::string>(20, "0-31"));
  std::set<std::string> distinct(got.begin(), got.end());
  EXPECT_EQ(distinct.size(), 20u);  // no PU given twice
  EXPECT_EQ(got[0], "0");           // a core's two PUs stay with one rank or go to neighbours
  EXPECT_EQ(got[1], "1-2");
}

TEST(HostShare, MoreRanksThanPusShareAndTheWarningNamesThem) {
  std::vector<int> ranks;
  for (int r = 2; r < 36; ++r) ranks.push_back(r);
  auto s = raympi::detail::share_host(synthetic(), ranks, std::vector<std::string>(34, "0-31"));
  EXPECT_EQ(s[0].pus, std::vector<unsigned>{0});
  EXPECT_EQ(s[32].pus, std::vector<unsigned>{0});  // the 33rd rank wraps round
  EXPECT_EQ(s[0].shared_with, std::vector<int>{34});
  std::string w = raympi::detail::sharing_warning(ranks, s, "hostA");
  EXPECT_NE(w.find("ranks 2 and 34 on PU 0"), std::string::npos) << w;
  EXPECT_NE(w.find("ranks 3 and 35 on PU 1"), std::string::npos) << w;
  EXPECT_NE(w.find("hostA"), std::string::npos) << w;
}

TEST(HostShare, BoundRanksKeepTheirOwnCpusets) {
  EXPECT_EQ(shares({"0-7", "8-15", "16-31"}), (std::vector<std::string>{"0-7", "8-15", "16-31"}));
  auto s = raympi::detail::share_host(synthetic(), {2, 3}, {"0-7", "8-15"});
  EXPECT_TRUE(raympi::detail::sharing_warning({2, 3}, s, "h").empty());
}

TEST(HostShare, OnlyOverlappingRanksSplit) {
  // Ranks 2 and 3 overlap; rank 4 is bound elsewhere and keeps its PUs.
  EXPECT_EQ(shares({"0-7", "0-7", "16-23"}), (std::vector<std::string>{"0-3", "4-7", "16-23"}));
}

TEST(Pinning, ReservedPusGoToTheRuntime) {
  auto m = raympi::detail::narrowed_machine(synthetic(), {0, 1, 2, 3});  // 2 cores, 4 PUs
  EXPECT_EQ(raympi::detail::worker_pu_count(m, 1), 3);
  Pinning p(m, 3, true, 1);
  EXPECT_EQ(p.worker_mask(-1), "0-2");
  EXPECT_EQ(p.runtime_mask(), "3");  // the last hyperthread
  Pinning all(m, 8, true, 1);  // more slots than the unreserved PUs: they wrap, the reserve stays
  EXPECT_TRUE(all.wraps());
  EXPECT_EQ(all.worker_mask(3), "0");
  EXPECT_EQ(all.runtime_mask(), "3");
  EXPECT_EQ(raympi::detail::worker_pu_count(m, 4), 4);  // too few PUs: nothing reserved
}

TEST(WorkerPriority, ParsesThePoliciesAndRejectsTheRest) {
  using raympi::detail::WorkerPriority;
  EXPECT_EQ(WorkerPriority::parse("normal").policy, WorkerPriority::Policy::normal);
  EXPECT_EQ(WorkerPriority::parse("idle").policy, WorkerPriority::Policy::idle);
  auto nice = WorkerPriority::parse("nice:7");
  EXPECT_EQ(nice.policy, WorkerPriority::Policy::nice);
  EXPECT_EQ(nice.nice, 7);
  for (const char* bad : {"", "fast", "nice:", "nice:0", "nice:20", "nice:5x"}) {
    try {
      WorkerPriority::parse(bad);
      ADD_FAILURE() << "'" << bad << "' was accepted";
    } catch (const raympi::Error& e) {
      EXPECT_NE(std::string(e.what()).find("RAYMPI_WORKER_PRIORITY"), std::string::npos) << e.what();
    }
  }
}

TEST(GpuPool, WholeGpusAreDistinctUntilGivenBack) {
  GpuPool pool(2);
  auto a = pool.take(1), b = pool.take(1);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_NE(a[0], b[0]);
  EXPECT_FALSE(pool.can_take(1));
  EXPECT_TRUE(pool.take(1).empty());
  pool.give(1, a);
  EXPECT_EQ(pool.take(1), a);
}

TEST(GpuPool, SeveralWholeGpusForOneTask) {
  GpuPool pool(4);
  auto ids = pool.take(3);
  EXPECT_EQ(ids, (std::vector<int>{0, 1, 2}));
  EXPECT_FALSE(pool.can_take(2));
  EXPECT_EQ(pool.take(1), (std::vector<int>{3}));
}

TEST(GpuPool, FractionsShareOneGpuAndNeverSpanTwo) {
  GpuPool pool(2);
  auto a = pool.take(0.5), b = pool.take(0.5);
  EXPECT_EQ(a, b);  // packed onto one GPU, the other stays whole
  EXPECT_TRUE(pool.can_take(1));
  GpuPool three(2);
  EXPECT_EQ(three.take(0.6).size(), 1u);
  EXPECT_EQ(three.take(0.6).size(), 1u);
  EXPECT_FALSE(three.can_take(0.6));  // 0.8 free in all, but no GPU has 0.6 left
}

}  // namespace
