// Integration: raympi::cancel and raympi::cancel_requested. A task not yet
// started never runs (get throws TaskCancelledError, and so do the tasks
// depending on it); a running task sees cancel_requested() and either throws
// TaskCancelledError or returns (its result stands); recursive cancels reach
// the tasks it submitted, transitively, across nodes; a finished task is left
// alone; queued actor calls never run. Each runs with the work on the
// driver's node and (at NP 4) on the other node; at NP 4 a task still at the
// GS when cancelled is cancelled where the GS placed it.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <raympi/raympi.hpp>

#include "test_support.hpp"

namespace {

using raympi::ObjectRef;
using namespace raympi_test;
using Clock = std::chrono::steady_clock;

// Per-process facts a test reads back with a task pinned to the same node.
std::mutex g_mu;
std::map<int, int> g_runs;      // key -> times a task with that key started running
int note_run(int key) {
  std::lock_guard lk(g_mu);
  return ++g_runs[key];
}
int runs_of(int key) {
  std::lock_guard lk(g_mu);
  auto it = g_runs.find(key);
  return it == g_runs.end() ? 0 : it->second;
}

// Polls cancel_requested() until it holds (true) or `cap_ms` pass (false).
bool wait_for_cancel(int cap_ms) {
  const auto until = Clock::now() + std::chrono::milliseconds(cap_ms);
  while (Clock::now() < until) {
    if (raympi::cancel_requested()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return raympi::cancel_requested();
}

// Runs until cancelled (or cap_ms), then returns 1 if it saw the cancel: its result stands.
int poll_then_return(int key, int cap_ms) {
  note_run(key);
  return wait_for_cancel(cap_ms) ? 1 : 0;
}
// Runs until cancelled (or cap_ms), then gives up with TaskCancelledError.
int poll_then_throw(int key, int cap_ms) {
  note_run(key);
  if (wait_for_cancel(cap_ms)) throw raympi::TaskCancelledError("stopped early, as asked");
  return 0;
}
int count_run(int key, int x) {
  note_run(key);
  return x;
}
int twice(int x) { return 2 * x; }
// A chain of nested tasks, alternating between two ranks: the leaf polls for
// the cancel; every level returns what the leaf saw.
int chain(int key, int depth, int here, int there, int cap_ms) {
  if (depth == 0) return poll_then_return(key, cap_ms);
  return raympi::get(on_node(chain, there).remote(key, depth - 1, there, here, cap_ms));
}
bool cancel_requested_here() { return raympi::cancel_requested(); }

struct Worker {
  int calls = 0;
  int bump() { return ++calls; }
  int hold(int key, int cap_ms) { return poll_then_return(key, cap_ms); }
  int hold_then_throw(int key, int cap_ms) { return poll_then_throw(key, cap_ms); }
  int count() const { return calls; }
};
std::unique_ptr<Worker> make_worker() { return std::make_unique<Worker>(); }

}  // namespace

RAYMPI_REMOTE(runs_of, poll_then_return, poll_then_throw, count_run, twice, chain, cancel_requested_here, make_worker,
              &Worker::bump, &Worker::hold, &Worker::hold_then_throw, &Worker::count);

namespace {

constexpr int kCapMs = 60000;  // a task that never sees its cancel fails the test long before this

template <class T>
void expect_cancelled(const ObjectRef<T>& r, const std::string& text = {}) {
  try {
    raympi::get(r, std::chrono::seconds(30));
    ADD_FAILURE() << "expected raympi::TaskCancelledError";
  } catch (const raympi::TaskCancelledError& e) {
    if (!text.empty()) EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

// Parameter: the work runs on the other node (else on the driver's).
class Cancel : public ::testing::TestWithParam<bool> {
 protected:
  int target() const { return GetParam() ? other_rank() : driver_rank(); }
  int elsewhere() const { return GetParam() ? driver_rank() : other_rank(); }
  // Blocks until `key`'s task has started on the target (a pinned query needs a free CPU there).
  void await_start(int key, int rank) {
    ASSERT_TRUE(eventually([&] { return raympi::get(on_node(runs_of, rank).remote(key)) > 0; }, 30))
        << "task " << key << " never started on rank " << rank;
  }
};


TEST_P(Cancel, ATaskQueuedBehindBusyCpusNeverRunsAndFailsAtOnce) {
  const int busy = fresh_key(), victim = fresh_key();
  // Holds 3 of the target's 4 CPUs until cancelled; the victim (2 CPUs) queues
  // behind it, while 1-CPU tasks (the test's queries, dependants) still run.
  auto blocker = on_node(poll_then_return, target()).num_cpus(3).remote(busy, kCapMs);
  await_start(busy, target());
  auto queued = on_node(count_run, target()).num_cpus(2).remote(victim, 7);
  auto dependant = raympi::task(twice).remote(queued);
  const auto t0 = Clock::now();
  raympi::cancel(queued);
  expect_cancelled(queued, "never ran");
  EXPECT_LT(seconds_since(t0), 10.0) << "the queued task failed only when the CPUs freed up";
  expect_cancelled(dependant);                           // dependants fail with it
  expect_cancelled(raympi::task(twice).remote(queued));  // also those submitted after the cancel
  raympi::cancel(blocker);  // running: it sees the cancel and returns
  EXPECT_EQ(raympi::get(blocker, std::chrono::seconds(30)), 1) << "a running task that returns keeps its result";
  EXPECT_EQ(raympi::get(on_node(runs_of, target()).remote(victim)), 0) << "the cancelled task ran";
}

TEST_P(Cancel, ARunningTaskThatThrowsTaskCancelledErrorFailsWithIt) {
  const int key = fresh_key();
  auto r = on_node(poll_then_throw, target()).remote(key, kCapMs);
  await_start(key, target());
  raympi::cancel(r);
  expect_cancelled(r, "stopped early, as asked");
  expect_cancelled(raympi::task(twice).remote(r));
}

TEST_P(Cancel, ARunningTaskThatReturnsKeepsItsResult) {
  const int key = fresh_key();
  auto r = on_node(poll_then_return, target()).remote(key, kCapMs);
  await_start(key, target());
  raympi::cancel(r);
  EXPECT_EQ(raympi::get(r, std::chrono::seconds(30)), 1);
  EXPECT_EQ(raympi::get(raympi::task(twice).remote(r)), 2);  // its dependants run as usual
}

TEST_P(Cancel, RecursiveCancelReachesGrandchildrenOnEveryNode) {
  const int key = fresh_key();
  // chain -> chain -> leaf, alternating between the target and the other node.
  auto r = on_node(chain, target()).remote(key, 2, target(), elsewhere(), kCapMs);
  await_start(key, target());  // the leaf (depth 0) runs on the target again
  raympi::cancel(r);           // recursive by default
  EXPECT_EQ(raympi::get(r, std::chrono::seconds(30)), 1) << "the leaf never saw the cancel";
}

TEST_P(Cancel, NonRecursiveCancelLeavesTheChildrenRunning) {
  const int key = fresh_key();
  auto r = on_node(chain, target()).remote(key, 1, target(), target(), 1500);
  await_start(key, target());
  raympi::cancel(r, /*recursive=*/false);
  EXPECT_EQ(raympi::get(r, std::chrono::seconds(30)), 0) << "the child saw a cancel meant for its parent only";
}

TEST_P(Cancel, CancellingAFinishedTaskDoesNothing) {
  auto r = on_node(twice, target()).remote(21);
  EXPECT_EQ(raympi::get(r), 42);
  raympi::cancel(r);
  raympi::cancel(r, false);
  EXPECT_EQ(raympi::get(r), 42);
  EXPECT_EQ(raympi::get(raympi::task(twice).remote(r)), 84);
  auto p = raympi::put(5);  // a put object has no task: nothing to cancel
  raympi::cancel(p);
  EXPECT_EQ(raympi::get(p), 5);
}

TEST_P(Cancel, AQueuedActorCallNeverRunsAndTheActorGoesOn) {
  const int key = fresh_key();
  auto w = raympi::actor(make_worker).resource(node_tag(target()), 0.001).remote();
  EXPECT_EQ(raympi::get(w.task(&Worker::bump).remote()), 1);
  auto busy = w.task(&Worker::hold).remote(key, kCapMs);  // runs until cancelled
  auto queued = w.task(&Worker::bump).remote();           // waits behind it in the mailbox
  auto after = w.task(&Worker::bump).remote();
  await_start(key, target());
  raympi::cancel(queued);
  expect_cancelled(queued, "never ran");  // at once: taken out of the mailbox while `busy` still runs
  expect_cancelled(raympi::task(twice).remote(queued));
  raympi::cancel(busy);
  EXPECT_EQ(raympi::get(busy, std::chrono::seconds(30)), 1) << "a running call that returns keeps its result";
  EXPECT_EQ(raympi::get(after), 2) << "the cancelled call ran, or the calls after it did not";
  EXPECT_EQ(raympi::get(w.task(&Worker::count).remote()), 2);
}

TEST_P(Cancel, ARunningActorCallMayThrowTaskCancelledError) {
  const int key = fresh_key();
  auto w = raympi::actor(make_worker).resource(node_tag(target()), 0.001).remote();
  auto busy = w.task(&Worker::hold_then_throw).remote(key, kCapMs);
  await_start(key, target());
  raympi::cancel(busy);
  expect_cancelled(busy, "stopped early, as asked");
  EXPECT_EQ(raympi::get(w.task(&Worker::bump).remote()), 1);  // the actor lives on
}

INSTANTIATE_TEST_SUITE_P(Placement, Cancel, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? std::string("OtherNode") : std::string("DriverNode"); });

TEST(CancelPlacedByTheGs, ATaskCancelledBeforeTheGsSaidWhereNeverRuns) {
  if (world_size() < 4) GTEST_SKIP() << "needs two node ranks (mpiexec -n 4)";
  const int busy_a = fresh_key(), busy_b = fresh_key(), victim = fresh_key();
  // Both nodes busy: an unpinned task goes to the GS, which queues it on one of them.
  auto a = on_node(poll_then_return, driver_rank()).num_cpus(3).remote(busy_a, kCapMs);
  auto b = on_node(poll_then_return, other_rank()).num_cpus(3).remote(busy_b, kCapMs);
  ASSERT_TRUE(eventually([&] { return raympi::get(on_node(runs_of, driver_rank()).remote(busy_a)) > 0; }, 30));
  ASSERT_TRUE(eventually([&] { return raympi::get(on_node(runs_of, other_rank()).remote(busy_b)) > 0; }, 30));
  auto queued = raympi::task(count_run).num_cpus(2).remote(victim, 1);
  raympi::cancel(queued);  // most likely before the GS's task_placed reached this rank
  expect_cancelled(queued, "never ran");
  raympi::cancel(a);
  raympi::cancel(b);
  EXPECT_EQ(raympi::get(a), 1);
  EXPECT_EQ(raympi::get(b), 1);
  EXPECT_EQ(raympi::get(on_node(runs_of, driver_rank()).remote(victim)) +
                raympi::get(on_node(runs_of, other_rank()).remote(victim)),
            0);
}

TEST(CancelApi, CancelRequestedIsFalseOutsideACancelledTask) {
  EXPECT_FALSE(raympi::cancel_requested());  // the driver
  EXPECT_FALSE(raympi::get(raympi::task(cancel_requested_here).remote()));
}

TEST(CancelApi, AnEmptyRefIsAClearError) {
  ObjectRef<int> empty;
  EXPECT_THROW(raympi::cancel(empty), raympi::Error);
}

}  // namespace
