// Locality-aware placement: a task whose large argument lives on another node
// runs there when that node has a free CPU (bytes beat an idle local CPU);
// small arguments do not pull tasks away from the submitting node.
#include <gtest/gtest.h>

#include <vector>

#include "test_support.hpp"

namespace {

std::vector<double> make_block(int n) { return std::vector<double>(std::size_t(n), 1.5); }

int rank_summing(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  if (s != 1.5 * double(v.size())) throw std::runtime_error("wrong block contents");
  return raympi::current_rank();
}

std::size_t block_size(const std::vector<double>& v) { return v.size(); }

}  // namespace

RAYMPI_REMOTE(make_block, rank_summing, block_size);

using raympi_test::driver_rank;
using raympi_test::node_ranks;
using raympi_test::on_node;

TEST(Locality, LargeArgumentPullsTheConsumerToItsNode) {
  if (node_ranks().size() < 2) GTEST_SKIP() << "needs two node ranks (NP 4)";
  int other = raympi_test::other_rank();
  // 4 MiB made on the other node; the consumer is submitted (unpinned) on the driver's node.
  auto block = on_node(make_block, other).remote(1 << 19);
  raympi::wait(std::vector{block}, 1);
  int ran_on = raympi::get(raympi::task(rank_summing).remote(block));
  EXPECT_EQ(ran_on, other) << "the 4 MiB argument lives on rank " << other;
}

TEST(Locality, A100MBObjectMadeOnNodeBIsConsumedOnBWithoutMovingIt) {
  if (node_ranks().size() < 2) GTEST_SKIP() << "needs two node ranks (NP 4)";
  const int b = raympi_test::other_rank();
  const int n = 12'500'000;  // 100 MB of doubles
  auto block = on_node(make_block, b).remote(n);
  ASSERT_EQ(raympi::get(on_node(block_size, b).remote(block)), std::size_t(n));  // made; nothing moved
  const auto before = raympi_test::stats_on(driver_rank());
  // Submitted (unpinned) on the driver's node, whose CPUs are free too.
  EXPECT_EQ(raympi::get(raympi::task(rank_summing).remote(block)), b);
  const auto after = raympi_test::stats_on(driver_rank());
  EXPECT_LT(after.data_plane_received - before.data_plane_received, 1u << 20) << "the 100 MB came to the driver's node";
}

TEST(Locality, SmallArgumentStaysLocal) {
  if (node_ranks().size() < 2) GTEST_SKIP() << "needs two node ranks (NP 4)";
  auto block = on_node(make_block, raympi_test::other_rank()).remote(1000);  // 8 KB: below the locality threshold
  raympi::wait(std::vector{block}, 1);
  int ran_on = raympi::get(raympi::task(rank_summing).remote(block));
  EXPECT_EQ(ran_on, driver_rank());
}
