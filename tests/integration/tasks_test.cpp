// Integration: tasks, dependencies, argument binding (dependency vs handle),
// void tasks. Runs at NP 1, 3 and 4 with RAYMPI_NUM_CPUS=4.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include <raympi/raympi.hpp>

#include "test_support.hpp"

namespace {

using raympi::ObjectRef;
using namespace raympi_test;

int add(int a, int b) { return a + b; }
int inc(int x) { return x + 1; }
int rank_times_1000_plus(int x) { return raympi::current_rank() * 1000 + x; }
long sum_vector(const std::vector<int>& v) { return std::accumulate(v.begin(), v.end(), 0L); }
std::vector<int> iota_vector(int n) {
  std::vector<int> v(static_cast<std::size_t>(n));
  std::iota(v.begin(), v.end(), 0);
  return v;
}
std::vector<double> scale(const std::vector<double>& v, double f) {
  std::vector<double> out(v);
  for (double& x : out) x *= f;
  return out;
}
std::string concat(std::string a, const std::string& b) { return a + b; }

// Handles: the function receives ObjectRefs and decides itself what to get.
int count_valid_handles(std::vector<ObjectRef<int>> refs) {
  int n = 0;
  for (auto& r : refs) n += r.valid() ? 1 : 0;
  return n;
}
int sum_handles(std::vector<ObjectRef<int>> refs) {
  int s = 0;
  for (auto& r : refs) s += raympi::get(r);
  return s;
}
int sum_handle_map(std::map<std::string, ObjectRef<int>> refs) {
  int s = 0;
  for (auto& [k, r] : refs) s += raympi::get(r);
  return s;
}
int times_ten(ObjectRef<int> r) { return 10 * raympi::get(r); }

// Void tasks record into this process; pinned to the driver's rank, the
// driver reads the record directly.
std::mutex g_mu;
std::map<int, int> g_records;
void record(int key, int value) {
  std::lock_guard lk(g_mu);
  g_records[key] = value;
}
int recorded(int key) {
  std::lock_guard lk(g_mu);
  auto it = g_records.find(key);
  return it == g_records.end() ? -1 : it->second;
}
void void_after(int key, int value) {
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  record(key, value);
}

}  // namespace

RAYMPI_REMOTE(add, inc, rank_times_1000_plus, sum_vector, iota_vector, scale, concat, count_valid_handles, sum_handles, sum_handle_map,
              times_ten, record, void_after);

