// Integration: actor semantics — state, call order, const/void methods,
// ObjectRef arguments, handles passed to and returned from tasks, errors
// that fail one call, actors running in parallel. Each runs with the actor
// on the driver's node and (at NP 4) on the other node.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
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
  int add(int k) { n += k; return n; }
  void reset() { n = 0; }
  int value() const { return n; }
  int fail_if(int k) {
    if (k == n) throw std::invalid_argument("k equals the count");
    return n;
  }
  int wait_on_gate(int key) { return gate_wait(key); }
  int not_registered() { return -1; }
  int call_myself(ActorHandle<Counter> me) { return raympi::get(me.task(&Counter::increment).remote()); }
  int n;
};
std::unique_ptr<Counter> make_counter(int start) { return std::make_unique<Counter>(start); }
Counter* make_raw_counter(int start) { return new Counter(start); }

// Keeps every value it was given, in arrival order.
struct Log {
  std::size_t append(int v) { seen.push_back(v); return seen.size(); }
  std::vector<int> all() const { return seen; }
  std::vector<int> seen;
};
std::unique_ptr<Log> make_log() { return std::make_unique<Log>(); }

int twice(int x) { return 2 * x; }
// A task that calls the actor through a handle it was passed (async calls, one get).
int hammer(ActorHandle<Counter> c, int times) {
  std::vector<ObjectRef<int>> refs;
  for (int i = 0; i < times; ++i) refs.push_back(c.task(&Counter::increment).remote());
  raympi::get(refs);
  return raympi::current_rank();
}
// A task that creates an actor and hands it back.
ActorHandle<Counter> make_and_return(int start) { return raympi::actor(make_counter).remote(start); }
// Handles inside a container.
int sum_values(std::vector<ActorHandle<Counter>> cs) {
  std::vector<ObjectRef<int>> refs;
  for (auto& c : cs) refs.push_back(c.task(&Counter::value).remote());
  int s = 0;
  for (int v : raympi::get(refs)) s += v;
  return s;
}

}  // namespace

RAYMPI_REMOTE(make_counter, make_raw_counter, &Counter::increment, &Counter::add, &Counter::reset, &Counter::value,
              &Counter::fail_if, &Counter::wait_on_gate, &Counter::call_myself, make_log, &Log::append, &Log::all, twice, hammer,
              make_and_return, sum_values);

