// ActorHost (libraympi/actors/actor_host.hpp) on a real ActorPool with
// hand-written hooks: the build, the mailbox order, kill with and without
// restart, release, caller_done and stop; then the pool: many actors on few
// threads, blocked calls that need a new thread, idle threads that exit, the
// thread cap. No raympi::init, no MPI.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "actors/actor_host.hpp"
#include "actors/actor_pool.hpp"
#include "scheduler/task.hpp"
#include "component_support.hpp"

namespace {

using component_test::eventually;
using component_test::Gate;
using component_test::bytes_of;

using namespace std::chrono_literals;
using raympi::detail::ActorHost;
using raympi::detail::ActorPool;
using raympi::detail::ObjectId;
using raympi::detail::Task;
using raympi::detail::TaskKind;
using raympi::detail::TaskPtr;
using Phase = ActorHost::Phase;

// ---------------------------------------------------------------------------
// The only places that fill a Task: ActorHost reads the creation's id and
// max_restarts, and a call's caller and call_seq.
void set_max_restarts(Task& t, int n) { t.actor_spec.max_restarts = n; }

TaskPtr make_creation(int max_restarts, std::uint64_t actor = 1) {
  auto t = std::make_shared<Task>();
  t->id = ObjectId::make_actor(0, actor);
  t->kind = TaskKind::actor_create;
  set_max_restarts(*t, max_restarts);
  return t;
}

TaskPtr make_call(std::uint64_t caller, std::uint64_t seq) {
  auto t = std::make_shared<Task>();
  t->id = ObjectId::make(0, caller * 1000 + seq + 1);
  t->kind = TaskKind::actor_call;
  t->actor = ObjectId::make_actor(0, 1);
  t->caller = caller;
  t->call_seq = seq;
  return t;
}

struct CallKey {
  std::uint64_t caller, seq;
  friend bool operator==(const CallKey&, const CallKey&) = default;
  friend std::ostream& operator<<(std::ostream& os, const CallKey& k) {
    return os << "(" << k.caller << "," << k.seq << ")";
  }
};
CallKey key(const TaskPtr& t) { return {t->caller, t->call_seq}; }

void settle() { std::this_thread::sleep_for(100ms); }

struct Log;
// The actor instance: knows which build made it and where it is destroyed.
struct Instance {
  Instance(std::shared_ptr<Log> log, int number) : log(std::move(log)), number(number) {}
  ~Instance();
  std::shared_ptr<Log> log;
  int number;
};

// Everything the hooks saw. Shared with the hooks (the actor's thread can
// outlive the test body by a moment).
struct Log {
  std::mutex mu;
  int builds = 0, throws_left = 0;
  std::vector<std::thread::id> build_threads, destroy_threads, started_threads;  // started: pool threads
  std::vector<int> destroyed;
  std::vector<std::pair<CallKey, int>> ran;  // call, instance number
  std::vector<std::pair<CallKey, std::string>> failed;
  std::vector<std::pair<Phase, std::string>> phases;
  int exited = 0;
  std::map<std::uint64_t, std::shared_ptr<Gate>> gates;  // by caller * 1000 + seq
  std::map<std::uint64_t, std::function<void()>> actions;  // run by the call, before its gate; same key
  std::atomic<int> in_flight{0}, most_in_flight{0};       // calls running at once (all actors of the log)
  std::vector<void*> selves;
  std::vector<void*> instances;

