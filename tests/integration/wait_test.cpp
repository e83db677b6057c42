// Integration: raympi::wait — num_returns, input order, timeouts.
// "Not ready" objects come from gate tasks pinned to the driver's rank, which
// finish only when the test opens their gate: no timing assumptions.
// Runs at NP 1, 3 and 4 with RAYMPI_NUM_CPUS=4.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include <raympi/raympi.hpp>

#include "test_support.hpp"

namespace {

using raympi::ObjectRef;
using namespace raympi_test;
using Clock = std::chrono::steady_clock;
using Refs = std::vector<ObjectRef<int>>;

int sleep_then(int ms, int value) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return value;
}
int identity(int x) { return x; }

}  // namespace

RAYMPI_REMOTE(sleep_then, identity);

namespace {

// `part` appears in `all` in the same relative order.
bool is_subsequence(const Refs& part, const Refs& all) {
  std::size_t j = 0;
  for (const auto& r : all)
    if (j < part.size() && part[j] == r) ++j;
  return j == part.size();
}

// ready and remaining are disjoint, cover the input, and each keeps its order.
void expect_partition(const raympi::WaitResult<int>& wr, const Refs& input) {
  EXPECT_EQ(wr.ready.size() + wr.remaining.size(), input.size());
  EXPECT_TRUE(is_subsequence(wr.ready, input)) << "ready is not in the input's order";
  EXPECT_TRUE(is_subsequence(wr.remaining, input)) << "remaining is not in the input's order";
  std::multiset<std::uint64_t> in, out;
  for (auto& r : input) in.insert(r.id());
  for (auto& r : wr.ready) out.insert(r.id());
  for (auto& r : wr.remaining) out.insert(r.id());
  EXPECT_EQ(in, out);
}

TEST(Wait, ReadyHoldsAtMostNumReturnsInInputOrder) {
  GateGuard gates;
  int here = driver_rank();
  ObjectRef<int> g0 = on_node(gate_wait, here).remote(gates.add());
  ObjectRef<int> g1 = on_node(gate_wait, here).remote(gates.add());
  Refs refs{g0, raympi::put(1), raympi::put(2), g1, raympi::task(identity).remote(3), raympi::put(4)};
  auto wr = raympi::wait(refs, 2);
  EXPECT_EQ(wr.ready.size(), 2u);
  expect_partition(wr, refs);
  for (auto& r : wr.ready) {
    EXPECT_NE(r, g0);
    EXPECT_NE(r, g1);
  }
  // All four ready ones: still none of the gates.
  auto all4 = raympi::wait(refs, 4);
  ASSERT_EQ(all4.ready.size(), 4u);
  expect_partition(all4, refs);
  EXPECT_EQ(all4.remaining, (Refs{g0, g1}));
  EXPECT_EQ(raympi::get(all4.ready), (std::vector<int>{1, 2, 3, 4}));
}

TEST(Wait, TimeoutReturnsEarlyWithFewerReady) {
  GateGuard gates;
  int here = driver_rank();
  ObjectRef<int> g0 = on_node(gate_wait, here).remote(gates.add());
  ObjectRef<int> g1 = on_node(gate_wait, here).remote(gates.add());
  Refs refs{raympi::put(10), g0, raympi::put(20), g1};
  auto t0 = Clock::now();
  auto wr = raympi::wait(refs, 4, std::chrono::milliseconds(300));
  EXPECT_GE(seconds_since(t0), 0.29) << "wait returned before its timeout with too few ready";
  EXPECT_EQ(wr.ready, (Refs{refs[0], refs[2]}));
  EXPECT_EQ(wr.remaining, (Refs{g0, g1}));
  expect_partition(wr, refs);

  gates.open_all();
  auto done = raympi::wait(refs, 4, std::chrono::seconds(60));
  EXPECT_EQ(done.ready, refs);
  EXPECT_TRUE(done.remaining.empty());
}

TEST(Wait, ZeroTimeoutPolls) {
  GateGuard gates;
  ObjectRef<int> g = on_node(gate_wait, driver_rank()).remote(gates.add());
  auto wr = raympi::wait(Refs{g}, 1, std::chrono::milliseconds(0));
  EXPECT_TRUE(wr.ready.empty());
  EXPECT_EQ(wr.remaining, Refs{g});
}

TEST(Wait, DefaultNumReturnsIsOne) {
  Refs refs{raympi::put(1), raympi::put(2), raympi::put(3)};
  auto wr = raympi::wait(refs);
  EXPECT_EQ(wr.ready.size(), 1u);
  expect_partition(wr, refs);
}

TEST(Wait, AllWhenNumReturnsIsTheSize) {
  Refs refs;
  for (int i = 0; i < 12; ++i) refs.push_back(raympi::task(sleep_then).remote((12 - i) * 10, i));
  auto wr = raympi::wait(refs, refs.size());
  EXPECT_EQ(wr.ready, refs);
  EXPECT_TRUE(wr.remaining.empty());
}

TEST(Wait, LoopCollectsEveryResultExactlyOnce) {
  Refs refs;
  for (int i = 0; i < 16; ++i) refs.push_back(raympi::task(sleep_then).remote((i * 37) % 100, i));
  Refs pending = refs;
  std::multiset<int> seen;
  while (!pending.empty()) {
    auto wr = raympi::wait(pending, 1);
    ASSERT_EQ(wr.ready.size(), 1u);
    ASSERT_EQ(wr.remaining.size(), pending.size() - 1);
    expect_partition(wr, pending);
    seen.insert(raympi::get(wr.ready.front()));
    pending = wr.remaining;
  }
  std::multiset<int> expected;
  for (int i = 0; i < 16; ++i) expected.insert(i);
  EXPECT_EQ(seen, expected);
}

TEST(Wait, NumReturnsAboveTheSizeIsAnError) {
  Refs refs{raympi::put(1)};
  EXPECT_THROW((void)raympi::wait(refs, 2), raympi::Error);
}

TEST(Wait, EmptyInputWithZeroReturns) {
  auto wr = raympi::wait(Refs{}, 0, std::chrono::seconds(5));
  EXPECT_TRUE(wr.ready.empty());
  EXPECT_TRUE(wr.remaining.empty());
}

TEST(Wait, ObjectsOnOtherNodesBecomeReady) {
  Refs refs;
  for (int r : node_ranks())
    for (int i = 0; i < 4; ++i) refs.push_back(on_node(sleep_then, r).remote(20 * i, r * 100 + i));
  auto wr = raympi::wait(refs, refs.size(), std::chrono::seconds(120));
  EXPECT_EQ(wr.ready, refs);
}

}  // namespace
