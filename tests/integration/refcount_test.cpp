// Integration: distributed reference counting. After every reference to a
// set of objects is dropped, each node's store, ownership and reference
// tables, in-flight fetches and actor routes, and the GCS's count of live
// objects go back to where they were (every copy, on every node, is freed).
// Frees are asynchronous messages, so the check polls for a while before
// failing; the baseline is taken once the counters stop moving.
// Runs at NP 1, 3 and 4 with RAYMPI_NUM_CPUS=4.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
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

constexpr auto kSettleDeadline = std::chrono::seconds(10);
constexpr auto kFreeDeadline = std::chrono::seconds(5);

// Every counter the tests compare: each node's LocalStats and the GCS's count
// of live objects (which the owners report in batches).
struct Snapshot {
  std::map<int, Stats> nodes;
  std::uint64_t gcs_objects_live = 0;
};

Snapshot snapshot() {
  Snapshot out;
  // The GCS first: the stats tasks below create results (owned here, freed a
  // moment after their get) whose counts reach the GCS a few ms later.
  out.gcs_objects_live = raympi::detail::gcs_counters()["objects_live"];
  // The driver's own counters next, for the same reason: read after the stats
  // tasks sent to the other nodes, its count would include their results or
  // not depending on the moment the executor's release arrives.
  out.nodes[driver_rank()] = stats_on(driver_rank());
  for (int r : node_ranks())
    if (r != driver_rank()) out.nodes[r] = stats_on(r);
  return out;
}

// The snapshot as named values ("rank 2 owned_objects", "gcs objects_live"):
// every counter that must go back to its baseline once the refs are gone.
std::map<std::string, std::uint64_t> counters(const Snapshot& s) {
  std::map<std::string, std::uint64_t> c;
  for (auto& [r, x] : s.nodes) {
    std::string rank = "rank " + std::to_string(r) + " ";
    c[rank + "store_objects"] = x.store_objects;
    c[rank + "store_bytes"] = x.store_bytes;
    c[rank + "owned_objects"] = x.owned_objects;
    c[rank + "ref_records"] = x.ref_records;
    c[rank + "fetches"] = x.fetches;
    c[rank + "actor_routes"] = x.actor_routes;
  }
  c["gcs objects_live"] = s.gcs_objects_live;
  return c;
}

// The counters of `now` that are above (or, with `moved`, differ from) `base`,
// with their values: "rank 2 owned_objects 5 -> 9; ...".
std::string differences(const Snapshot& base, const Snapshot& now, bool moved) {
  auto b = counters(base), n = counters(now);
  std::ostringstream o;
  for (auto& [name, value] : n) {
    std::uint64_t was = b.count(name) ? b.at(name) : 0;
    if (value > was || (moved && value != was)) o << ' ' << name << ' ' << was << " -> " << value << ';';
  }
  return o.str();
}

std::string describe(const Snapshot& s) {
  std::ostringstream o;
  for (auto& [name, value] : counters(s)) o << ' ' << name << '=' << value << ';';
  return o.str();
}

// Waits until the counters stop moving (earlier tests' frees may still be in
// flight) and stores them in `base`; fails when they still move at the deadline.
void settled_baseline(Snapshot& base) {
  auto prev = snapshot();
  std::string moving;  // what changed over the last 50 ms
  auto deadline = Clock::now() + kSettleDeadline;
  while (Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto now = snapshot();
    moving = differences(prev, now, true);
    if (moving.empty()) {
      base = now;
      return;
    }
    prev = now;
  }
  FAIL() << "the counters did not settle within " << kSettleDeadline.count()
         << " s before the test; still moving over the last 50 ms:" << moving << "\n last:" << describe(prev);
}