  std::shared_ptr<Gate> gate(std::uint64_t caller, std::uint64_t seq) {
    std::lock_guard lk(mu);
    auto& g = gates[caller * 1000 + seq];
    if (!g) g = std::make_shared<Gate>();
    return g;
  }
  void open_all() {
    std::lock_guard lk(mu);
    for (auto& [k, g] : gates) g->open();
  }
  template <class F>
  auto read(F f) {
    std::lock_guard lk(mu);
    return f();
  }
  std::vector<CallKey> ran_keys() {
    std::lock_guard lk(mu);
    std::vector<CallKey> out;
    for (auto& [k, n] : ran) out.push_back(k);
    return out;
  }
  std::vector<CallKey> failed_keys() {
    std::lock_guard lk(mu);
    std::vector<CallKey> out;
    for (auto& [k, why] : failed) out.push_back(k);
    return out;
  }
  bool saw_phase(Phase p) {
    std::lock_guard lk(mu);
    return std::any_of(phases.begin(), phases.end(), [&](auto& e) { return e.first == p; });
  }
};

Instance::~Instance() {
  std::lock_guard lk(log->mu);
  log->destroyed.push_back(number);
  log->destroy_threads.push_back(std::this_thread::get_id());
}

std::shared_ptr<const ActorHost::Hooks> hooks_for(const std::shared_ptr<Log>& log) {
  auto hooks = std::make_shared<ActorHost::Hooks>();
  ActorHost::Hooks& h = *hooks;
  h.build = [log](ActorHost&) -> std::shared_ptr<void> {
    int number;
    {
      std::lock_guard lk(log->mu);
      log->build_threads.push_back(std::this_thread::get_id());
      if (log->throws_left > 0) {
        --log->throws_left;
        throw std::runtime_error("factory boom");
      }
      number = ++log->builds;
    }
    auto inst = std::make_shared<Instance>(log, number);
    std::lock_guard lk(log->mu);
    log->instances.push_back(inst.get());
    return inst;
  };
  h.run = [log](ActorHost&, const TaskPtr& t, void* self) {
    int now = ++log->in_flight;
    for (int most = log->most_in_flight.load(); now > most && !log->most_in_flight.compare_exchange_weak(most, now);) {
    }
    std::shared_ptr<Gate> g;
    std::function<void()> action;
    {
      std::lock_guard lk(log->mu);
      log->ran.emplace_back(key(t), static_cast<Instance*>(self)->number);
      log->selves.push_back(self);
      const std::uint64_t k = t->caller * 1000 + t->call_seq;
      if (auto it = log->gates.find(k); it != log->gates.end()) g = it->second;
      if (auto it = log->actions.find(k); it != log->actions.end()) action = it->second;
    }
    if (action) action();
    if (g) g->wait();
    std::this_thread::yield();  // widen the window in which an overlapping call would show
    --log->in_flight;
  };
  h.fail = [log](ActorHost&, const TaskPtr& t, const std::string& why) {
    std::lock_guard lk(log->mu);
    log->failed.emplace_back(key(t), why);
  };
  h.changed = [log](ActorHost&, Phase p, const std::string& message) {
    std::lock_guard lk(log->mu);
    log->phases.emplace_back(p, message);
  };
  h.exited = [log](ActorHost&) {
    std::lock_guard lk(log->mu);
    ++log->exited;
  };
  return hooks;
}

ActorPool::Options pool_options(const std::shared_ptr<Log>& log, int spin_us) {
  ActorPool::Options o;
  o.spin_us = spin_us;
  o.thread_started = [log] {
    std::lock_guard lk(log->mu);
    log->started_threads.push_back(std::this_thread::get_id());
  };
  return o;
}

// A host on a pool of its own, and its log; the destructor opens every gate
// and stops the host and the pool so that no thread is left behind.
struct Actor {
  explicit Actor(int max_restarts, int spin_us = 0, int factory_throws = 0)
      : log(std::make_shared<Log>()), hooks(hooks_for(log)), pool(std::make_unique<ActorPool>(pool_options(log, spin_us))) {
    log->throws_left = factory_throws;
    host = std::make_shared<ActorHost>(make_creation(max_restarts), *pool, *hooks);
  }
  ~Actor() {
    log->open_all();
    host->stop();
    pool->stop();
  }
  bool on_a_pool_thread(std::thread::id id) {
    return log->read([&] {
      return std::find(log->started_threads.begin(), log->started_threads.end(), id) != log->started_threads.end();
    });
  }
  void start_alive() {
    host->start();
    ASSERT_TRUE(eventually([&] { return log->saw_phase(Phase::alive); })) << "the actor was never built";
  }
  std::size_t ran() { return log->read([&] { return log->ran.size(); }); }
  std::size_t failed() { return log->read([&] { return log->failed.size(); }); }