namespace {

TEST(Tasks, SimpleCall) {
  EXPECT_EQ(raympi::get(raympi::task(add).remote(1, 2)), 3);
  EXPECT_EQ(raympi::get(raympi::task(concat).remote(std::string("ab"), std::string("cd"))), "abcd");
}

TEST(Tasks, ManyIndependentTasks) {
  std::vector<ObjectRef<int>> refs;
  for (int i = 0; i < 200; ++i) refs.push_back(raympi::task(add).remote(i, i));
  auto values = raympi::get(refs);
  ASSERT_EQ(values.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(values[std::size_t(i)], 2 * i);
}

TEST(Tasks, RemoteBatchRunsEveryCallWithItsArguments) {
  std::vector<std::tuple<int, int>> pairs;
  for (int i = 0; i < 500; ++i) pairs.emplace_back(i, 1000 * i);
  std::vector<ObjectRef<int>> refs = raympi::task(add).remote_batch(pairs);
  ASSERT_EQ(refs.size(), pairs.size());
  auto values = raympi::get(refs);
  for (int i = 0; i < 500; ++i) EXPECT_EQ(values[std::size_t(i)], 1001 * i);
  EXPECT_TRUE(raympi::task(add).remote_batch(std::vector<std::tuple<int, int>>{}).empty());
}

TEST(Tasks, RemoteBatchOfAOneParameterFunctionTakesAVector) {
  auto refs = raympi::task(inc).remote_batch(std::vector<int>{1, 2, 3});
  EXPECT_EQ(raympi::get(refs), (std::vector<int>{2, 3, 4}));
}

TEST(Tasks, RemoteBatchWithDependenciesOnEveryNode) {
  auto ranks = node_ranks();
  std::vector<ObjectRef<int>> firsts;
  for (int i = 0; i < 8; ++i) firsts.push_back(raympi::task(inc).remote(i));
  for (int rank : ranks) {
    SCOPED_TRACE("rank " + std::to_string(rank));
    std::vector<std::tuple<ObjectRef<int>, int>> calls;
    for (int i = 0; i < 8; ++i) calls.emplace_back(firsts[std::size_t(i)], 100);
    auto refs = on_node(add, rank).remote_batch(calls);
    auto values = raympi::get(refs);
    for (int i = 0; i < 8; ++i) EXPECT_EQ(values[std::size_t(i)], i + 1 + 100);
    EXPECT_EQ(raympi::get(on_node(rank_times_1000_plus, rank).remote_batch(std::vector<int>{1, 2})),
              (std::vector<int>{rank * 1000 + 1, rank * 1000 + 2}));  // every call ran on the pinned node
  }
}

TEST(Tasks, LongDependencyChain) {
  ObjectRef<int> r = raympi::task(inc).remote(0);
  for (int i = 0; i < 60; ++i) r = raympi::task(inc).remote(r);
  EXPECT_EQ(raympi::get(r), 61);
}

TEST(Tasks, DiamondDependencies) {
  auto a = raympi::task(add).remote(1, 2);
  auto b = raympi::task(add).remote(a, 10);
  auto c = raympi::task(add).remote(20, a);
  auto d = raympi::task(add).remote(b, c);
  EXPECT_EQ(raympi::get(d), 36);
  EXPECT_EQ(raympi::get(a), 3);  // a is still there after its consumers ran
}

TEST(Tasks, ChainAcrossEveryNode) {
  auto ranks = node_ranks();
  ObjectRef<int> r = raympi::task(inc).remote(0);
  for (int i = 0; i < 20; ++i) r = on_node(inc, ranks[std::size_t(i) % ranks.size()]).remote(r);
  EXPECT_EQ(raympi::get(r), 21);
}

TEST(Tasks, ConstRefDependencyOnContainerResult) {
  auto v = raympi::task(iota_vector).remote(1000);
  EXPECT_EQ(raympi::get(raympi::task(sum_vector).remote(v)), 999L * 1000 / 2);
}

TEST(Tasks, DependencyOnPutObject) {
  std::vector<double> w(10000, 1.5);
  auto ref = raympi::put(w);
  auto scaled = raympi::task(scale).remote(ref, 2.0);
  auto back = raympi::get(scaled);
  ASSERT_EQ(back.size(), w.size());
  for (double x : back) ASSERT_EQ(x, 3.0);
}

TEST(Tasks, DependencyAndPlainValueMixed) {
  auto s = raympi::task(concat).remote(raympi::task(concat).remote(std::string("x"), std::string("y")), "z");
  EXPECT_EQ(raympi::get(s), "xyz");
}

TEST(Tasks, RefsInsideAVectorTravelAsHandlesNotDependencies) {
  GateGuard gates;
  int key = gates.add();
  int here = driver_rank();
  // Not ready until the driver opens the gate.
  ObjectRef<int> blocked = on_node(gate_wait, here).remote(key);
  ObjectRef<int> five = raympi::put(5);
  // If the vector's refs were dependencies this task would wait for the gate.
  auto n = raympi::task(count_valid_handles).remote(std::vector<ObjectRef<int>>{blocked, five});
  EXPECT_EQ(raympi::get(n, std::chrono::seconds(60)), 2);
  EXPECT_TRUE(raympi::wait(std::vector<ObjectRef<int>>{blocked}, 1, std::chrono::milliseconds(0)).ready.empty())
      << "the blocked object became ready before its gate opened";
  // The function gets the handles itself (blocking on the gate inside the task).
  auto sum = raympi::task(sum_handles).remote(std::vector<ObjectRef<int>>{blocked, five});
  gates.open_all();
  EXPECT_EQ(raympi::get(sum), key + 5);
}

TEST(Tasks, RefsInsideAMapAndSingleHandleParameter) {
  std::map<std::string, ObjectRef<int>> m{{"a", raympi::put(1)}, {"b", raympi::task(add).remote(2, 3)}};
  EXPECT_EQ(raympi::get(raympi::task(sum_handle_map).remote(m)), 6);
  EXPECT_EQ(raympi::get(raympi::task(times_ten).remote(raympi::put(4))), 40);
  // A handle passed to a task on another node.
  EXPECT_EQ(raympi::get(on_node(times_ten, other_rank()).remote(raympi::task(inc).remote(6))), 70);
}

TEST(Tasks, VoidTaskWaitsAndHasItsEffect) {
  int key = fresh_key();
  ObjectRef<void> done = on_node(void_after, driver_rank()).remote(key, 77);
  EXPECT_TRUE(done.valid());
  raympi::get(done);
  EXPECT_EQ(recorded(key), 77) << "get(ObjectRef<void>) returned before the task ran";
}

TEST(Tasks, ManyVoidTasks) {
  std::vector<int> keys;
  std::vector<ObjectRef<void>> done;
  for (int i = 0; i < 20; ++i) {
    keys.push_back(fresh_key());
    done.push_back(on_node(record, driver_rank()).remote(keys.back(), i));
  }
  for (auto& d : done) raympi::get(d);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(recorded(keys[std::size_t(i)]), i);
}

TEST(Tasks, CurrentRankInsideATaskIsANode) {
  auto ranks = node_ranks();
  std::vector<ObjectRef<int>> refs;
  for (int i = 0; i < 20; ++i) refs.push_back(raympi::task(where_am_i).remote());
  for (int r : raympi::get(refs)) EXPECT_NE(std::find(ranks.begin(), ranks.end(), r), ranks.end()) << r;
  for (int r : ranks) EXPECT_EQ(raympi::get(on_node(where_am_i, r).remote()), r);
}

}  // namespace
