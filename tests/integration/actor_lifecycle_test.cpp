// Integration: the life of an actor — kill, restarts, a throwing factory,
// named actors, destruction when the last handle goes, the resources it
// holds, an infeasible demand, 1,000 actors at once, actors calling actors.
#include <gtest/gtest.h>
#include <malloc.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <raympi/raympi.hpp>

#include "test_support.hpp"

namespace {

using raympi::ActorHandle;
using raympi::ObjectRef;
using namespace raympi_test;

struct Counter {
  explicit Counter(int start) : n(start) {}
  int increment() { return ++n; }
  int wait_on_gate(int key) { return gate_wait(key); }
  int rank() const { return raympi::current_rank(); }
  int n;
};
std::unique_ptr<Counter> make_counter(int start) { return std::make_unique<Counter>(start); }

// Factories that throw the first `failures` times they run for `key` (per process).
std::mutex g_flaky_mu;
std::map<int, int> g_flaky_runs;
std::unique_ptr<Counter> make_flaky(int key, int failures) {
  std::lock_guard lk(g_flaky_mu);
  if (g_flaky_runs[key]++ < failures) throw std::runtime_error("flaky factory failure #" + std::to_string(g_flaky_runs[key]));
  return std::make_unique<Counter>(100);
}

// Counts constructions and destructions in its process.
std::atomic<int> g_tracked_alive{0}, g_tracked_destroyed{0};
struct Tracked {
  Tracked() { ++g_tracked_alive; }
  ~Tracked() {
    --g_tracked_alive;
    ++g_tracked_destroyed;
  }
  int ping() { return 1; }
};
std::unique_ptr<Tracked> make_tracked() { return std::make_unique<Tracked>(); }
int tracked_destroyed() { return g_tracked_destroyed.load(); }

// An actor that calls another actor through a handle it was built with.
struct Relay {
  explicit Relay(ActorHandle<Counter> c) : target(std::move(c)) {}
  int bump() { return raympi::get(target.task(&Counter::increment).remote()); }
  ActorHandle<Counter> target;
};
std::unique_ptr<Relay> make_relay(ActorHandle<Counter> c) { return std::make_unique<Relay>(std::move(c)); }

int increment_once(ActorHandle<Counter> c) { return raympi::get(c.task(&Counter::increment).remote()); }

int increment_named(std::string name) {
  auto c = raympi::get_actor<Counter>(name);
  if (!c) return -1;
  return raympi::get(c->task(&Counter::increment).remote());
}

// A line of /proc/self/status ("VmRSS:", "Threads:"), its number.
long proc_status(const std::string& name) {
  std::ifstream f("/proc/self/status");
  std::string key;
  while (f >> key) {
    long v;
    if (key == name && f >> v) return v;
    f.ignore(1 << 20, '\n');
  }
  return -1;
}
// Resident memory of this process, in KiB, after free heap pages went back to the system.
long rss_kib() {
  malloc_trim(0);
  return proc_status("VmRSS:");
}
// Bytes the heap of this process holds for live allocations (allocator slack not counted).
long heap_bytes() {
  struct mallinfo2 m = mallinfo2();
  return long(m.uordblks + m.hblkhd);
}
// Threads of this process, and those of them that run actors (the pool names them).
long threads_here() { return proc_status("Threads:"); }
long actor_threads_here() {
  long n = 0;
  std::error_code ec;
  for (auto& task : std::filesystem::directory_iterator("/proc/self/task", ec)) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    n += std::getline(comm, name) && name == "raympi-actors";
  }
  return n;
}

// An actor with nothing in it: what the runtime keeps per actor is all that grows.
struct Idle {
  int ping() const { return 1; }
};
std::unique_ptr<Idle> make_idle() { return std::make_unique<Idle>(); }

}  // namespace