  std::shared_ptr<Log> log;
  std::shared_ptr<const ActorHost::Hooks> hooks;
  std::unique_ptr<ActorPool> pool;
  std::shared_ptr<ActorHost> host;
};

// ---------------------------------------------------------------------------

TEST(ActorHost, BuildsTheInstanceOnAPoolThreadAndRunsCallsOnIt) {
  Actor a(0);
  a.start_alive();
  a.host->deliver(make_call(1, 0));
  ASSERT_TRUE(eventually([&] { return a.ran() == 1; }));
  int builds = 0;
  void *self = nullptr, *inst = nullptr;
  std::thread::id build_thread;
  a.log->read([&] {
    builds = a.log->builds;
    self = a.log->selves.at(0);
    inst = a.log->instances.at(0);
    build_thread = a.log->build_threads.at(0);
  });
  EXPECT_EQ(builds, 1);
  EXPECT_EQ(self, inst) << "calls run on the instance build returned";
  EXPECT_NE(build_thread, std::this_thread::get_id());
  EXPECT_TRUE(a.on_a_pool_thread(build_thread)) << "built on a pool thread, started through thread_started";
  EXPECT_EQ(a.host->restarts(), 0);
  EXPECT_FALSE(a.host->exited());
  EXPECT_EQ(a.host->id(), ObjectId::make_actor(0, 1));

  a.host->stop();
  EXPECT_TRUE(a.host->exited());
  a.log->read([&] {
    EXPECT_EQ(a.log->exited, 1);
    ASSERT_EQ(a.log->destroyed, (std::vector<int>{1}));
    EXPECT_NE(a.log->destroy_threads.at(0), std::this_thread::get_id()) << "the instance is destroyed on the pool";
    ASSERT_FALSE(a.log->phases.empty());
    EXPECT_EQ(a.log->phases.back().first, Phase::dead);
    EXPECT_TRUE(a.log->failed.empty());
  });
}

TEST(ActorHost, CallsOfOneCallerRunInSequenceOrderWhateverTheArrivalOrder) {
  Actor a(0);
  a.start_alive();
  a.host->deliver(make_call(7, 3));
  a.host->deliver(make_call(7, 1));
  a.host->deliver(make_call(8, 1));
  settle();
  EXPECT_EQ(a.ran(), 0u) << "calls ran before their predecessors arrived";
  EXPECT_EQ(a.host->callers(), 2u);

  a.host->deliver(make_call(7, 0));
  ASSERT_TRUE(eventually([&] { return a.ran() == 2; }));
  settle();
  EXPECT_EQ(a.log->ran_keys(), (std::vector<CallKey>{{7, 0}, {7, 1}})) << "call 3 must wait for call 2";

  a.host->deliver(make_call(8, 0));
  a.host->deliver(make_call(7, 2));
  ASSERT_TRUE(eventually([&] { return a.ran() == 6; }));
  auto ran = a.log->ran_keys();
  auto order_of = [&](std::uint64_t caller) {
    std::vector<std::uint64_t> seqs;
    for (auto& k : ran)
      if (k.caller == caller) seqs.push_back(k.seq);
    return seqs;
  };
  EXPECT_EQ(order_of(7), (std::vector<std::uint64_t>{0, 1, 2, 3}));
  EXPECT_EQ(order_of(8), (std::vector<std::uint64_t>{0, 1}));
  EXPECT_EQ(a.failed(), 0u);
}

TEST(ActorHost, CallsDeliveredBeforeStartRunOnceBuilt) {
  Actor a(0, /*spin_us=*/100);
  a.host->deliver(make_call(1, 1));
  a.host->deliver(make_call(1, 0));
  a.host->start();
  ASSERT_TRUE(eventually([&] { return a.ran() == 2; }));
  EXPECT_EQ(a.log->ran_keys(), (std::vector<CallKey>{{1, 0}, {1, 1}}));
}

TEST(ActorHost, KillWithRestartRebuildsTheInstance) {
  Actor a(2);
  a.start_alive();
  auto g0 = a.log->gate(1, 0);
  a.host->deliver(make_call(1, 0));
  ASSERT_TRUE(eventually([&] { return a.ran() == 1; }));
  a.host->deliver(make_call(1, 1));  // queued behind the running call: in flight at the crash
  const auto gen = a.host->generation();

  a.host->kill(true, "node lost the actor");
  EXPECT_NE(a.host->generation(), gen) << "a kill must change the generation";
  ASSERT_TRUE(eventually([&] { return a.failed() == 1; }));
  a.log->read([&] {
    EXPECT_EQ(a.log->failed[0].first, (CallKey{1, 1}));
    EXPECT_EQ(a.log->failed[0].second, "node lost the actor");
  });
  a.host->deliver(make_call(1, 2));  // after the crash: waits for the rebuilt instance
  g0->open();
  ASSERT_TRUE(eventually([&] { return a.log->read([&] { return a.log->builds; }) == 2; }))
      << "the actor was not rebuilt";
  ASSERT_TRUE(eventually([&] { return a.ran() == 2; }));
  EXPECT_EQ(a.host->restarts(), 1);
  a.log->read([&] {
    EXPECT_EQ(a.log->ran[0], std::make_pair(CallKey{1, 0}, 1));
    EXPECT_EQ(a.log->ran[1], std::make_pair(CallKey{1, 2}, 2)) << "the call after the crash runs on the new instance";
    EXPECT_EQ(a.log->destroyed, (std::vector<int>{1})) << "the old instance is destroyed before the rebuild";
    EXPECT_NE(a.log->destroy_threads.at(0), std::this_thread::get_id()) << "destroyed on the pool, not by kill()";
    std::vector<Phase> seen;
    for (auto& [p, m] : a.log->phases) seen.push_back(p);
    EXPECT_EQ(seen, (std::vector<Phase>{Phase::alive, Phase::restarting, Phase::alive}));
    EXPECT_EQ(a.log->phases[1].second, "node lost the actor");
  });
  EXPECT_FALSE(a.host->exited());
}

TEST(ActorHost, KillWithRestartBeyondMaxRestartsIsFinal) {
  Actor a(1);
  a.start_alive();
  a.host->kill(true, "crash one");
  ASSERT_TRUE(eventually([&] { return a.log->read([&] { return a.log->builds; }) == 2; }));
  ASSERT_TRUE(eventually([&] {
    return a.log->read([&] { return a.log->phases.size() == 3 && a.log->phases.back().first == Phase::alive; });
  }));
  const auto gen = a.host->generation();
  a.host->kill(true, "crash two");
  EXPECT_NE(a.host->generation(), gen);
  ASSERT_TRUE(eventually([&] { return a.host->exited(); })) << "no restart left: the actor should retire";
  EXPECT_EQ(a.host->restarts(), 1);
  EXPECT_EQ(a.host->death_reason(), "crash two");
  a.log->read([&] {
    EXPECT_EQ(a.log->builds, 2);
    EXPECT_EQ(a.log->phases.back().first, Phase::dead);
    EXPECT_EQ(a.log->phases.back().second, "crash two");
    EXPECT_EQ(a.log->destroyed, (std::vector<int>{1, 2}));
    EXPECT_EQ(a.log->exited, 1);
  });
}

TEST(ActorHost, KillWithoutRestartFailsQueuedCallsThroughTheFailHook) {
  Actor a(5);  // restarts left, but kill(false) is final anyway
  a.start_alive();
  auto g0 = a.log->gate(1, 0);
  a.host->deliver(make_call(1, 0));
  ASSERT_TRUE(eventually([&] { return a.ran() == 1; }));
  a.host->deliver(make_call(1, 1));
  a.host->deliver(make_call(1, 2));
  a.host->deliver(make_call(2, 4));  // early: waits for caller 2's calls 0..3
  const auto gen = a.host->generation();

  a.host->kill(false, "killed by the user");
  EXPECT_NE(a.host->generation(), gen);
  EXPECT_EQ(a.host->death_reason(), "killed by the user");
  auto failed = a.log->read([&] { return a.log->failed; });
  std::vector<CallKey> keys;
  for (auto& [k, why] : failed) {
    keys.push_back(k);
    EXPECT_EQ(why, "killed by the user");
  }
  std::sort(keys.begin(), keys.end(), [](auto& x, auto& y) { return std::tie(x.caller, x.seq) < std::tie(y.caller, y.seq); });
  EXPECT_EQ(keys, (std::vector<CallKey>{{1, 1}, {1, 2}, {2, 4}})) << "kill(false) fails queued and early calls at once";
  EXPECT_EQ(a.host->callers(), 0u);

  // Calls that arrive after death fail at once with the death reason.
  a.host->deliver(make_call(3, 0));
  a.log->read([&] {
    ASSERT_EQ(a.log->failed.size(), 4u);
    EXPECT_EQ(a.log->failed.back().first, (CallKey{3, 0}));
    EXPECT_EQ(a.log->failed.back().second, "killed by the user");
  });

  g0->open();  // the running call ends; the thread retires
  ASSERT_TRUE(eventually([&] { return a.host->exited(); }));
  EXPECT_EQ(a.host->restarts(), 0);
  EXPECT_EQ(a.ran(), 1u);
  a.log->read([&] {
    EXPECT_EQ(a.log->builds, 1) << "kill(false) must not rebuild";
    EXPECT_EQ(a.log->phases.back(), std::make_pair(Phase::dead, std::string("killed by the user")));
    EXPECT_EQ(a.log->destroyed, (std::vector<int>{1}));
  });
  a.host->kill(true, "again");  // a dead actor ignores kills
  EXPECT_EQ(a.host->death_reason(), "killed by the user");
}

TEST(ActorHost, AThrowingFactoryIsRetriedWithinMaxRestarts) {
  Actor a(1, 0, /*factory_throws=*/1);
  a.start_alive();
  EXPECT_EQ(a.host->restarts(), 1);
  a.log->read([&] {
    ASSERT_GE(a.log->phases.size(), 2u);
    EXPECT_EQ(a.log->phases[0].first, Phase::restarting);
    EXPECT_NE(a.log->phases[0].second.find("factory boom"), std::string::npos) << a.log->phases[0].second;
  });
  a.host->deliver(make_call(1, 0));
  ASSERT_TRUE(eventually([&] { return a.ran() == 1; }));
}

TEST(ActorHost, AFactoryThatKeepsThrowingKillsTheActor) {
  Actor a(0, 0, /*factory_throws=*/1);
  a.host->deliver(make_call(1, 0));
  a.host->deliver(make_call(1, 2));  // early
  a.host->start();
  ASSERT_TRUE(eventually([&] { return a.host->exited(); }));
  std::string why = a.host->death_reason();
  EXPECT_NE(why.find("factory boom"), std::string::npos) << why;
  EXPECT_NE(why.find("runtime_error"), std::string::npos) << "names the exception type: " << why;
  EXPECT_EQ(a.ran(), 0u);
  auto keys = a.log->failed_keys();
  std::sort(keys.begin(), keys.end(), [](auto& x, auto& y) { return x.seq < y.seq; });
  EXPECT_EQ(keys, (std::vector<CallKey>{{1, 0}, {1, 2}}));
  EXPECT_TRUE(a.log->saw_phase(Phase::dead));
  EXPECT_FALSE(a.log->saw_phase(Phase::alive));
}

TEST(ActorHost, ReleaseRetiresAfterTheQueuedCalls) {
  Actor a(0);
  a.start_alive();
  auto g0 = a.log->gate(1, 0);
  a.host->deliver(make_call(1, 0));
  ASSERT_TRUE(eventually([&] { return a.ran() == 1; }));
  a.host->deliver(make_call(1, 1));
  a.host->deliver(make_call(1, 2));
  a.host->release();
  EXPECT_TRUE(a.host->released());
  EXPECT_FALSE(a.host->exited());
  g0->open();
  ASSERT_TRUE(eventually([&] { return a.host->exited(); })) << "a released actor did not retire";
  EXPECT_EQ(a.log->ran_keys(), (std::vector<CallKey>{{1, 0}, {1, 1}, {1, 2}})) << "queued calls still run";
  EXPECT_EQ(a.failed(), 0u);
  a.log->read([&] {
    EXPECT_EQ(a.log->phases.back().first, Phase::dead);
    EXPECT_EQ(a.log->destroyed, (std::vector<int>{1}));
    EXPECT_EQ(a.log->exited, 1);
  });
  EXPECT_FALSE(a.host->death_reason().empty());
}

TEST(ActorHost, AnIdleActorRetiresOnRelease) {
  Actor a(0, /*spin_us=*/50);
  a.start_alive();
  settle();  // let the pool thread go to sleep
  a.host->release();
  ASSERT_TRUE(eventually([&] { return a.host->exited(); })) << "release did not wake the sleeping actor";
}

TEST(ActorHost, CallerDoneForgetsTheCaller) {
  Actor a(0);
  a.start_alive();
  a.host->deliver(make_call(5, 0));
  a.host->deliver(make_call(5, 1));
  ASSERT_TRUE(eventually([&] { return a.ran() == 2; }));
  EXPECT_EQ(a.host->callers(), 1u);
  a.host->caller_done(5, 2);  // all its calls were delivered
  EXPECT_EQ(a.host->callers(), 0u);

  // Announced before its calls arrive: forgotten once the last one is delivered.
  a.host->caller_done(6, 3);
  EXPECT_EQ(a.host->callers(), 1u);
  a.host->deliver(make_call(6, 1));
  a.host->deliver(make_call(6, 0));
  EXPECT_EQ(a.host->callers(), 1u);
  a.host->deliver(make_call(6, 2));
  EXPECT_EQ(a.host->callers(), 0u);
  ASSERT_TRUE(eventually([&] { return a.ran() == 5; }));

  a.host->caller_done(9, 0);  // sent nothing at all: nothing to track
  EXPECT_EQ(a.host->callers(), 0u);

  a.host->deliver(make_call(4, 0));
  a.host->caller_done(4, 3);  // two still on their way
  EXPECT_EQ(a.host->callers(), 1u);
  a.host->deliver(make_call(4, 1));
  a.host->deliver(make_call(4, 2));
  EXPECT_EQ(a.host->callers(), 0u);
  ASSERT_TRUE(eventually([&] { return a.ran() == 8; }));
}

TEST(ActorHost, StopRetiresTheActorAndDropsWaitingCallsSilently) {
  Actor a(0);
  a.start_alive();
  a.host->deliver(make_call(1, 0));
  ASSERT_TRUE(eventually([&] { return a.ran() == 1; }));
  a.host->deliver(make_call(1, 2));  // early, never runs
  a.host->stop();
  EXPECT_TRUE(a.host->exited()) << "stop() returned before the actor retired";
  a.log->read([&] {
    EXPECT_EQ(a.log->exited, 1);
    EXPECT_EQ(a.log->destroyed, (std::vector<int>{1}));
    EXPECT_TRUE(a.log->failed.empty()) << "nobody waits for results at shutdown";
    ASSERT_FALSE(a.log->phases.empty());
    EXPECT_EQ(a.log->phases.back().first, Phase::dead);
  });
  EXPECT_EQ(a.ran(), 1u);
  a.host->stop();  // twice: returns at once
  EXPECT_EQ(a.log->read([&] { return a.log->exited; }), 1);
}

TEST(ActorHost, StopWaitsForTheRunningCall) {
  Actor a(0);
  a.start_alive();
  auto g = a.log->gate(1, 0);
  a.host->deliver(make_call(1, 0));
  ASSERT_TRUE(eventually([&] { return a.ran() == 1; }));
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    a.host->stop();
    stopped = true;
  });
  settle();
  EXPECT_FALSE(stopped.load()) << "stop() returned while a call was still running";
  g->open();
  stopper.join();
  EXPECT_TRUE(stopped.load());
  EXPECT_TRUE(a.host->exited());
}

