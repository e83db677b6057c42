// Integration: put / get / get_shared / get with timeout / get(vector).
// Runs at NP 1, 3 and 4 with RAYMPI_NUM_CPUS=4.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <raympi/raympi.hpp>

#include "test_support.hpp"

namespace {

using raympi::ObjectRef;
using namespace raympi_test;
using Clock = std::chrono::steady_clock;

int sleep_then(int ms, int value) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return value;
}
std::vector<double> big_vector(int n, double value) { return std::vector<double>(std::size_t(n), value); }
double sum_doubles(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}
int square(int x) { return x * x; }

}  // namespace

RAYMPI_REMOTE(sleep_then, big_vector, sum_doubles, square);

namespace {

TEST(Objects, PutGetRoundTrips) {
  std::vector<double> v(1'000'000);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = double(i) * 0.5;
  auto ref = raympi::put(v);
  EXPECT_TRUE(ref.valid());
  EXPECT_EQ(raympi::get(ref), v);
  EXPECT_EQ(raympi::get(ref), v) << "a second get sees the same value";

  std::map<std::string, std::vector<int>> m{{"a", {1, 2}}, {"b", {}}};
  EXPECT_EQ(raympi::get(raympi::put(m)), m);
  EXPECT_EQ(raympi::get(raympi::put(std::string("hello"))), "hello");
  EXPECT_EQ(raympi::get(raympi::put(42)), 42);
}

TEST(Objects, GetReturnsIndependentCopies) {
  auto ref = raympi::put(std::vector<int>{1, 2, 3});
  auto a = raympi::get(ref);
  a[0] = 100;
  EXPECT_EQ(raympi::get(ref), (std::vector<int>{1, 2, 3})) << "mutating a get() result changed the object";
}

TEST(Objects, PutFromRvalueAndLvalue) {
  std::vector<double> v(5000, 2.0);
  auto from_lvalue = raympi::put(v);
  auto from_rvalue = raympi::put(std::vector<double>(5000, 2.0));
  EXPECT_EQ(raympi::get(from_lvalue), raympi::get(from_rvalue));
  EXPECT_EQ(v.size(), 5000u) << "put(lvalue) must not move from the caller's value";
  EXPECT_NE(from_lvalue, from_rvalue);
}

TEST(Objects, PutObjectIsADependencyAnywhere) {
  auto ref = raympi::put(std::vector<double>(300'000, 1.0));  // 2.4 MB: not inlined
  for (int r : node_ranks()) EXPECT_EQ(raympi::get(on_node(sum_doubles, r).remote(ref)), 300000.0) << "rank " << r;
}

TEST(Objects, GetSharedTwiceIsTheSamePointerOnTheDriversNode) {
  std::vector<double> v(100'000, 3.0);
  auto ref = raympi::put(v);
  auto p1 = raympi::get_shared(ref);
  auto p2 = raympi::get_shared(ref);
  ASSERT_TRUE(p1);
  EXPECT_EQ(p1.get(), p2.get());
  EXPECT_EQ(*p1, v);

  auto moved = raympi::put(std::vector<double>(100'000, 4.0));
  auto q1 = raympi::get_shared(moved);
  auto q2 = raympi::get_shared(moved);
  EXPECT_EQ(q1.get(), q2.get());
  EXPECT_EQ((*q1)[99'999], 4.0);
}

TEST(Objects, GetSharedOfATaskResultFromAnotherNode) {
  auto ref = on_node(big_vector, other_rank()).remote(200'000, 7.0);  // 1.6 MB
  auto p1 = raympi::get_shared(ref);
  auto p2 = raympi::get_shared(ref);
  EXPECT_EQ(p1.get(), p2.get());
  ASSERT_EQ(p1->size(), 200'000u);
  EXPECT_EQ((*p1)[123], 7.0);
  auto small = on_node(square, other_rank()).remote(9);
  EXPECT_EQ(raympi::get_shared(small).get(), raympi::get_shared(small).get());
  EXPECT_EQ(*raympi::get_shared(small), 81);
}

TEST(Objects, GetWithTimeoutThrowsOnASlowTask) {
  auto ref = raympi::task(sleep_then).remote(2000, 9);
  auto t0 = Clock::now();
  EXPECT_THROW((void)raympi::get(ref, std::chrono::milliseconds(200)), raympi::GetTimeoutError);
  EXPECT_GE(seconds_since(t0), 0.19) << "the timeout ran out early";
  // A timed-out get leaves the object alone: a later get sees the value.
  EXPECT_EQ(raympi::get(ref), 9);
  EXPECT_EQ(raympi::get(ref, std::chrono::seconds(30)), 9);
}

TEST(Objects, GetTimeoutErrorIsARaympiError) {
  GateGuard gates;
  auto ref = on_node(gate_wait, driver_rank()).remote(gates.add());
  EXPECT_THROW((void)raympi::get(ref, std::chrono::milliseconds(50)), raympi::Error);
}

TEST(Objects, GetWithTimeoutOnAReadyObject) {
  auto ref = raympi::put(5);
  EXPECT_EQ(raympi::get(ref, std::chrono::seconds(30)), 5);
  auto t = raympi::task(square).remote(4);
  EXPECT_EQ(raympi::get(t, std::chrono::seconds(60)), 16);
}

TEST(Objects, GetVectorKeepsTheInputOrder) {
  std::vector<ObjectRef<int>> refs;
  for (int i = 0; i < 30; ++i) {
    if (i % 3 == 0) refs.push_back(raympi::put(i * i));
    else if (i % 3 == 1) refs.push_back(raympi::task(square).remote(i));
    else refs.push_back(raympi::task(sleep_then).remote((30 - i) * 5, i * i));  // later ones finish first
  }
  auto values = raympi::get(refs);
  ASSERT_EQ(values.size(), refs.size());
  for (int i = 0; i < 30; ++i) EXPECT_EQ(values[std::size_t(i)], i * i) << i;
  EXPECT_TRUE(raympi::get(std::vector<ObjectRef<int>>{}).empty());
  std::vector<ObjectRef<int>> same{refs[4], refs[4], refs[4]};
  EXPECT_EQ(raympi::get(same), (std::vector<int>{16, 16, 16}));
}

TEST(Objects, NullRefIsAnError) {
  ObjectRef<int> null;
  EXPECT_FALSE(null.valid());
  EXPECT_THROW((void)raympi::get(null), raympi::Error);
  EXPECT_THROW((void)raympi::get(std::vector<ObjectRef<int>>{raympi::put(1), null}), raympi::Error);
}

TEST(Objects, RefsStoredInsideAnObject) {
  std::vector<ObjectRef<int>> inner{raympi::put(1), raympi::task(square).remote(3)};
  auto outer = raympi::put(inner);
  inner.clear();  // only the outer object keeps them alive now
  auto back = raympi::get(outer);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(raympi::get(back[0]), 1);
  EXPECT_EQ(raympi::get(back[1]), 9);
}

TEST(Objects, OwnerRankOfAPutIsTheDriversRank) {
  auto ref = raympi::put(1);
  EXPECT_EQ(ref.owner_rank(), driver_rank());
  EXPECT_EQ(raympi::task(square).remote(2).owner_rank(), driver_rank());
}

}  // namespace
