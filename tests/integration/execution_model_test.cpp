// The execution model on this machine as it is (no XML): node ranks that share
// a host split its PUs (their workers never pile onto the same PUs unless
// there are fewer PUs than node ranks), worker threads run at a lower priority
// than the runtime's threads where asked (RAYMPI_WORKER_PRIORITY), the
// runtime's threads ask for a short time slice, and a node whose only CPU
// computes still serves messages (objects are pulled from it while its task runs).
//
// Run without RAYMPI_NUM_CPUS (the default CPUs are the rank's share) under
// plain mpiexec at NP 1, 3, 4 and 5, and under `raympi run -n 2
// --cpus-per-node 1`, where each node rank is bound to one PU that its worker
// and the runtime's threads share (there with the default worker priority and
// with RAYMPI_WORKER_PRIORITY=idle).
// RAYMPI_INLINE_GET=0: a get never runs the task on the driver's thread, so
// every task here reports a worker thread.
#include <gtest/gtest.h>

#include <dirent.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/thread_priority.hpp"
#include "topology/topology.hpp"
#include "test_support.hpp"

namespace {

using Clock = std::chrono::steady_clock;

// "0-3,6" -> {0,1,2,3,6}
std::set<int> parse_list(const std::string& list) {
  auto pus = raympi::detail::parse_pu_list(list);
  return {pus.begin(), pus.end()};
}

// The PUs the calling thread may run on, as the kernel says.
std::set<int> this_thread_affinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::set<int> out;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return out;
  for (int pu = 0; pu < CPU_SETSIZE; ++pu)
    if (CPU_ISSET(pu, &set)) out.insert(pu);
  return out;
}


/// Remote: the PUs its worker thread may run on.
std::vector<int> worker_affinity() {
  auto s = this_thread_affinity();
  return {s.begin(), s.end()};
}

/// Remote: the scheduling policy of its worker thread.
int worker_policy() { return sched_getscheduler(0); }

/// Remote: an object too large to travel inline with its location (pulled from here).
constexpr std::size_t kPayloadBytes = 128 * 1024;
std::vector<char> payload(int i) { return std::vector<char>(kPayloadBytes, char(i)); }

/// Remote: the size of an object (run where the object is: nothing moves).
std::size_t size_of(const std::vector<char>& v) { return v.size(); }

/// Remote: computes (no sleeping, no system calls) for `seconds`; returns its
/// start and end on the steady clock, which every process of a host shares.
std::vector<std::int64_t> compute_for(double seconds) {
  const auto start = Clock::now();
  volatile double x = 1.0;
  while (Clock::now() - start < std::chrono::duration<double>(seconds))
    for (int i = 0; i < 1000; ++i) x = x * 1.0000001 + 1e-9;
  return {start.time_since_epoch().count(), Clock::now().time_since_epoch().count()};
}

RAYMPI_REMOTE(worker_affinity, worker_policy, payload, size_of, compute_for);

std::map<std::string, std::vector<raympi::NodeInfo>> nodes_by_host() {
  std::map<std::string, std::vector<raympi::NodeInfo>> out;
  for (auto& n : raympi::nodes()) out[n.host].push_back(n);
  return out;
}

}  // namespace

TEST(HostShare, CoLocatedNodeRanksGetDisjointPusWhenThereAreEnough) {
  const int host_pus = int(sysconf(_SC_NPROCESSORS_ONLN));
  for (auto& [host, nodes] : nodes_by_host()) {
    SCOPED_TRACE("host " + host);
    std::set<int> seen;
    bool overlap = false;
    for (auto& n : nodes) {
      auto pus = parse_list(n.cpuset);
      EXPECT_EQ(int(pus.size()), n.num_pus) << "rank " << n.rank << " cpuset " << n.cpuset;
      for (int pu : pus) overlap |= !seen.insert(pu).second;
    }
    if (int(nodes.size()) <= host_pus) {
      EXPECT_FALSE(overlap) << nodes.size() << " node ranks on " << host_pus << " PUs must not share one";
    } else {
      for (auto& n : nodes) EXPECT_EQ(n.num_pus, 1) << "more node ranks than PUs: one PU each, shared";
      EXPECT_EQ(int(seen.size()), host_pus) << "every PU of the host is used";
    }
  }
}

TEST(HostShare, DefaultCpusAreTheRanksShare) {
  if (std::getenv("RAYMPI_NUM_CPUS")) GTEST_SKIP() << "RAYMPI_NUM_CPUS is set";
  for (auto& n : raympi::nodes()) EXPECT_EQ(n.resources.at("CPU"), double(n.num_pus)) << "rank " << n.rank;
}

TEST(HostShare, WorkersRunOnTheirNodesPus) {
  for (auto& n : raympi::nodes()) {
    if (!n.workers_pinned) continue;
    SCOPED_TRACE("rank " + std::to_string(n.rank));
    auto mine = parse_list(n.cpuset);
    auto got = raympi::get(raympi_test::on_node(worker_affinity, n.rank).remote());
    ASSERT_FALSE(got.empty());
    for (int pu : got) EXPECT_TRUE(mine.count(pu)) << "a worker may run on PU " << pu << ", outside " << n.cpuset;
    if (n.resources.at("CPU") <= n.num_pus) EXPECT_EQ(got.size(), 1u) << "one slot per PU: bound to one PU";
  }
}