// Polls until every counter is back at (or below) the baseline; up to 5 s —
// far more than the milliseconds the frees take, for a loaded 2-core machine.
void expect_back_to_baseline(const Snapshot& base, const Snapshot& peak) {
  auto deadline = Clock::now() + kFreeDeadline;
  Snapshot now;
  do {
    now = snapshot();
    if (differences(base, now, false).empty()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  } while (Clock::now() < deadline);
  ADD_FAILURE() << "objects were not freed everywhere; above the baseline " << kFreeDeadline.count()
                << " s after dropping every ref:" << differences(base, now, false) << "\n baseline:" << describe(base)
                << "\n while in use:" << describe(peak) << "\n after:" << describe(now);
}

TEST(RefCount, HundredObjectsAreFreedOnEveryNode) {
  auto ranks = node_ranks();
  int here = driver_rank();
  int other = other_rank();
  Snapshot base, peak;
  ASSERT_NO_FATAL_FAILURE(settled_baseline(base));
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
    peak = snapshot();
    EXPECT_GE(peak.nodes.at(here).owned_objects, base.nodes.at(here).owned_objects + 100) << "the driver owns all 100+";
    // The GCS sees them too (the owners report creations in batches).
    EXPECT_TRUE(eventually([&] {
      return raympi::detail::gcs_counters()["objects_live"] >= base.gcs_objects_live + 100;
    })) << "the GCS's objects_live did not count the 100+ objects:" << describe(peak);
    // The test frees something real: the other node holds the 10 big results
    // (too big to travel with their completion message) while they are in use.
    if (other != here)
      EXPECT_GE(peak.nodes.at(other).store_objects, base.nodes.at(other).store_objects + 10) << describe(peak);
  }
  expect_back_to_baseline(base, peak);
}

TEST(RefCount, ResultsDroppedBeforeTheyExistAreFreed) {
  Snapshot base;
  ASSERT_NO_FATAL_FAILURE(settled_baseline(base));
  auto ranks = node_ranks();
  for (int i = 0; i < 24; ++i) (void)on_node(sleepy_square, ranks[std::size_t(i) % ranks.size()]).remote(i);
  // The refs are gone at once; the results are freed when the tasks finish.
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  expect_back_to_baseline(base, snapshot());
}

TEST(RefCount, RefsInsideObjectsAndArgumentsAreReleased) {
  Snapshot base, peak;
  ASSERT_NO_FATAL_FAILURE(settled_baseline(base));
  {
    std::vector<ObjectRef<int>> inner;
    for (int i = 0; i < 8; ++i) inner.push_back(raympi::put(i));
    auto outer = raympi::put(inner);  // refs inside an object
    auto s = on_node(sum_handles, other_rank()).remote(inner);  // refs as task arguments (handles)
    inner.clear();
    ASSERT_EQ(raympi::get(s), 28);
    auto back = raympi::get(outer);
    ASSERT_EQ(raympi::get(back[7]), 7);
    peak = snapshot();
  }
  expect_back_to_baseline(base, peak);
}

TEST(RefCount, NestedRefsAreReleasedWithTheOuterObject) {
  Snapshot base, peak;
  ASSERT_NO_FATAL_FAILURE(settled_baseline(base));
  {
    ObjectRef<ObjectRef<ObjectRef<Doubles>>> outer;
    {
      auto inner = on_node(make_doubles, other_rank()).remote(25'000, 1.0);  // held by the other node's store
      outer = raympi::put(raympi::put(inner));                               // two levels of nesting
    }
    // The innermost object is reached (and so kept) only through the outer one.
    ObjectRef<Doubles> inner = raympi::get(raympi::get(outer));
    ASSERT_EQ(raympi::get(on_node(sum_doubles, other_rank()).remote(inner)), 25'000.0);
    peak = snapshot();
  }
  expect_back_to_baseline(base, peak);
}

TEST(RefCount, DependenciesOfFinishedTasksAreReleased) {
  Snapshot base, peak;
  ASSERT_NO_FATAL_FAILURE(settled_baseline(base));
  {
    ObjectRef<int> r = raympi::put(1);
    auto ranks = node_ranks();
    for (int i = 0; i < 20; ++i) r = on_node(square, ranks[std::size_t(i) % ranks.size()]).remote(r);
    ASSERT_EQ(raympi::get(r), 1);
    peak = snapshot();
  }
  expect_back_to_baseline(base, peak);
}

}  // namespace