// ---------------------------------------------------------------------------
// The pool under many actors. Actor i is called by caller i (keys stay unique).

struct Fleet {
  Fleet(std::size_t n, ActorPool::Options o) : log(std::make_shared<Log>()), hooks(hooks_for(log)) {
    o.thread_started = pool_options(log, 0).thread_started;
    pool = std::make_unique<ActorPool>(std::move(o));
    for (std::size_t i = 0; i < n; ++i)
      hosts.push_back(std::make_shared<ActorHost>(make_creation(0, i + 1), *pool, *hooks));
  }
  ~Fleet() {
    log->open_all();
    for (auto& h : hosts) h->request_stop();
    for (auto& h : hosts) h->wait_exited();
    pool->stop();
  }
  void start_all() {
    for (auto& h : hosts) h->start();
  }
  void call(std::size_t actor, std::uint64_t seq) { hosts.at(actor)->deliver(make_call(actor, seq)); }
  std::size_t ran() { return log->read([&] { return log->ran.size(); }); }
  std::size_t builds() { return std::size_t(log->read([&] { return log->builds; })); }

  std::shared_ptr<Log> log;
  std::shared_ptr<const ActorHost::Hooks> hooks;
  std::unique_ptr<ActorPool> pool;
  std::vector<std::shared_ptr<ActorHost>> hosts;
};