TEST(WorkerPriority, WorkersRunWithTheConfiguredPolicy) {
  const char* asked = std::getenv("RAYMPI_WORKER_PRIORITY");
  const int expect = asked && std::string(asked) == "idle" ? SCHED_IDLE : SCHED_OTHER;
  EXPECT_EQ(sched_getscheduler(0), SCHED_OTHER);  // the driver's thread keeps its priority
  for (int rank : raympi_test::node_ranks())
    EXPECT_EQ(raympi::get(raympi_test::on_node(worker_policy, rank).remote()), expect) << "rank " << rank;
}

TEST(WorkerPriority, RuntimeThreadsAskForAShortSlice) {
  // Where the kernel has custom slices (EEVDF, Linux 6.12+), the progress
  // thread of this rank runs with the runtime's short slice; the driver's
  // thread keeps the default.
  if (!raympi::detail::custom_slices_supported()) GTEST_SKIP() << "this kernel has no custom slices";
  std::set<std::uint64_t> slices;
  DIR* dir = opendir("/proc/self/task");
  ASSERT_NE(dir, nullptr);
  while (dirent* e = readdir(dir))
    if (e->d_name[0] != '.') slices.insert(raympi::detail::thread_slice_ns(std::atoi(e->d_name)));
  closedir(dir);
  EXPECT_TRUE(slices.count(raympi::detail::kRuntimeSliceNs)) << "no thread of this rank runs with the runtime's slice";
  EXPECT_NE(raympi::detail::thread_slice_ns(0), raympi::detail::kRuntimeSliceNs);
}

// One CPU computes on the other node; meanwhile the driver pulls objects that
// only that node holds, one after the other (each pull is a request its
// runtime threads must answer). All pulls must finish while the task still
// runs: messages are served during computation, not between tasks. The
// computation lasts 3 x what the pulls take from the idle node (at least
// 0.6 s). A woken runtime thread that had to wait for the computing worker's
// time slice (as on EEVDF without the runtime's short slice, or with a
// progress thread that polls beside a busy worker) waits ~2-4 ms per pull
// here, 5-10 x an idle pull (~0.4 ms): the pulls then outlast the computation.
TEST(WorkerPriority, ANodeServesObjectsWhileItsWorkersCompute) {
  const int other = raympi_test::other_rank();
  if (other == raympi_test::driver_rank()) GTEST_SKIP() << "needs a second node rank";
  double cpus = 0;
  for (auto& n : raympi::nodes())
    if (n.rank == other) cpus = n.resources.at("CPU");
  const int k = 300;
  // Objects ready and held by that node only (a wait or get here would pull them).
  auto held_there = [&](int count) {
    std::vector<raympi::ObjectRef<std::vector<char>>> objects;
    for (int i = 0; i < count; ++i) objects.push_back(raympi_test::on_node(payload, other).remote(i));
    std::vector<raympi::ObjectRef<std::size_t>> sizes;
    for (auto& o : objects) sizes.push_back(raympi_test::on_node(size_of, other).remote(o));
    for (std::size_t n : raympi::get(sizes)) EXPECT_EQ(n, kPayloadBytes);
    return objects;
  };
  auto pull_all = [&](const std::vector<raympi::ObjectRef<std::vector<char>>>& objects) {
    for (std::size_t i = 0; i < objects.size(); ++i) {
      auto v = raympi::get(objects[i]);
      ASSERT_EQ(v.size(), kPayloadBytes);
      EXPECT_EQ(v[0], char(i));
    }
  };
  auto first = held_there(20);
  const auto idle_start = Clock::now();
  pull_all(first);  // for comparison: pulls from an idle node
  const double idle_us = 1e6 * raympi_test::seconds_since(idle_start) / 20;
  auto objects = held_there(k);
  // Every CPU of that node computes.
  std::vector<raympi::ObjectRef<std::vector<std::int64_t>>> busy;
  // Long enough for the pulls at 3 x their idle pace (a loaded machine slows both).
  const double seconds = std::max(0.6, 3 * k * idle_us / 1e6);
  for (int i = 0; i < int(cpus); ++i) busy.push_back(raympi_test::on_node(compute_for, other).remote(seconds));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // the computation is under way
  const auto pulls_start = Clock::now();
  pull_all(objects);
  const std::int64_t last_pull = Clock::now().time_since_epoch().count();
  std::printf("%d pulls of %zu KiB from rank %d while it computes: %.1f us each (idle: %.1f us)\n", k,
              kPayloadBytes / 1024, other, 1e6 * raympi_test::seconds_since(pulls_start) / k, idle_us);
  for (auto& span : raympi::get(busy)) {
    ASSERT_EQ(span.size(), 2u);
    EXPECT_LT(last_pull, span[1]) << "the pulls finished only after the computation ("
                                  << double(last_pull - span[1]) / 1e6 << " ms later)";
  }
}