RAYMPI_REMOTE(make_counter, &Counter::increment, &Counter::wait_on_gate, &Counter::rank, make_flaky, make_tracked, &Tracked::ping,
              tracked_destroyed, make_relay, &Relay::bump, increment_named, increment_once, rss_kib, heap_bytes,
              threads_here, actor_threads_here, make_idle, &Idle::ping);

namespace {

template <class T>
std::string died_message(const ObjectRef<T>& r) {
  try {
    raympi::get(r);
  } catch (const raympi::ActorDiedError& e) {
    return e.what();
  }
  return "(no ActorDiedError)";
}

double available_on(int rank, const std::string& key) {
  for (auto& n : raympi::nodes())
    if (n.rank == rank) return n.available.count(key) ? n.available.at(key) : 0.0;
  return -1;
}

class ActorLife : public ::testing::TestWithParam<bool> {
 protected:
  int target() const { return GetParam() ? other_rank() : driver_rank(); }
  std::string tag() const { return node_tag(target()); }
};

TEST_P(ActorLife, KillFailsQueuedAndLaterCalls) {
  auto c = raympi::actor(make_counter).resource(tag(), 0.001).remote(0);
  EXPECT_EQ(raympi::get(c.task(&Counter::increment).remote()), 1);
  GateGuard gates;
  ObjectRef<int> running;
  if (target() == driver_rank()) running = c.task(&Counter::wait_on_gate).remote(gates.add());
  std::vector<ObjectRef<int>> queued;
  for (int i = 0; i < 5; ++i) queued.push_back(c.task(&Counter::increment).remote());
  c.kill();
  auto later = c.task(&Counter::increment).remote();
  gates.open_all();
  if (running.valid()) EXPECT_NE(died_message(running).find("killed"), std::string::npos);
  for (auto& q : queued) {
    // A queued call either ran before the kill arrived (other node) or died with it.
    try {
      raympi::get(q);
    } catch (const raympi::ActorDiedError& e) {
      EXPECT_NE(std::string(e.what()).find("killed"), std::string::npos) << e.what();
    }
  }
  std::string msg = died_message(later);
  EXPECT_NE(msg.find("killed"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Counter"), std::string::npos) << msg;
}

TEST_P(ActorLife, HeldResourcesReturnWhenKilled) {
  double before = available_on(target(), tag());
  auto c = raympi::actor(make_counter).num_cpus(1).resource(tag(), 0.25).remote(0);
  EXPECT_EQ(raympi::get(c.task(&Counter::increment).remote()), 1);
  EXPECT_TRUE(eventually([&] { return available_on(target(), tag()) < before - 0.2; }))
      << "the actor's resource was not held";
  c.kill();
  EXPECT_TRUE(eventually([&] { return available_on(target(), tag()) > before - 0.01; }))
      << "the actor's resource did not come back";
}

TEST_P(ActorLife, KillWithRestartRebuildsFromTheFactoryArguments) {
  auto c = raympi::actor(make_counter).resource(tag(), 0.001).max_restarts(1).remote(10);
  EXPECT_EQ(raympi::get(c.task(&Counter::increment).remote()), 11);
  EXPECT_EQ(raympi::get(c.task(&Counter::increment).remote()), 12);
  c.kill(/*no_restart=*/false);
  EXPECT_EQ(raympi::get(c.task(&Counter::increment).remote()), 11);  // a fresh Counter(10)
  c.kill(false);  // no restart left: dead for good
  std::string msg = died_message(c.task(&Counter::increment).remote());
  EXPECT_NE(msg.find("killed"), std::string::npos) << msg;
  EXPECT_TRUE(eventually([] { return raympi::detail::gcs_counters()["actor_restarts"] >= 1; }));
}

TEST_P(ActorLife, FactoryThatThrowsLeavesTheActorDeadWithItsMessage) {
  int key = fresh_key() + (GetParam() ? 100000 : 0);
  auto c = raympi::actor(make_flaky).resource(tag(), 0.001).remote(key, 1);
  std::string msg = died_message(c.task(&Counter::increment).remote());
  EXPECT_NE(msg.find("flaky factory failure #1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("runtime_error"), std::string::npos) << msg;
}

TEST_P(ActorLife, FactoryCrashesAreRetriedUpToMaxRestarts) {
  int key = fresh_key() + (GetParam() ? 100000 : 0);
  auto c = raympi::actor(make_flaky).resource(tag(), 0.001).max_restarts(2).remote(key, 2);
  EXPECT_EQ(raympi::get(c.task(&Counter::increment).remote()), 101);
}

TEST_P(ActorLife, NamedActorFoundFromATaskOnAnotherNode) {
  std::string name = "named-counter-" + std::to_string(fresh_key()) + (GetParam() ? "-o" : "-d");
  {
    auto c = raympi::actor(make_counter).name(name).resource(tag(), 0.001).remote(5);
    EXPECT_EQ(raympi::get(c.task(&Counter::increment).remote()), 6);
  }  // every handle dropped: a named actor lives on
  auto same = raympi::get_actor<Counter>(name);
  ASSERT_TRUE(same.has_value());
  EXPECT_EQ(raympi::get(same->task(&Counter::increment).remote()), 7);
  // From a task on the other node.
  EXPECT_EQ(raympi::get(on_node(increment_named, other_rank()).remote(name)), 8);
  EXPECT_EQ(raympi::get(on_node(increment_named, driver_rank()).remote(name)), 9);
  EXPECT_FALSE(raympi::get_actor<Counter>(name + "-nope").has_value());
  EXPECT_THROW(raympi::actor(make_counter).name(name).remote(0), raympi::Error);  // duplicate
  EXPECT_THROW(raympi::get_actor<Tracked>(name), raympi::Error);                  // wrong class
  same->kill();
  EXPECT_FALSE(raympi::get_actor<Counter>(name).has_value());  // kill releases the name
  auto again = raympi::actor(make_counter).name(name).resource(tag(), 0.001).remote(0);
  EXPECT_EQ(raympi::get(again.task(&Counter::increment).remote()), 1);
  again.kill();
}

TEST_P(ActorLife, DestroyedOnItsNodeWhenTheLastHandleGoes) {
  int destroyed = raympi::get(on_node(tracked_destroyed, target()).remote());
  std::size_t hosted = stats_on(target()).actors_hosted;
  ObjectRef<int> pending;
  {
    auto a = raympi::actor(make_tracked).resource(tag(), 0.001).remote();
    EXPECT_EQ(raympi::get(a.task(&Tracked::ping).remote()), 1);
    pending = a.task(&Tracked::ping).remote();  // in flight when the handle goes
  }
  EXPECT_EQ(raympi::get(pending), 1);
  EXPECT_TRUE(eventually([&] { return raympi::get(on_node(tracked_destroyed, target()).remote()) == destroyed + 1; }))
      << "the destructor did not run on rank " << target();
  EXPECT_TRUE(eventually([&] { return stats_on(target()).actors_hosted <= hosted; }));
}

TEST_P(ActorLife, CallersThatAreGoneAreForgotten) {
  // Each task is a caller with its own call sequence; the actor must not keep
  // one record per task that ever called it.
  auto c = raympi::actor(make_counter).resource(tag(), 0.001).remote(0);
  std::vector<ObjectRef<int>> calls;
  for (int i = 0; i < 60; ++i) calls.push_back(raympi::task(increment_once).remote(c));
  raympi::get(calls);
  EXPECT_EQ(raympi::get(c.task(&Counter::increment).remote()), 61);
  // Left: the driver's own route, and at most a worker thread's process-wide one per node.
  EXPECT_TRUE(eventually([&] { return stats_on(target()).actor_callers <= 3; }))
      << stats_on(target()).actor_callers << " callers still tracked";
}

TEST_P(ActorLife, ActorsCallActorsThroughHandles) {
  auto c = raympi::actor(make_counter).resource(tag(), 0.001).remote(0);
  auto r = raympi::actor(make_relay).resource(node_tag(driver_rank()), 0.001).remote(c);
  EXPECT_EQ(raympi::get(r.task(&Relay::bump).remote()), 1);
  EXPECT_EQ(raympi::get(r.task(&Relay::bump).remote()), 2);
  EXPECT_EQ(raympi::get(c.task(&Counter::increment).remote()), 3);
}

TEST_P(ActorLife, InfeasibleDemandFailsItsCalls) {
  auto c = raympi::actor(make_counter).num_gpus(64).remote(0);
  EXPECT_THROW(raympi::get(c.task(&Counter::increment).remote()), raympi::InfeasibleError);
}

// What n idle actors cost the rank that hosts them: heap bytes in use per actor.
// Where the driver shares that process (its node's actors, or any actor at
// np 1 and 3) its handles and routes count too, and at np 1 the GCS's table.
struct IdleCost {
  double bytes_each;
  double limit;
  std::string where;
};
IdleCost idle_cost(int rank, long heap_before, long heap_after, int n) {
  const bool alone = rank != driver_rank();
  return {double(heap_after - heap_before) / n, alone ? 2048.0 : 3072.0,
          alone ? "the node alone" : "the node, the driver's handles" + std::string(world_size() == 1 ? " and the GCS" : "")};
}

TEST_P(ActorLife, ThousandActorsAliveAtOnceEachWithItsOwnState) {
  const int n = 1000;
  long rss_before = raympi::get(on_node(rss_kib, target()).remote());
  long heap_before = raympi::get(on_node(heap_bytes, target()).remote());
  std::vector<ActorHandle<Counter>> actors;
  actors.reserve(n);
  for (int i = 0; i < n; ++i) actors.push_back(raympi::actor(make_counter).resource(tag(), 0.0001).remote(i * 10));
  std::vector<ObjectRef<int>> refs;
  for (auto& a : actors) refs.push_back(a.task(&Counter::increment).remote());
  auto got = raympi::get(refs);
  for (int i = 0; i < n; ++i) ASSERT_EQ(got[std::size_t(i)], i * 10 + 1) << "actor " << i;
  refs.clear();
  for (auto& a : actors) refs.push_back(a.task(&Counter::increment).remote());
  got = raympi::get(refs);
  for (int i = 0; i < n; ++i) ASSERT_EQ(got[std::size_t(i)], i * 10 + 2) << "actor " << i;
  refs.clear();
  long rss_after = raympi::get(on_node(rss_kib, target()).remote());
  IdleCost cost = idle_cost(target(), heap_before, raympi::get(on_node(heap_bytes, target()).remote()), n);
  std::printf("[ figure ] %d idle actors on rank %d: %.0f heap bytes per actor (%s); RSS %ld -> %ld KiB\n", n,
              target(), cost.bytes_each, cost.where.c_str(), rss_before, rss_after);
  EXPECT_LE(cost.bytes_each, cost.limit) << "memory per idle actor on " << cost.where;
  // Nodes report to the GCS's actor table in batches: it catches up shortly.
  EXPECT_TRUE(eventually([&] { return raympi::detail::gcs_counters()["actors_alive"] >= std::uint64_t(n); }));
  std::size_t hosted = stats_on(target()).actors_hosted;
  EXPECT_GE(hosted, std::size_t(n));
  actors.clear();
  EXPECT_TRUE(eventually([&] { return stats_on(target()).actors_hosted + n <= hosted; }, 30))
      << "the actors were not destroyed after their handles went";
}

TEST(ActorPlacement, GoesWhereACpuIsFreeWhenTheDriversNodeIsFull) {
  if (world_size() < 4) GTEST_SKIP() << "needs two node ranks (mpiexec -n 4)";
  GateGuard gates;
  std::vector<ObjectRef<int>> blockers;
  for (int i = 0; i < 4; ++i) blockers.push_back(on_node(gate_wait, driver_rank()).num_cpus(1).remote(gates.add()));
  // Wait until the driver's node reports its 4 CPUs taken.
  ASSERT_TRUE(eventually([&] { return available_on(driver_rank(), "CPU") < 0.5; }));
  auto c = raympi::actor(make_counter).remote(0);  // 1 CPU to place it: only the other node has one
  EXPECT_EQ(raympi::get(c.task(&Counter::rank).remote()), other_rank());
  gates.open_all();
  raympi::get(blockers);
}

// Actors the GCS knows as alive or dead: it only grows while actors are made
// (an actor of an earlier test that dies moves from one to the other).
std::uint64_t actors_built() {
  auto c = raympi::detail::gcs_counters();
  return c["actors_alive"] + c["actors_dead"];
}

TEST(ActorScale, HundredThousandActorsOnOneNode) {
  // Issue 14: 100,000 idle actors on one node, created within 2 s. num_cpus(0):
  // an actor that holds no CPU needs none to be placed either; a sliver of
  // "node:<rank>" keeps them all on the driver's node. Created = the GCS
  // counts them all alive (a node reports an actor once its factory ran).
  const int n = 100000;
  const int node = driver_rank();
  const long rss_before = raympi::get(on_node(rss_kib, node).remote());
  const long heap_before = raympi::get(on_node(heap_bytes, node).remote());
  const std::size_t hosted_before = stats_on(node).actors_hosted;
  const std::uint64_t built_before = actors_built();
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<ActorHandle<Idle>> actors;
  actors.reserve(n);
  for (int i = 0; i < n; ++i)
    actors.push_back(raympi::actor(make_idle).num_cpus(0).resource(node_tag(node), 1e-6).remote());
  const double submitted = seconds_since(t0);
  ASSERT_TRUE(eventually([&] { return actors_built() >= built_before + n; }, 60)) << "not all actors were built";
  const double created = seconds_since(t0);
  // Every one of them works.
  const auto t1 = std::chrono::steady_clock::now();
  std::vector<ObjectRef<int>> pings;
  pings.reserve(n);
  for (auto& a : actors) pings.push_back(a.task(&Idle::ping).remote());
  int answered = 0;
  for (int v : raympi::get(pings)) answered += v;
  const double called = seconds_since(t1);
  pings.clear();
  EXPECT_EQ(answered, n) << "every actor answers its call";
  const long rss_idle = raympi::get(on_node(rss_kib, node).remote());
  const long threads = raympi::get(on_node(threads_here, node).remote());
  const long actor_threads = raympi::get(on_node(actor_threads_here, node).remote());
  IdleCost cost = idle_cost(node, heap_before, raympi::get(on_node(heap_bytes, node).remote()), n);
  std::printf("[ figure ] %d actors on rank %d: handles made in %.2f s, all built in %.2f s, one call on each in "
              "%.2f s; %.0f heap bytes per idle actor (%s), RSS %ld -> %ld KiB (%.2f KiB each); %ld actor threads "
              "(%ld in the process)\n",
              n, node, submitted, created, called, cost.bytes_each, cost.where.c_str(), rss_before, rss_idle,
              double(rss_idle - rss_before) / n, actor_threads, threads);
  EXPECT_GE(stats_on(node).actors_hosted, hosted_before + n) << "they all live on the driver's node";
  EXPECT_LE(created, 2.0) << "100,000 actors must be created within 2 s";
  EXPECT_LE(cost.bytes_each, cost.limit) << "memory per idle actor on " << cost.where;
  EXPECT_LE(actor_threads, 64) << "idle actors must not hold a thread each";
  actors.clear();
  EXPECT_TRUE(eventually([&] { return stats_on(node).actors_hosted <= hosted_before; }, 30))
      << "the actors were not destroyed after their handles went";
  // The node reports what they held back to the GCS (later tests compare to it).
  EXPECT_TRUE(eventually([&] { return available_on(node, node_tag(node)) > 0.999; }, 30));
}

INSTANTIATE_TEST_SUITE_P(Placement, ActorLife, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "OtherNode" : "DriverNode"; });

}  // namespace