ActorPool::Options small_pool(std::size_t core, std::size_t max, std::chrono::milliseconds idle_exit = 3000ms) {
  ActorPool::Options o;
  o.core_threads = core;
  o.max_threads = max;
  o.idle_exit = idle_exit;
  return o;
}

TEST(ActorPool, TenThousandActorsRunOnAFewThreads) {
  const std::size_t n = 10000;
  Fleet f(n, small_pool(2, 4096));
  f.start_all();
  ASSERT_TRUE(eventually([&] { return f.builds() == n; })) << f.builds() << " of " << n << " built";
  for (std::size_t i = 0; i < n; ++i) f.call(i, 0);
  ASSERT_TRUE(eventually([&] { return f.ran() == n; })) << f.ran() << " of " << n << " calls ran";
  std::size_t peak = f.pool->peak_threads();
  std::printf("[ figure ] %zu actors built and called once: at most %zu pool threads\n", n, peak);
  EXPECT_LT(peak, n / 10) << "actors must share threads, not have one each";
  EXPECT_GE(f.pool->threads(), 1u);
}

TEST(ActorPool, ABlockedCallGetsANewThreadSoOthersStillRun) {
  // Actor 0's call waits for actor 1's call; with one core thread busy (and
  // blocked), actor 1 only runs on a new thread.
  Fleet f(2, small_pool(1, 64));
  f.start_all();
  ASSERT_TRUE(eventually([&] { return f.builds() == 2; }));
  auto blocked = f.log->gate(0, 0);
  f.log->read([&] { f.log->actions[1 * 1000 + 0] = [blocked] { blocked->open(); }; });
  f.call(0, 0);
  ASSERT_TRUE(eventually([&] { return f.ran() == 1; }));
  f.call(1, 0);
  ASSERT_TRUE(eventually([&] { return f.ran() == 2; })) << "actor 1 never ran while actor 0's call blocked";
  EXPECT_GE(f.pool->peak_threads(), 2u);
  EXPECT_EQ(f.log->most_in_flight.load(), 2) << "the two calls ran at once, on two threads";
}