namespace {

// Parameter: the rank the actor lives on.
class Actors : public ::testing::TestWithParam<bool> {
 protected:
  int target() const { return GetParam() ? other_rank() : driver_rank(); }
  ActorHandle<Counter> counter(int start) {
    return raympi::actor(make_counter).resource(node_tag(target()), 0.001).remote(start);
  }
};

TEST_P(Actors, KeepsStateAcrossCalls) {
  auto c = counter(10);
  EXPECT_EQ(raympi::get(c.task(&Counter::increment).remote()), 11);
  EXPECT_EQ(raympi::get(c.task(&Counter::add).remote(5)), 16);
  EXPECT_EQ(raympi::get(c.task(&Counter::value).remote()), 16);  // const method
  raympi::ObjectRef<void> done = c.task(&Counter::reset).remote();  // void method
  raympi::get(done);
  EXPECT_EQ(raympi::get(c.task(&Counter::value).remote()), 0);
}

TEST_P(Actors, RawPointerFactory) {
  auto c = raympi::actor(make_raw_counter).resource(node_tag(target()), 0.001).remote(41);
  EXPECT_EQ(raympi::get(c.task(&Counter::increment).remote()), 42);
}

TEST_P(Actors, ThousandCallsFromOneCallerRunInOrder) {
  auto log = raympi::actor(make_log).resource(node_tag(target()), 0.001).remote();
  std::vector<ObjectRef<std::size_t>> refs;
  for (int i = 0; i < 1000; ++i) refs.push_back(log.task(&Log::append).remote(i));
  auto sizes = raympi::get(refs);
  for (std::size_t i = 0; i < sizes.size(); ++i) ASSERT_EQ(sizes[i], i + 1);
  std::vector<int> want(1000);
  for (int i = 0; i < 1000; ++i) want[std::size_t(i)] = i;
  EXPECT_EQ(raympi::get(log.task(&Log::all).remote()), want);
}

TEST_P(Actors, OrderHoldsWhenEarlierCallsWaitForArguments) {
  // Call i waits for a task result when i is even; odd calls are ready at once.
  // Still, the actor sees 0, 1, 2, ... in the caller's order.
  auto log = raympi::actor(make_log).resource(node_tag(target()), 0.001).remote();
  std::vector<ObjectRef<std::size_t>> refs;
  for (int i = 0; i < 200; ++i) {
    if (i % 2 == 0) refs.push_back(log.task(&Log::append).remote(raympi::task(twice).remote(i / 2)));
    else refs.push_back(log.task(&Log::append).remote(i));
  }
  raympi::get(refs);
  std::vector<int> got = raympi::get(log.task(&Log::all).remote());
  ASSERT_EQ(got.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(got[std::size_t(i)], i) << "position " << i;
}

TEST_P(Actors, FourTasksHammerOneActorThroughPassedHandles) {
  auto c = counter(0);
  std::vector<ObjectRef<int>> tasks;
  for (int i = 0; i < 4; ++i) tasks.push_back(raympi::task(hammer).remote(c, 250));
  raympi::get(tasks);
  EXPECT_EQ(raympi::get(c.task(&Counter::value).remote()), 1000);
}

TEST_P(Actors, HandleReturnedFromATask) {
  ActorHandle<Counter> c = raympi::get(on_node(make_and_return, target()).remote(7));
  ASSERT_TRUE(c.valid());
  EXPECT_EQ(raympi::get(c.task(&Counter::increment).remote()), 8);
  EXPECT_EQ(raympi::get(c.task(&Counter::increment).remote()), 9);
}

TEST_P(Actors, HandlesInAContainerPassedToATask) {
  std::vector<ActorHandle<Counter>> cs;
  for (int i = 1; i <= 3; ++i) cs.push_back(counter(i * 10));
  EXPECT_EQ(raympi::get(raympi::task(sum_values).remote(cs)), 60);
}

TEST_P(Actors, ObjectRefArgumentsResolveLikeTaskArguments) {
  auto c = counter(1);
  ObjectRef<int> k = raympi::task(twice).remote(20);
  EXPECT_EQ(raympi::get(c.task(&Counter::add).remote(k)), 41);
  EXPECT_EQ(raympi::get(c.task(&Counter::add).remote(raympi::put(9))), 50);
}

TEST_P(Actors, AThrowingMethodFailsOnlyThatCall) {
  auto c = counter(3);
  auto bad = c.task(&Counter::fail_if).remote(3);
  try {
    raympi::get(bad);
    FAIL() << "expected TaskError";
  } catch (const raympi::TaskError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("Counter::fail_if"), std::string::npos) << what;
    EXPECT_NE(what.find("invalid_argument"), std::string::npos) << what;
    EXPECT_NE(what.find("k equals the count"), std::string::npos) << what;
  }
  EXPECT_EQ(raympi::get(c.task(&Counter::increment).remote()), 4);  // the actor lives on
}

TEST_P(Actors, DifferentActorsRunInParallel) {
  if (target() != driver_rank()) GTEST_SKIP() << "gates live in the driver's process";
  GateGuard gates;
  int key = gates.add();
  auto a = counter(0), b = counter(100);
  auto blocked = a.task(&Counter::wait_on_gate).remote(key);
  // b answers while a is stuck in a method: they do not share a thread.
  EXPECT_EQ(raympi::get(b.task(&Counter::increment).remote()), 101);
  auto ready = raympi::wait(std::vector<ObjectRef<int>>{blocked}, 1, std::chrono::milliseconds(0));
  EXPECT_TRUE(ready.ready.empty());
  gates.open_all();
  EXPECT_EQ(raympi::get(blocked), key);
}

TEST_P(Actors, HandlesInsideAStoredObject) {
  std::vector<ActorHandle<Counter>> cs{counter(1), counter(2)};
  ObjectRef<std::vector<ActorHandle<Counter>>> stored = raympi::put(cs);
  cs.clear();  // only the stored object holds the handles now
  EXPECT_EQ(raympi::get(raympi::task(sum_values).remote(stored)), 3);
  auto back = raympi::get(stored);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(raympi::get(back[1].task(&Counter::increment).remote()), 3);
}

TEST_P(Actors, WaitingForACallToItselfIsAnErrorNotAHang) {
  auto c = counter(5);
  try {
    raympi::get(c.task(&Counter::call_myself).remote(c));
    FAIL() << "expected TaskError";
  } catch (const raympi::TaskError& e) {
    EXPECT_NE(std::string(e.what()).find("one method at a time"), std::string::npos) << e.what();
  }
  // The refused call still ran after the method returned; the actor lives on.
  EXPECT_EQ(raympi::get(c.task(&Counter::increment).remote()), 7);
}

TEST_P(Actors, UnregisteredMethodIsAClearError) {
  auto c = counter(0);
  try {
    c.task(&Counter::not_registered);
    FAIL() << "expected raympi::Error";
  } catch (const raympi::Error& e) {
    EXPECT_NE(std::string(e.what()).find("RAYMPI_REMOTE(&"), std::string::npos) << e.what();
  }
}

INSTANTIATE_TEST_SUITE_P(Placement, Actors, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "OtherNode" : "DriverNode"; });

}  // namespace
