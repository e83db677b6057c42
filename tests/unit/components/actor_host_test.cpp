// ActorHost (libraympi/actors/actor_host.hpp) on a real ActorPool with
// hand-written hooks: the build, the mailbox order, kill with and without
// restart, release, caller_done and stop. No raympi::init, no MPI. The pool
// under many actors is in actor_pool_test.cpp.
#include "actor_host_support.hpp"

namespace {

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


}  // namespace
