// LocalScheduler (libraympi/scheduler/local_scheduler.hpp) on its own: a
// ResourceSet, an Executor lambda, and hand-made Task objects. No
// raympi::init, no MPI.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "scheduler/local_scheduler.hpp"
#include "scheduler/resources.hpp"
#include "scheduler/task.hpp"
#include "component_support.hpp"

namespace {

using component_test::eventually;
using component_test::Gate;
using component_test::bytes_of;

using namespace std::chrono_literals;
using raympi::detail::LocalScheduler;
using raympi::detail::ObjectId;
using raympi::detail::ResourceDemand;
using raympi::detail::ResourceSet;
using raympi::detail::Task;
using raympi::detail::TaskPtr;

// ---------------------------------------------------------------------------
// The only place that fills a Task: the scheduler reads id and demand (its
// queue key) and writes gpu_ids / keeps_gpus.
struct Need {
  double cpu = 1;
  double gpu = 0;
  std::vector<std::pair<std::string, double>> custom = {};
};

void set_demand(Task& t, const ResourceDemand& d) { t.demand = d; }

TaskPtr make_task(std::uint64_t n, Need need = {}) {
  ResourceDemand d;
  d.cpu = need.cpu;
  d.gpu = need.gpu;
  for (auto& [name, amount] : need.custom) d.set(name, amount);
  auto t = std::make_shared<Task>();
  t->id = ObjectId::make(0, n);
  set_demand(*t, d);
  return t;
}

ResourceDemand demand(Need need) { return make_task(0, std::move(need))->demand; }

ResourceSet resources(double cpu, double gpu = 0, std::map<std::string, double> custom = {}) {
  ResourceSet r;
  r.cpu = cpu;
  r.gpu = gpu;
  r.custom = std::move(custom);
  return r;
}

std::uint64_t num(const TaskPtr& t) { return t->id.value & (ObjectId::kActorBit - 1); }

// What the executor saw, and per-task behaviour (a gate to wait on, an action).
struct Recorder {
  std::mutex mu;
  std::vector<std::uint64_t> started, finished;
  std::map<std::uint64_t, std::vector<int>> gpu_ids;
  std::set<std::thread::id> threads;
  std::map<std::uint64_t, std::shared_ptr<Gate>> gates;
  std::map<std::uint64_t, std::function<void(const TaskPtr&)>> actions;

  std::shared_ptr<Gate> gate(std::uint64_t n) {
    std::lock_guard lk(mu);
    auto& g = gates[n];
    if (!g) g = std::make_shared<Gate>();
    return g;
  }
  void on(std::uint64_t n, std::function<void(const TaskPtr&)> f) {
    std::lock_guard lk(mu);
    actions[n] = std::move(f);
  }
  void operator()(const TaskPtr& t) {
    std::shared_ptr<Gate> g;
    std::function<void(const TaskPtr&)> action;
    {
      std::lock_guard lk(mu);
      started.push_back(num(t));
      gpu_ids[num(t)] = t->gpu_ids;
      threads.insert(std::this_thread::get_id());
      if (auto it = gates.find(num(t)); it != gates.end()) g = it->second;
      if (auto it = actions.find(num(t)); it != actions.end()) action = it->second;
    }
    if (action) action(t);
    if (g) g->wait();
    std::lock_guard lk(mu);
    finished.push_back(num(t));
  }
  std::size_t started_count() {
    std::lock_guard lk(mu);
    return started.size();
  }
  std::size_t finished_count() {
    std::lock_guard lk(mu);
    return finished.size();
  }
  bool has_started(std::uint64_t n) {
    std::lock_guard lk(mu);
    return std::find(started.begin(), started.end(), n) != started.end();
  }
  bool has_finished(std::uint64_t n) {
    std::lock_guard lk(mu);
    return std::find(finished.begin(), finished.end(), n) != finished.end();
  }
  std::vector<int> ids_of(std::uint64_t n) {
    std::lock_guard lk(mu);
    return gpu_ids[n];
  }
};

// A scheduler whose executor is the recorder; gates are opened at the end so
// that stop() never waits on a task the test forgot.
struct Fixture {
  explicit Fixture(ResourceSet total, int spin_us = 0, LocalScheduler::ThreadStart on_start = {})
      : sched(std::move(total), spin_us, [this](const TaskPtr& t) { rec(t); }, std::move(on_start)) {}
  ~Fixture() {
    open_all();
    sched.stop();
  }
  void open_all() {
    std::vector<std::shared_ptr<Gate>> gs;
    {
      std::lock_guard lk(rec.mu);
      for (auto& [n, g] : rec.gates) gs.push_back(g);
    }
    for (auto& g : gs) g->open();
  }
  double available(const std::string& what) { return sched.load().available[what]; }