TEST(ActorPool, ThreadsBeyondTheCoreExitWhenIdle) {
  Fleet f(4, small_pool(1, 64, 100ms));
  f.start_all();
  ASSERT_TRUE(eventually([&] { return f.builds() == 4; }));
  std::vector<std::shared_ptr<Gate>> gates;
  for (std::size_t i = 0; i < 4; ++i) {
    gates.push_back(f.log->gate(i, 0));
    f.call(i, 0);
  }
  ASSERT_TRUE(eventually([&] { return f.ran() == 4; }));
  EXPECT_GE(f.pool->threads(), 4u) << "four blocked calls hold four threads";
  for (auto& g : gates) g->open();
  ASSERT_TRUE(eventually([&] { return f.pool->threads() == 1; }))
      << f.pool->threads() << " threads left; the core is 1 and the others idle for 100 ms";
  f.call(0, 1);  // the core thread still serves
  ASSERT_TRUE(eventually([&] { return f.ran() == 5; }));
}

TEST(ActorPool, AtTheCapRunnableActorsWaitForAThread) {
  Fleet f(2, small_pool(1, 1));
  f.start_all();
  ASSERT_TRUE(eventually([&] { return f.builds() == 2; }));
  auto g = f.log->gate(0, 0);
  f.call(0, 0);
  ASSERT_TRUE(eventually([&] { return f.ran() == 1; }));
  f.call(1, 0);
  settle();
  EXPECT_EQ(f.ran(), 1u) << "a second thread started beyond max_threads";
  EXPECT_EQ(f.pool->threads(), 1u);
  g->open();
  ASSERT_TRUE(eventually([&] { return f.ran() == 2; })) << "the waiting actor never ran";
}

