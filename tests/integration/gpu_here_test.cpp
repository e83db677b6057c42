// GPUs on the machine the tests run on, as hwloc finds it (no XML). Run twice:
// with nothing declared (RAYMPI_NUM_GPUS unset) and with RAYMPI_NUM_GPUS=2.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <vector>

#include "test_support.hpp"

namespace {
std::vector<int> my_gpus() { return raympi::gpu_ids(); }
}  // namespace

RAYMPI_REMOTE(my_gpus);

TEST(GpuHere, DefaultIsWhatHwlocFinds) {
  if (std::getenv("RAYMPI_NUM_GPUS")) GTEST_SKIP() << "GPUs declared in this run";
  for (const raympi::NodeInfo& n : raympi::nodes()) {
    // Undeclared, the GPU count is the detected devices (none on a machine without GPUs).
    EXPECT_EQ(n.resources.at("GPU"), double(n.gpus.size())) << "rank " << n.rank;
  }
}

TEST(GpuHere, AGpuTaskIsInfeasibleWithoutGpus) {
  if (std::getenv("RAYMPI_NUM_GPUS") || raympi::cluster_resources()["GPU"] > 0) GTEST_SKIP() << "this job has GPUs";
  auto r = raympi::task(my_gpus).num_gpus(1).remote();
  EXPECT_THROW(raympi::get(r), raympi::InfeasibleError);
}

TEST(GpuHere, DeclaredGpusHandOutIds) {
  const char* declared = std::getenv("RAYMPI_NUM_GPUS");
  if (!declared || std::atof(declared) < 1) GTEST_SKIP() << "no GPUs declared in this run";
  for (const raympi::NodeInfo& n : raympi::nodes()) EXPECT_EQ(n.resources.at("GPU"), std::atof(declared));
  std::vector<raympi::ObjectRef<std::vector<int>>> refs;
  for (int i = 0; i < 4; ++i) refs.push_back(raympi::task(my_gpus).num_gpus(1).remote());
  for (auto& ids : raympi::get(refs)) {
    ASSERT_EQ(ids.size(), 1u);
    EXPECT_GE(ids[0], 0);
    EXPECT_LT(ids[0], int(std::atof(declared)));
  }
  EXPECT_TRUE(raympi::get(raympi::task(my_gpus).remote()).empty());  // no GPU asked for, none given
}

TEST(GpuHere, AWholeNumberOrAFractionOfGpus) {
  EXPECT_THROW(raympi::task(my_gpus).num_gpus(1.5), raympi::Error);
  EXPECT_NO_THROW(raympi::task(my_gpus).num_gpus(0.25));
}
