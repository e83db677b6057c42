// Integration: distributed reference counting. After every reference to a
// set of objects is dropped, each node's store and ownership table go back
// to where they were (every copy, on every node, is freed). Frees are
// asynchronous messages, so the check polls for a while before failing.
// Runs at NP 1, 3 and 4 with RAYMPI_NUM_CPUS=4.
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <raympi/raympi.hpp>

#include "test_support.hpp"

namespace {

using raympi::ObjectRef;
using namespace raympi_test;
using Doubles = std::vector<double>;
using Stats = raympi::detail::LocalStats;
using Clock = std::chrono::steady_clock;

Doubles make_doubles(int n, double value) { return Doubles(std::size_t(n), value); }
double sum_doubles(const Doubles& v) {
  double s = 0;
  for (double x : v) s += x;
  return s;
}
int square(int x) { return x * x; }
int sleepy_square(int x) {
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  return x * x;
}
int sum_handles(std::vector<ObjectRef<int>> refs) {
  int s = 0;
  for (auto& r : refs) s += raympi::get(r);
  return s;
}

}  // namespace

RAYMPI_REMOTE(make_doubles, sum_doubles, square, sleepy_square, sum_handles);

namespace {

std::map<int, Stats> all_stats() {
  std::map<int, Stats> out;
  // The driver's own counters first: the stats tasks sent to the other nodes
  // have results owned here, freed a moment after their get (the executor's
  // release arrives by message); read after them, the driver's count would
  // include them or not depending on that moment.
  out[driver_rank()] = stats_on(driver_rank());
  for (int r : node_ranks())
    if (r != driver_rank()) out[r] = stats_on(r);
  return out;
}

std::string describe(const std::map<int, Stats>& s) {
  std::ostringstream o;
  for (auto& [r, x] : s)
    o << " rank " << r << ": store_objects=" << x.store_objects << " store_bytes=" << x.store_bytes
      << " owned_objects=" << x.owned_objects << " ref_records=" << x.ref_records << " fetches=" << x.fetches << ';';
  return o.str();
}

bool at_or_below(const std::map<int, Stats>& now, const std::map<int, Stats>& base) {
  for (auto& [r, b] : base) {
    const Stats& n = now.at(r);
    if (n.store_objects > b.store_objects || n.owned_objects > b.owned_objects || n.store_bytes > b.store_bytes ||
        n.ref_records > b.ref_records)
      return false;
  }
  return true;
}

// Counters once they stop moving (earlier tests' frees may still be in flight).
std::map<int, Stats> settled_baseline() {
  auto prev = all_stats();
  auto deadline = Clock::now() + std::chrono::seconds(5);
  while (Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto now = all_stats();
    if (at_or_below(now, prev) && at_or_below(prev, now)) return now;
    prev = now;
  }
  return prev;
}

// Polls until every node is back at (or below) the baseline; up to 5 s — far
// more than the milliseconds the frees take, for a loaded 2-core machine.
void expect_back_to_baseline(const std::map<int, Stats>& base, const std::map<int, Stats>& peak) {
  auto deadline = Clock::now() + std::chrono::seconds(5);
  std::map<int, Stats> now;
  do {
    now = all_stats();
    if (at_or_below(now, base)) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (Clock::now() < deadline);
  ADD_FAILURE() << "objects were not freed everywhere.\n baseline:" << describe(base) << "\n while in use:"
                << describe(peak) << "\n after dropping every ref (5 s later):" << describe(now);
}

TEST(RefCount, HundredObjectsAreFreedOnEveryNode) {
  auto ranks = node_ranks();
  int here = driver_rank();
  int other = other_rank();
  auto base = settled_baseline();
  std::map<int, Stats> peak;
  {
    std::vector<ObjectRef<int>> small_puts, small_results;
    std::vector<ObjectRef<Doubles>> big_puts, big_results;
    std::vector<ObjectRef<double>> consumers;
    for (int i = 0; i < 30; ++i) small_puts.push_back(raympi::put(i));                        // 30
    for (int i = 0; i < 10; ++i) big_puts.push_back(raympi::put(Doubles(20'000, double(i))));  // 10 x 160 KB
    for (int i = 0; i < 30; ++i)                                                               // 30, spread
      small_results.push_back(on_node(square, ranks[std::size_t(i) % ranks.size()]).remote(i));
    for (int i = 0; i < 10; ++i)  // 10 x 200 KB computed on the other node: they stay in its store
      big_results.push_back(on_node(make_doubles, other).remote(25'000, double(i)));
    // 20 consumed across nodes: the driver's puts on the other node, the other
    // node's results on the driver's node (copies are fetched into each store).
    for (int i = 0; i < 10; ++i) consumers.push_back(on_node(sum_doubles, other).remote(big_puts[std::size_t(i)]));
    for (int i = 0; i < 10; ++i) consumers.push_back(on_node(sum_doubles, here).remote(big_results[std::size_t(i)]));

    for (int i = 0; i < 30; ++i) {
      ASSERT_EQ(raympi::get(small_puts[std::size_t(i)]), i);
      ASSERT_EQ(raympi::get(small_results[std::size_t(i)]), i * i);
    }
    for (int i = 0; i < 10; ++i) {
      ASSERT_EQ(raympi::get(consumers[std::size_t(i)]), 20'000.0 * i);
      ASSERT_EQ(raympi::get(consumers[std::size_t(10 + i)]), 25'000.0 * i);
      ASSERT_EQ(raympi::get(big_results[std::size_t(i)]).size(), 25'000u);  // a copy on the driver too
    }
    peak = all_stats();
    EXPECT_GE(peak.at(here).owned_objects, base.at(here).owned_objects + 100) << "the driver owns all 100+";
    // The test frees something real: the other node holds the 10 big results
    // (too big to travel with their completion message) while they are in use.
    if (other != here)
      EXPECT_GE(peak.at(other).store_objects, base.at(other).store_objects + 10) << describe(peak);
  }
  expect_back_to_baseline(base, peak);
}

TEST(RefCount, ResultsDroppedBeforeTheyExistAreFreed) {
  auto base = settled_baseline();
  auto ranks = node_ranks();
  for (int i = 0; i < 24; ++i) (void)on_node(sleepy_square, ranks[std::size_t(i) % ranks.size()]).remote(i);
  // The refs are gone at once; the results are freed when the tasks finish.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  expect_back_to_baseline(base, all_stats());
}

TEST(RefCount, RefsInsideObjectsAndArgumentsAreReleased) {
  auto base = settled_baseline();
  std::map<int, Stats> peak;
  {
    std::vector<ObjectRef<int>> inner;
    for (int i = 0; i < 8; ++i) inner.push_back(raympi::put(i));
    auto outer = raympi::put(inner);  // refs inside an object
    auto s = on_node(sum_handles, other_rank()).remote(inner);  // refs as task arguments (handles)
    inner.clear();
    ASSERT_EQ(raympi::get(s), 28);
    auto back = raympi::get(outer);
    ASSERT_EQ(raympi::get(back[7]), 7);
    peak = all_stats();
  }
  expect_back_to_baseline(base, peak);
}

TEST(RefCount, DependenciesOfFinishedTasksAreReleased) {
  auto base = settled_baseline();
  std::map<int, Stats> peak;
  {
    ObjectRef<int> r = raympi::put(1);
    auto ranks = node_ranks();
    for (int i = 0; i < 20; ++i) r = on_node(square, ranks[std::size_t(i) % ranks.size()]).remote(r);
    ASSERT_EQ(raympi::get(r), 1);
    peak = all_stats();
  }
  expect_back_to_baseline(base, peak);
}

}  // namespace
