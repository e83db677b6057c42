// Unit: ResourceDemand (what task(...).num_cpus/num_gpus/resource build) and
// the option checks of TaskCaller.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include <raympi/raympi.hpp>

namespace {

using raympi::detail::ResourceDemand;
using Custom = std::vector<std::pair<std::string, double>>;

TEST(ResourceDemand, DefaultIsOneCpuNothingElse) {
  ResourceDemand d;
  EXPECT_EQ(d.cpu, 1);
  EXPECT_EQ(d.gpu, 0);
  EXPECT_TRUE(d.custom.empty());
}

TEST(ResourceDemand, CpuAndGpuNamesSetTheSlots) {
  ResourceDemand d;
  d.set("CPU", 2.5);
  d.set("GPU", 1);
  EXPECT_EQ(d.cpu, 2.5);
  EXPECT_EQ(d.gpu, 1);
  EXPECT_TRUE(d.custom.empty()) << "CPU/GPU must not become custom resources";
  d.set("CPU", 0);
  EXPECT_EQ(d.cpu, 0);
}

TEST(ResourceDemand, CustomResourcesAreSortedWithoutDuplicates) {
  ResourceDemand d;
  d.set("zeta", 1);
  d.set("Custom1", 4);
  d.set("alpha", 0.5);
  d.set("node:3", 0.01);
  EXPECT_EQ(d.custom, (Custom{{"Custom1", 4}, {"alpha", 0.5}, {"node:3", 0.01}, {"zeta", 1}}));
  d.set("alpha", 2);  // replaces, does not add
  EXPECT_EQ(d.custom, (Custom{{"Custom1", 4}, {"alpha", 2}, {"node:3", 0.01}, {"zeta", 1}}));
  EXPECT_EQ(d.cpu, 1);
}

TEST(ResourceDemand, RoundTripsThroughSerialization) {
  ResourceDemand d;
  d.set("CPU", 3);
  d.set("GPU", 0.5);
  d.set("disk", 7);
  std::vector<raympi::detail::RefPtr> refs;
  auto b = raympi::detail::serialize_value(d, &refs);
  auto back = raympi::detail::deserialize<ResourceDemand>(b.data, b.size);
  EXPECT_EQ(back.cpu, 3);
  EXPECT_EQ(back.gpu, 0.5);
  EXPECT_EQ(back.custom, (Custom{{"disk", 7}}));
}

TEST(TaskOptions, NegativeAmountsAreRejected) {
  auto f = [](int x) { return x; };
  EXPECT_THROW(raympi::task(f).num_cpus(-1), raympi::Error);
  EXPECT_THROW(raympi::task(f).num_gpus(-0.5), raympi::Error);
  EXPECT_THROW(raympi::task(f).resource("Custom1", -2), raympi::Error);
}

TEST(TaskOptions, OptionsChainAndStillRun) {
  auto f = [](int x) { return x + 1; };
  auto r = raympi::task(f).num_cpus(0.5).resource("CPU", 1).max_retries(2).name("chained").remote(1);
  EXPECT_EQ(raympi::get(r), 2);
}

}  // namespace
