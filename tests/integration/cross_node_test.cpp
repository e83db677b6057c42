// Integration: work and objects across two node ranks. Meaningful at NP 4
// only (nodes on ranks 2 and 3, driver on 2); skipped on fewer ranks.
// Registered at NP 1, 3 and 4 like the others (RAYMPI_NUM_CPUS=4).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>
#include <numeric>
#include <vector>

#include <raympi/raympi.hpp>

#include "test_support.hpp"

namespace {

using raympi::ObjectRef;
using namespace raympi_test;
using Doubles = std::vector<double>;

Doubles make_doubles(int n, double value) { return Doubles(std::size_t(n), value); }
double sum_doubles(const Doubles& v) { return std::accumulate(v.begin(), v.end(), 0.0); }
// Puts an object in the store of the rank it runs on and returns the handle.
ObjectRef<Doubles> put_here(int n, double value) { return raympi::put(Doubles(std::size_t(n), value)); }
// Gets a handle itself and reports where it ran.
std::pair<int, double> sum_handle(ObjectRef<Doubles> ref) {
  auto p = raympi::get_shared(ref);
  return {raympi::current_rank(), std::accumulate(p->begin(), p->end(), 0.0)};
}
int inc_where(int x) { return x + 1; }
// Holds its CPUs for `ms`, then says where it ran.
int where_after(int ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return where_am_i();
}
// Submits a child pinned to another rank from inside a task.
int child_rank_from(int target) { return raympi::get(on_node(where_am_i, target).remote()); }

}  // namespace

RAYMPI_REMOTE(make_doubles, sum_doubles, put_here, sum_handle, inc_where, child_rank_from, where_after);

namespace {

class CrossNode : public ::testing::Test {
 protected:
  void SetUp() override {
    if (world_size() < 4) GTEST_SKIP() << "needs two node ranks (mpiexec -n 4)";
    ASSERT_EQ(driver_rank(), 2);
  }
};

TEST_F(CrossNode, PinnedTasksRunOnTheRequestedRank) {
  std::vector<ObjectRef<int>> refs;
  std::vector<int> want;
  for (int i = 0; i < 20; ++i) {
    want.push_back(2 + i % 2);
    refs.push_back(on_node(where_am_i, want.back()).remote());
  }
  EXPECT_EQ(raympi::get(refs), want);
}

TEST_F(CrossNode, ResultComputedOnRank3IsGettableOnTheDriver) {
  auto big = on_node(make_doubles, 3).remote(300'000, 2.0);  // 2.4 MB: stays in rank 3's store
  auto small = on_node(make_doubles, 3).remote(10, 1.0);     // travels with the completion
  EXPECT_EQ(raympi::get(big), Doubles(300'000, 2.0));
  EXPECT_EQ(raympi::get(small), Doubles(10, 1.0));
}

TEST_F(CrossNode, ResultOnRank3IsADependencyOnRank2) {
  auto big = on_node(make_doubles, 3).remote(300'000, 2.0);
  EXPECT_EQ(raympi::get(on_node(sum_doubles, 2).remote(big)), 600'000.0);
  EXPECT_EQ(raympi::get(on_node(sum_doubles, 3).remote(big)), 600'000.0);
}

TEST_F(CrossNode, ObjectPutOnRank3) {
  ObjectRef<Doubles> inner = raympi::get(on_node(put_here, 3).remote(200'000, 0.5));
  ASSERT_TRUE(inner.valid());
  EXPECT_EQ(inner.owner_rank(), 3) << "a put inside a task on rank 3 is owned by rank 3";
  // On the driver.
  EXPECT_EQ(raympi::get(inner), Doubles(200'000, 0.5));
  // As a dependency of a task on rank 2 and as a handle it gets itself.
  EXPECT_EQ(raympi::get(on_node(sum_doubles, 2).remote(inner)), 100'000.0);
  auto [rank, sum] = raympi::get(on_node(sum_handle, 2).remote(inner));
  EXPECT_EQ(rank, 2);
  EXPECT_EQ(sum, 100'000.0);
  auto [rank3, sum3] = raympi::get(on_node(sum_handle, 3).remote(inner));
  EXPECT_EQ(rank3, 3);
  EXPECT_EQ(sum3, 100'000.0);
}

TEST_F(CrossNode, DriverObjectConsumedOnRank3) {
  auto ref = raympi::put(Doubles(250'000, 4.0));
  EXPECT_EQ(raympi::get(on_node(sum_doubles, 3).remote(ref)), 1'000'000.0);
  auto [rank, sum] = raympi::get(on_node(sum_handle, 3).remote(ref));
  EXPECT_EQ(rank, 3);
  EXPECT_EQ(sum, 1'000'000.0);
}

TEST_F(CrossNode, ChainAlternatingBetweenNodes) {
  ObjectRef<int> r = raympi::put(0);
  for (int i = 0; i < 30; ++i) r = on_node(inc_where, 2 + i % 2).remote(r);
  EXPECT_EQ(raympi::get(r), 30);
}

TEST_F(CrossNode, NestedTaskPinnedToTheOtherNode) {
  EXPECT_EQ(raympi::get(on_node(child_rank_from, 2).remote(3)), 3);
  EXPECT_EQ(raympi::get(on_node(child_rank_from, 3).remote(2)), 2);
}

TEST_F(CrossNode, GetSharedOfARank3ObjectIsSharedOnTheDriversNode) {
  auto big = on_node(make_doubles, 3).remote(300'000, 1.0);
  auto p1 = raympi::get_shared(big);
  auto p2 = raympi::get_shared(big);
  EXPECT_EQ(p1.get(), p2.get());
  EXPECT_EQ(p1->size(), 300'000u);
}

TEST_F(CrossNode, UnpinnedWorkUsesBothNodes) {
  // Eight tasks that each hold a full node's CPUs (4) for 200 ms: while one
  // runs on a node, the next cannot start there, so they must spread.
  std::vector<ObjectRef<int>> refs;
  for (int i = 0; i < 8; ++i) refs.push_back(raympi::task(where_after).num_cpus(4).remote(200));
  auto ranks = raympi::get(refs);
  // Every node rank of the job (2 with 4 ranks; more across test hosts)
  // runs some of them, and nothing runs elsewhere.
  std::map<int, int> ran;
  for (int r : ranks) {
    EXPECT_TRUE(r >= 2 && r < world_size()) << r;
    ran[r]++;
  }
  const int node_ranks = std::min(world_size() - 2, 8);
  for (int node = 2; node < 2 + node_ranks; ++node)
    EXPECT_GT(ran[node], 0) << "node " << node << " ran none of the 8 tasks";
}

}  // namespace