  Recorder rec;
  LocalScheduler sched;
};

// Gives another thread time to do what it should not do (a bounded pause
// before asserting that something did NOT happen).
void settle() { std::this_thread::sleep_for(100ms); }

// ---------------------------------------------------------------------------

TEST(LocalScheduler, RunsTasksOnWorkerThreads) {
  Fixture f(resources(2));
  f.sched.start();
  for (std::uint64_t i = 1; i <= 20; ++i) f.sched.enqueue(make_task(i));
  ASSERT_TRUE(eventually([&] { return f.sched.load().finished == 20; }));
  EXPECT_EQ(f.rec.finished_count(), 20u);
  {
    std::lock_guard lk(f.rec.mu);
    EXPECT_FALSE(f.rec.threads.count(std::this_thread::get_id())) << "tasks run on workers, not on the enqueuing thread";
    std::set<std::uint64_t> ran(f.rec.started.begin(), f.rec.started.end());
    EXPECT_EQ(ran.size(), 20u) << "each task runs exactly once";
  }
  auto load = f.sched.load();
  EXPECT_EQ(load.queued, 0u);
  EXPECT_EQ(load.running, 0u);
  EXPECT_DOUBLE_EQ(load.available["CPU"], 2.0) << "resources come back after the tasks";
  EXPECT_DOUBLE_EQ(load.available["GPU"], 0.0);
}

TEST(LocalScheduler, SpinningWorkersRunTasksToo) {
  Fixture f(resources(1), /*spin_us=*/200);
  f.sched.start();
  for (std::uint64_t i = 1; i <= 5; ++i) f.sched.enqueue(make_task(i));
  ASSERT_TRUE(eventually([&] { return f.rec.finished_count() == 5; }));
  std::lock_guard lk(f.rec.mu);
  EXPECT_EQ(f.rec.started, (std::vector<std::uint64_t>{1, 2, 3, 4, 5})) << "one CPU: FIFO, one at a time";
}

TEST(LocalScheduler, BaseWorkersStartThroughTheHookWithTheirSlots) {
  std::mutex mu;
  std::multiset<int> slots;
  Fixture f(resources(3), 0, [&](int slot) {
    std::lock_guard lk(mu);
    slots.insert(slot);
  });
  EXPECT_EQ(LocalScheduler::base_workers_for(3), 3);
  EXPECT_EQ(LocalScheduler::base_workers_for(2.5), 3);
  EXPECT_EQ(LocalScheduler::base_workers_for(0), 1);
  f.sched.start();
  ASSERT_TRUE(eventually([&] {
    std::lock_guard lk(mu);
    return slots.size() >= 3;
  }));
  std::lock_guard lk(mu);
  EXPECT_EQ(slots, (std::multiset<int>{0, 1, 2}));
}

TEST(LocalScheduler, ATaskNeedingMoreCpusThanFreeWaitsForThemToReturn) {
  Fixture f(resources(2));
  f.sched.start();
  auto ga = f.rec.gate(1), gb = f.rec.gate(2);
  f.sched.enqueue(make_task(1));
  f.sched.enqueue(make_task(2));
  ASSERT_TRUE(eventually([&] { return f.rec.started_count() == 2; }));
  EXPECT_DOUBLE_EQ(f.available("CPU"), 0.0);

  f.sched.enqueue(make_task(3, {.cpu = 2}));
  settle();
  EXPECT_FALSE(f.rec.has_started(3)) << "task 3 needs 2 CPUs, none is free";
  EXPECT_EQ(f.sched.load().queued, 1u);
  EXPECT_EQ(f.sched.load().running, 2u);

  ga->open();
  ASSERT_TRUE(eventually([&] { return f.rec.has_finished(1); }));
  settle();
  EXPECT_FALSE(f.rec.has_started(3)) << "1 CPU free, task 3 needs 2";
  EXPECT_DOUBLE_EQ(f.available("CPU"), 1.0);

  gb->open();
  ASSERT_TRUE(eventually([&] { return f.rec.has_finished(3); })) << "task 3 never ran after both CPUs returned";
  EXPECT_DOUBLE_EQ(f.available("CPU"), 2.0);
  EXPECT_EQ(f.sched.load().finished, 3u);
}

TEST(LocalScheduler, ASmallTaskIsNotHeldUpByABigOneThatDoesNotFit) {
  Fixture f(resources(2));
  f.sched.start();
  auto ga = f.rec.gate(1);
  f.sched.enqueue(make_task(1));
  ASSERT_TRUE(eventually([&] { return f.rec.has_started(1); }));
  f.sched.enqueue(make_task(2, {.cpu = 2}));  // does not fit while 1 runs
  f.sched.enqueue(make_task(3));              // fits in the free CPU
  ASSERT_TRUE(eventually([&] { return f.rec.has_finished(3); }));
  EXPECT_FALSE(f.rec.has_started(2));
  ga->open();
  ASSERT_TRUE(eventually([&] { return f.rec.has_finished(2); }));
}

TEST(LocalScheduler, ReadyTasksRunFifoWithinAndAcrossShapes) {
  Fixture f(resources(1, 0, {{"x", 1}}));
  f.sched.start();
  auto g = f.rec.gate(1);
  f.sched.enqueue(make_task(1));
  ASSERT_TRUE(eventually([&] { return f.rec.has_started(1); }));
  // Two shapes of the same size: CPU=1, and CPU=1 with x=0.5.
  f.sched.enqueue(make_task(2));
  f.sched.enqueue(make_task(3, {.custom = {{"x", 0.5}}}));
  f.sched.enqueue(make_task(4));
  f.sched.enqueue(make_task(5, {.custom = {{"x", 0.5}}}));
  EXPECT_EQ(f.sched.load().queued, 4u);
  g->open();
  ASSERT_TRUE(eventually([&] { return f.rec.finished_count() == 5; }));
  std::lock_guard lk(f.rec.mu);
  EXPECT_EQ(f.rec.started, (std::vector<std::uint64_t>{1, 2, 3, 4, 5}));
}

TEST(LocalScheduler, CanRunNowNeedsFreeResourcesAndNoBacklog) {
  Fixture f(resources(2, 0, {{"disk", 1}}));
  f.sched.start();
  EXPECT_TRUE(f.sched.can_run_now(demand({.cpu = 1})));
  EXPECT_TRUE(f.sched.can_run_now(demand({.cpu = 2})));
  EXPECT_FALSE(f.sched.can_run_now(demand({.cpu = 3})));
  EXPECT_FALSE(f.sched.can_run_now(demand({.cpu = 1, .gpu = 1}))) << "no GPU here";
  EXPECT_TRUE(f.sched.can_run_now(demand({.cpu = 1, .custom = {{"disk", 1}}})));
  EXPECT_FALSE(f.sched.can_run_now(demand({.cpu = 1, .custom = {{"disk", 2}}})));
  EXPECT_FALSE(f.sched.can_run_now(demand({.cpu = 1, .custom = {{"tape", 1}}})));

  auto g = f.rec.gate(1);
  f.sched.enqueue(make_task(1));
  ASSERT_TRUE(eventually([&] { return f.rec.has_started(1); }));
  EXPECT_TRUE(f.sched.can_run_now(demand({.cpu = 1})));
  EXPECT_FALSE(f.sched.can_run_now(demand({.cpu = 2}))) << "one of two CPUs is taken";

  // A backlog (a task that cannot run now) makes every demand wait behind it.
  f.sched.enqueue(make_task(2, {.cpu = 2}));
  EXPECT_EQ(f.sched.load().queued, 1u);
  EXPECT_FALSE(f.sched.can_run_now(demand({.cpu = 1}))) << "a queued task is ahead";
  g->open();
  ASSERT_TRUE(eventually([&] { return f.rec.has_finished(2); }));
  EXPECT_TRUE(f.sched.can_run_now(demand({.cpu = 2})));
}

TEST(LocalScheduler, TakeQueuedHandsOutATaskAtEitherEndThatFits) {
  // Workers wait in the thread-start hook, so nothing is picked behind our back.
  Gate workers;
  Fixture f(resources(4, 1), 0, [&](int) { workers.wait(); });
  struct OpenWorkers {
    Gate& g;
    ~OpenWorkers() { g.open(); }
  } open_workers{workers};  // before ~Fixture joins them
  f.sched.start();
  for (std::uint64_t i = 1; i <= 3; ++i) f.sched.enqueue(make_task(i));
  f.sched.enqueue(make_task(4, {.cpu = 1, .gpu = 1}));
  f.sched.enqueue(make_task(5, {.cpu = 8}));
  EXPECT_EQ(f.sched.load().queued, 5u);

  EXPECT_EQ(f.sched.take_queued(ObjectId::make(0, 2)), nullptr) << "only the ends of a queue";
  EXPECT_EQ(f.sched.take_queued(ObjectId::make(0, 4)), nullptr) << "GPU tasks are left to the workers";
  EXPECT_EQ(f.sched.take_queued(ObjectId::make(0, 5)), nullptr) << "does not fit";
  EXPECT_EQ(f.sched.take_queued(ObjectId::make(0, 42)), nullptr) << "unknown";

  TaskPtr back = f.sched.take_queued(ObjectId::make(0, 3));
  ASSERT_TRUE(back);
  EXPECT_EQ(num(back), 3u);
  TaskPtr front = f.sched.take_queued(ObjectId::make(0, 1));
  ASSERT_TRUE(front);
  EXPECT_EQ(num(front), 1u);
  EXPECT_EQ(f.sched.take_queued(ObjectId::make(0, 1)), nullptr) << "taken once only";

  auto load = f.sched.load();
  EXPECT_EQ(load.queued, 3u);
  EXPECT_EQ(load.running, 2u);
  EXPECT_DOUBLE_EQ(load.available["CPU"], 2.0) << "take_queued takes the task's resources";

  f.sched.finished_inline(back->demand);
  f.sched.finished_inline(front->demand);
  load = f.sched.load();
  EXPECT_EQ(load.running, 0u);
  EXPECT_EQ(load.finished, 2u);
  EXPECT_DOUBLE_EQ(load.available["CPU"], 4.0);

  workers.open();
  ASSERT_TRUE(eventually([&] { return f.rec.has_finished(2) && f.rec.has_finished(4); }));
  settle();
  EXPECT_FALSE(f.rec.has_started(1)) << "a task taken inline must not also run on a worker";
  EXPECT_FALSE(f.rec.has_started(3));
  EXPECT_FALSE(f.rec.has_started(5));
  auto dropped = f.sched.stop();
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(num(dropped[0]), 5u);
}

TEST(LocalScheduler, BlockLendsTheCpuAndUnblockTakesItBack) {
  Fixture f(resources(1));
  f.sched.start();
  auto parent_done = f.rec.gate(1);
  auto child = f.rec.gate(2);
  std::atomic<bool> child_ran_while_blocked{false};
  std::atomic<double> cpu_after_unblock{99};
  f.rec.on(1, [&](const TaskPtr& t) {
    f.sched.block(t->demand);  // as a get/wait does
    child_ran_while_blocked = eventually([&] { return f.rec.has_started(2); });
    f.sched.unblock(t->demand);
    cpu_after_unblock = f.available("CPU");
  });
  f.sched.enqueue(make_task(1));
  ASSERT_TRUE(eventually([&] { return f.rec.has_started(1); }));
  f.sched.enqueue(make_task(2));
  ASSERT_TRUE(eventually([&] { return f.rec.has_started(2); })) << "the blocked task's CPU was not lent";
  ASSERT_TRUE(eventually([&] { return cpu_after_unblock.load() != 99; }));
  EXPECT_TRUE(child_ran_while_blocked.load());
  // Both run on one CPU now: unblock may overdraw until one finishes.
  EXPECT_DOUBLE_EQ(cpu_after_unblock.load(), -1.0);
  EXPECT_EQ(f.sched.load().running, 2u);
  child->open();
  parent_done->open();
  ASSERT_TRUE(eventually([&] { return f.sched.load().finished == 2; }));
  EXPECT_DOUBLE_EQ(f.available("CPU"), 1.0) << "block/unblock must leave the accounting balanced";
}

TEST(LocalScheduler, GpuIdsAreHandedOutAndReturned) {
  Fixture f(resources(8, 2));
  f.sched.start();
  auto g1 = f.rec.gate(1), g2 = f.rec.gate(2), g3 = f.rec.gate(3);
  f.sched.enqueue(make_task(1, {.gpu = 1}));
  f.sched.enqueue(make_task(2, {.gpu = 1}));
  ASSERT_TRUE(eventually([&] { return f.rec.started_count() == 2; }));
  auto a = f.rec.ids_of(1), b = f.rec.ids_of(2);
  ASSERT_EQ(a.size(), 1u);
  ASSERT_EQ(b.size(), 1u);
  EXPECT_NE(a[0], b[0]) << "two whole-GPU tasks share a GPU id";
  EXPECT_EQ(std::set<int>({a[0], b[0]}), (std::set<int>{0, 1}));
  EXPECT_DOUBLE_EQ(f.available("GPU"), 0.0);

  f.sched.enqueue(make_task(3, {.gpu = 1}));
  settle();
  EXPECT_FALSE(f.rec.has_started(3)) << "no GPU is free";
  EXPECT_FALSE(f.sched.can_run_now(demand({.gpu = 1})));
  g1->open();
  ASSERT_TRUE(eventually([&] { return f.rec.has_started(3); }));
  EXPECT_EQ(f.rec.ids_of(3), a) << "task 3 gets the id task 1 gave back";
  g2->open();
  g3->open();
  ASSERT_TRUE(eventually([&] { return f.sched.load().running == 0 && f.rec.finished_count() == 3; }));
  EXPECT_DOUBLE_EQ(f.available("GPU"), 2.0);

  // Fractions share one id; a 2-GPU task gets both ids once they are free.
  auto h1 = f.rec.gate(11), h2 = f.rec.gate(12);
  f.sched.enqueue(make_task(11, {.gpu = 0.5}));
  f.sched.enqueue(make_task(12, {.gpu = 0.5}));
  ASSERT_TRUE(eventually([&] { return f.rec.has_started(11) && f.rec.has_started(12); }));
  ASSERT_EQ(f.rec.ids_of(11).size(), 1u);
  EXPECT_EQ(f.rec.ids_of(11), f.rec.ids_of(12)) << "two halves are packed onto one GPU";
  f.sched.enqueue(make_task(13, {.gpu = 2}));
  settle();
  EXPECT_FALSE(f.rec.has_started(13)) << "one GPU is partly used";
  h1->open();
  h2->open();
  ASSERT_TRUE(eventually([&] { return f.rec.has_finished(13); }));
  EXPECT_EQ(f.rec.ids_of(13), (std::vector<int>{0, 1}));
  EXPECT_DOUBLE_EQ(f.available("GPU"), 2.0);
}

TEST(LocalScheduler, AnActorCreationKeepsItsGpuUntilReleased) {
  Fixture f(resources(2, 1));
  f.sched.start();
  ResourceDemand holds = demand({.cpu = 0, .gpu = 1});  // what the actor holds for its life
  std::vector<int> creation_ids;
  f.rec.on(1, [&](const TaskPtr& t) {
    f.sched.hold(holds, *t);
    creation_ids = t->gpu_ids;
  });
  f.sched.enqueue(make_task(1, {.cpu = 1, .gpu = 1}));
  ASSERT_TRUE(eventually([&] { return f.sched.load().finished == 1; }));
  ASSERT_EQ(creation_ids, (std::vector<int>{0}));
  EXPECT_DOUBLE_EQ(f.available("GPU"), 0.0) << "the actor holds the GPU";
  EXPECT_DOUBLE_EQ(f.available("CPU"), 2.0) << "the placement CPU came back";

  f.sched.enqueue(make_task(2, {.gpu = 1}));
  settle();
  EXPECT_FALSE(f.rec.has_started(2)) << "the actor's GPU id was handed out again";
  f.sched.release(holds, creation_ids);  // the actor died
  ASSERT_TRUE(eventually([&] { return f.rec.has_finished(2); }));
  EXPECT_EQ(f.rec.ids_of(2), (std::vector<int>{0}));
  EXPECT_DOUBLE_EQ(f.available("GPU"), 1.0);
}

TEST(LocalScheduler, StopReturnsTheQueuedTasksThatNeverRan) {
  Fixture f(resources(1));
  f.sched.start();
  auto g = f.rec.gate(1);
  f.sched.enqueue(make_task(1));
  ASSERT_TRUE(eventually([&] { return f.rec.has_started(1); }));
  f.sched.enqueue(make_task(2));
  f.sched.enqueue(make_task(3, {.cpu = 0.5}));
  f.sched.enqueue(make_task(4));
  ASSERT_EQ(f.sched.load().queued, 3u);

  auto stopping = std::async(std::launch::async, [&] { return f.sched.stop(); });
  // stop() takes the queue at once, then waits for the running task.
  ASSERT_TRUE(eventually([&] { return f.sched.load().queued == 0; }));
  EXPECT_EQ(stopping.wait_for(50ms), std::future_status::timeout) << "stop() did not wait for the running task";
  g->open();
  ASSERT_EQ(stopping.wait_for(10s), std::future_status::ready) << "stop() did not join the workers";
  auto dropped = stopping.get();
  std::vector<std::uint64_t> ids;
  for (auto& t : dropped) ids.push_back(num(t));
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::uint64_t>{2, 3, 4}));
  std::lock_guard lk(f.rec.mu);
  EXPECT_EQ(f.rec.started, (std::vector<std::uint64_t>{1})) << "queued tasks ran during stop";
}

