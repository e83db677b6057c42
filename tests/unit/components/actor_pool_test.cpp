// ActorPool (libraympi/actors/actor_pool.hpp) under many ActorHosts: many
// actors on few threads, blocked calls that need a new thread, idle threads
// that exit, the thread cap, threaded actors (max_concurrency) and taking a
// queued call out. No raympi::init, no MPI.
#include "actor_host_support.hpp"

namespace {

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

// threaded actors (max_concurrency) and cancelling a queued call.
TEST(ActorPool, AThreadedActorRunsUpToMaxConcurrencyCallsAtOnce) {
  Fleet f(1, small_pool(1, 64));
  f.hosts[0]->creation()->actor_spec.max_concurrency = 3;
  f.start_all();
  ASSERT_TRUE(eventually([&] { return f.builds() == 1; }));
  std::vector<std::shared_ptr<component_test::Gate>> gates;
  for (std::uint64_t s = 0; s < 5; ++s) gates.push_back(f.log->gate(0, s));
  for (std::uint64_t s = 0; s < 5; ++s) f.call(0, s);
  ASSERT_TRUE(eventually([&] { return f.ran() == 3; })) << "3 calls should run at once, " << f.ran() << " did";
  settle();
  EXPECT_EQ(f.ran(), 3u) << "more calls than max_concurrency started";
  EXPECT_EQ(f.log->in_flight.load(), 3);
  for (auto& g : gates) g->open();
  ASSERT_TRUE(eventually([&] { return f.ran() == 5; }));
  EXPECT_EQ(f.log->most_in_flight.load(), 3);
  auto ran = f.log->ran_keys();  // released in the caller's order: they start in it
  for (std::uint64_t s = 0; s < 5; ++s) EXPECT_EQ(ran[s].seq, s);
}

TEST(ActorPool, AThreadedActorRestartsOnlyOnceItsCallsInFlightEnded) {
  Fleet f(1, small_pool(1, 64));
  f.hosts[0]->creation()->actor_spec.max_concurrency = 2;
  f.hosts[0]->creation()->actor_spec.max_restarts = 1;
  f.start_all();
  ASSERT_TRUE(eventually([&] { return f.builds() == 1; }));
  auto g0 = f.log->gate(0, 0), g1 = f.log->gate(0, 1);
  f.call(0, 0);
  f.call(0, 1);
  ASSERT_TRUE(eventually([&] { return f.log->in_flight.load() == 2; }));
  f.hosts[0]->kill(true, "crash");
  f.call(0, 2);  // after the crash: runs on the rebuilt instance
  settle();
  EXPECT_EQ(f.builds(), 1u) << "rebuilt while calls of the old instance still ran";
  EXPECT_TRUE(f.log->read([&] { return f.log->destroyed.empty(); }));
  g0->open();
  settle();
  EXPECT_EQ(f.builds(), 1u) << "rebuilt while a call of the old instance still ran";
  g1->open();
  ASSERT_TRUE(eventually([&] { return f.builds() == 2 && f.ran() == 3; }));
  f.log->read([&] {
    EXPECT_EQ(f.log->destroyed, (std::vector<int>{1}));
    EXPECT_EQ(f.log->ran.back(), std::make_pair(CallKey{0, 2}, 2));
  });
}

TEST(ActorHost, TakeQueuedRemovesAReleasedCallOnly) {
  Actor a(0);
  a.start_alive();
  auto g0 = a.log->gate(1, 0);
  auto c0 = make_call(1, 0), c1 = make_call(1, 1), c2 = make_call(1, 2);
  a.host->deliver(c0);
  ASSERT_TRUE(eventually([&] { return a.ran() == 1; }));
  a.host->deliver(c1);
  a.host->deliver(c2);
  EXPECT_EQ(a.host->take_queued(c0->id), nullptr) << "the running call is not queued";
  EXPECT_EQ(a.host->take_queued(c1->id), c1);
  EXPECT_EQ(a.host->take_queued(c1->id), nullptr);
  g0->open();
  ASSERT_TRUE(eventually([&] { return a.ran() == 2; }));
  settle();
  EXPECT_EQ(a.log->ran_keys(), (std::vector<CallKey>{{1, 0}, {1, 2}})) << "the taken call ran, or the next did not";
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
