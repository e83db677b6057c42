// Unit: RAYMPI_* environment variables fill the Config that init uses.
// Registered with ENV RAYMPI_NUM_CPUS=4 RAYMPI_NUM_GPUS=0
// RAYMPI_RESOURCES=Custom1=4,disk=1.5 (see tests/CMakeLists.txt); embedded mode
// (one rank), so the single node is rank 0 and hosts the driver.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <string>

#include <raympi/raympi.hpp>

namespace {

TEST(ConfigEnv, ClusterResourcesShowTheEnvironment) {
  auto res = raympi::cluster_resources();
  EXPECT_EQ(res["CPU"], 4);
  EXPECT_EQ(res["Custom1"], 4);
  EXPECT_EQ(res["disk"], 1.5);
  EXPECT_EQ(res["node:0"], 1) << "the node's automatic node:<rank> resource";
  EXPECT_EQ(res.count("GPU") ? res["GPU"] : 0.0, 0);
}

TEST(ConfigEnv, OneNodeWhichIsTheDriver) {
  auto ns = raympi::nodes();
  ASSERT_EQ(ns.size(), 1u);
  EXPECT_EQ(ns[0].rank, 0);
  EXPECT_TRUE(ns[0].is_driver);
  EXPECT_TRUE(ns[0].alive);
  EXPECT_EQ(ns[0].resources.at("CPU"), 4);
  EXPECT_EQ(ns[0].resources.at("Custom1"), 4);
  EXPECT_EQ(raympi::current_rank(), 0);
  EXPECT_TRUE(raympi::is_initialized());
}

TEST(ConfigEnv, ParsedAmountsBoundWhatTasksMayDemand) {
  auto f = [](int x) { return x * 2; };
  EXPECT_EQ(raympi::get(raympi::task(f).resource("Custom1", 4).remote(1)), 2);
  EXPECT_EQ(raympi::get(raympi::task(f).resource("disk", 1.5).num_cpus(4).remote(2)), 4);
  auto over = [&](const char* name, double amount) {
    auto r = raympi::task(f).resource(name, amount).remote(3);
    (void)raympi::get(r, std::chrono::seconds(60));
  };
  EXPECT_THROW(over("Custom1", 4.5), raympi::InfeasibleError);
  EXPECT_THROW(over("disk", 1.6), raympi::InfeasibleError);
  EXPECT_THROW(over("CPU", 5), raympi::InfeasibleError);
}

TEST(ConfigEnv, AvailableNeverExceedsTotal) {
  auto total = raympi::cluster_resources();
  for (auto& [name, amount] : raympi::available_resources())
    EXPECT_LE(amount, total[name] + 1e-9) << name;
}

}  // namespace