TEST(ActorPool, ABusyActorLetsOthersGoBetweenTurns) {
  // One thread: actor 0 has 1,000 calls queued, actor 1 gets one call after
  // them; actor 1 must not wait for all of actor 0's calls.
  Fleet f(2, small_pool(1, 1));
  f.start_all();
  ASSERT_TRUE(eventually([&] { return f.builds() == 2; }));
  auto g = f.log->gate(0, 0);  // holds the only thread while the queue fills
  for (std::uint64_t s = 0; s < 1000; ++s) f.call(0, s);
  ASSERT_TRUE(eventually([&] { return f.ran() == 1; }));
  f.call(1, 0);
  g->open();
  ASSERT_TRUE(eventually([&] { return f.ran() == 1001; }));
  auto ran = f.log->ran_keys();
  auto at = std::find(ran.begin(), ran.end(), CallKey{1, 0}) - ran.begin();
  EXPECT_LE(at, 2 * ActorHost::kCallsPerTurn) << "actor 1 waited behind " << at << " calls of actor 0";
}

TEST(ActorPool, CallsOfOneActorNeverOverlapWhateverTheThreads) {
  Fleet f(1, small_pool(4, 64));
  f.start_all();
  ASSERT_TRUE(eventually([&] { return f.builds() == 1; }));
  std::vector<std::thread> callers;
  for (std::uint64_t c = 0; c < 4; ++c)
    callers.emplace_back([&, c] {
      for (std::uint64_t s = 0; s < 500; ++s) f.hosts[0]->deliver(make_call(100 + c, s));
    });
  for (auto& t : callers) t.join();
  ASSERT_TRUE(eventually([&] { return f.ran() == 2000; }));
  EXPECT_EQ(f.log->most_in_flight.load(), 1) << "two calls of one actor ran at once";
  auto ran = f.log->ran_keys();
  for (std::uint64_t c = 100; c < 104; ++c) {
    std::uint64_t next = 0;
    for (auto& k : ran)
      if (k.caller == c) EXPECT_EQ(k.seq, next++) << "caller " << c;
  }
}

TEST(ActorPool, StopWaitsForEveryThread) {
  auto log = std::make_shared<Log>();
  auto hooks = hooks_for(log);
  ActorPool pool(pool_options(log, 50));
  auto host = std::make_shared<ActorHost>(make_creation(0), pool, *hooks);
  host->start();
  ASSERT_TRUE(eventually([&] { return log->saw_phase(Phase::alive); }));
  host->stop();
  pool.stop();
  EXPECT_EQ(pool.threads(), 0u);
  pool.stop();  // twice: returns at once
}

}  // namespace