TEST(LocalScheduler, LoadCountsQueuedRunningAndFinished) {
  Fixture f(resources(2, 0, {{"disk", 3}}));
  f.sched.start();
  auto load = f.sched.load();
  EXPECT_EQ(load.queued, 0u);
  EXPECT_EQ(load.running, 0u);
  EXPECT_EQ(load.finished, 0u);
  EXPECT_DOUBLE_EQ(load.available["CPU"], 2.0);
  EXPECT_DOUBLE_EQ(load.available["disk"], 3.0);
  EXPECT_DOUBLE_EQ(f.sched.total().cpu, 2.0);

  f.sched.load_changed = false;
  auto g1 = f.rec.gate(1), g2 = f.rec.gate(2);
  f.sched.enqueue(make_task(1, {.cpu = 1, .custom = {{"disk", 2}}}));
  EXPECT_TRUE(f.sched.load_changed.load()) << "enqueue marks the load changed";
  f.sched.enqueue(make_task(2));
  f.sched.enqueue(make_task(3, {.cpu = 1, .custom = {{"disk", 2}}}));  // waits for disk
  ASSERT_TRUE(eventually([&] { return f.sched.load().running == 2; }));
  load = f.sched.load();
  EXPECT_EQ(load.queued, 1u);
  EXPECT_EQ(load.finished, 0u);
  EXPECT_DOUBLE_EQ(load.available["CPU"], 0.0);
  EXPECT_DOUBLE_EQ(load.available["disk"], 1.0);

  f.sched.load_changed = false;
  g1->open();
  ASSERT_TRUE(eventually([&] { return f.rec.has_finished(3); }));
  EXPECT_TRUE(f.sched.load_changed.load());
  g2->open();
  ASSERT_TRUE(eventually([&] { return f.sched.load().finished == 3; }));
  load = f.sched.load();
  EXPECT_EQ(load.queued, 0u);
  EXPECT_EQ(load.running, 0u);
  EXPECT_DOUBLE_EQ(load.available["CPU"], 2.0);
  EXPECT_DOUBLE_EQ(load.available["disk"], 3.0);
}

}  // namespace
