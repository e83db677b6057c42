// Integration: nested tasks — tasks that submit, get and wait. A task blocked
// in get/wait lends its CPU, so deep recursion fits on a small node. Runs at
// NP 1, 3 and 4 with RAYMPI_NUM_CPUS=3.
#include <gtest/gtest.h>

#include <chrono>
#include <numeric>
#include <string>
#include <vector>

#include <raympi/raympi.hpp>

#include "test_support.hpp"

namespace {

using raympi::ObjectRef;
using namespace raympi_test;

// Each level submits one child and waits for it: 12 levels on 3 CPUs only
// work if blocked parents give their CPU back.
int depth(int n) { return n == 0 ? 0 : 1 + raympi::get(raympi::task(depth).remote(n - 1)); }

// The same, every level pinned to one node.
int depth_on(int n, int rank) {
  if (n == 0) return raympi::current_rank() == rank ? 0 : -1000;
  int below = raympi::get(on_node(depth_on, rank).remote(n - 1, rank));
  return (raympi::current_rank() == rank ? 1 : -1000) + below;
}

// Fan-out: two children per level, both submitted before either is awaited.
long fib(int n) {
  if (n < 2) return n;
  auto a = raympi::task(fib).remote(n - 1);
  auto b = raympi::task(fib).remote(n - 2);
  return raympi::get(a) + raympi::get(b);
}

// Divide and conquer over a put object: children get the same big input.
double range_sum(ObjectRef<std::vector<double>> data, int lo, int hi) {
  if (hi - lo <= 1000) {
    auto v = raympi::get_shared(data);
    return std::accumulate(v->begin() + lo, v->begin() + hi, 0.0);
  }
  int mid = lo + (hi - lo) / 2;
  std::vector<ObjectRef<double>> parts{raympi::task(range_sum).remote(data, lo, mid),
                                       raympi::task(range_sum).remote(data, mid, hi)};
  auto sums = raympi::get(parts);
  return sums[0] + sums[1];
}

// A task that puts an object and hands it to its child as a dependency.
double put_and_consume(int n) {
  auto ref = raympi::put(std::vector<double>(std::size_t(n), 0.5));
  auto child = raympi::task([](const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); });
  return raympi::get(child.remote(ref));
}

// A task that waits for the first of its children.
int first_of_children(int n) {
  std::vector<ObjectRef<int>> kids;
  for (int i = 0; i < n; ++i) kids.push_back(raympi::task(depth).remote(i % 3));
  auto wr = raympi::wait(kids, std::size_t(n));
  int total = 0;
  for (int v : raympi::get(wr.ready)) total += v;
  return total;
}

int inc(int x) { return x + 1; }

// A chain built inside a task; returns the final ref (an ObjectRef as a result).
ObjectRef<int> build_chain(int n) {
  ObjectRef<int> r = raympi::task(inc).remote(0);
  for (int i = 1; i < n; ++i) r = raympi::task(inc).remote(r);
  return r;
}

}  // namespace

RAYMPI_REMOTE(depth, depth_on, fib, range_sum, put_and_consume, first_of_children, inc, build_chain);

namespace {

TEST(Nested, RecursionDepth12OnThreeCpus) { EXPECT_EQ(raympi::get(raympi::task(depth).remote(12)), 12); }

TEST(Nested, RecursionDepth12PinnedToOneThreeCpuNode) {
  for (int r : node_ranks()) EXPECT_EQ(raympi::get(on_node(depth_on, r).remote(12, r)), 12) << "rank " << r;
}

TEST(Nested, SeveralDeepRecursionsAtOnce) {
  std::vector<ObjectRef<int>> refs;
  for (int i = 0; i < 4; ++i) refs.push_back(raympi::task(depth).remote(8));
  EXPECT_EQ(raympi::get(refs), (std::vector<int>{8, 8, 8, 8}));
}

TEST(Nested, FibonacciFanOut) {
  EXPECT_EQ(raympi::get(raympi::task(fib).remote(10)), 55);
  EXPECT_EQ(raympi::get(raympi::task(fib).remote(1)), 1);
}

TEST(Nested, DivideAndConquerOverAPutObject) {
  std::vector<double> data(16000);
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = double(i % 100);
  double expected = std::accumulate(data.begin(), data.end(), 0.0);
  auto ref = raympi::put(data);
  EXPECT_EQ(raympi::get(raympi::task(range_sum).remote(ref, 0, int(data.size()))), expected);
}

TEST(Nested, PutInsideATask) {
  EXPECT_EQ(raympi::get(raympi::task(put_and_consume).remote(1000)), 500.0);
}

TEST(Nested, WaitInsideATask) {
  EXPECT_EQ(raympi::get(raympi::task(first_of_children).remote(6)), 0 + 1 + 2 + 0 + 1 + 2);
}

TEST(Nested, ObjectRefReturnedFromATask) {
  ObjectRef<ObjectRef<int>> outer = raympi::task(build_chain).remote(10);
  ObjectRef<int> inner = raympi::get(outer);
  ASSERT_TRUE(inner.valid());
  EXPECT_EQ(raympi::get(inner), 10);
  EXPECT_EQ(raympi::get(raympi::task(inc).remote(inner)), 11) << "the returned ref works as a dependency";
}

}  // namespace
