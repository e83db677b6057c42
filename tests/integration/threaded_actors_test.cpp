// Integration: threaded actors (`actor(f).max_concurrency(n)`): n slow calls
// overlap (n calls take about the time of one), never more than n run at
// once, a threaded method may wait for another call of its own actor, a kill
// fails every call in flight, and max_concurrency(1) (the default) still runs
// one call at a time in the caller's order. Each runs with the actor on the
// driver's node and (at NP 4) on the other node.
#include <gtest/gtest.h>

#include <algorithm>
#include <iostream>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <raympi/raympi.hpp>

#include "test_support.hpp"

namespace {

using raympi::ActorHandle;
using raympi::ObjectRef;
using namespace raympi_test;

// Counts the calls in flight and the most there ever were at once.
struct Sleeper {
  int nap(int ms) {
    const int now = ++in_flight;
    int seen = peak.load();
    while (now > seen && !peak.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    --in_flight;
    return ms;
  }
  int most_at_once() const { return peak.load(); }
  std::size_t append(int v) {
    std::lock_guard lk(mu);
    seen.push_back(v);
    return seen.size();
  }
  std::vector<int> all() const {
    std::lock_guard lk(mu);
    return seen;
  }
  // Waits for another call to this same actor: fine when a second thread is free.
  int ask_myself(ActorHandle<Sleeper> me) { return raympi::get(me.task(&Sleeper::nap).remote(1)); }
  std::atomic<int> in_flight{0}, peak{0};
  mutable std::mutex mu;
  std::vector<int> seen;
};
std::unique_ptr<Sleeper> make_sleeper() { return std::make_unique<Sleeper>(); }

}  // namespace

RAYMPI_REMOTE(make_sleeper, &Sleeper::nap, &Sleeper::most_at_once, &Sleeper::append, &Sleeper::all,
              &Sleeper::ask_myself);

namespace {

constexpr int kNapMs = 300;

// Parameter: the actor lives on the other node (else on the driver's).
class ThreadedActors : public ::testing::TestWithParam<bool> {
 protected:
  int target() const { return GetParam() ? other_rank() : driver_rank(); }
  ActorHandle<Sleeper> sleeper(int concurrency, int restarts = 0) {
    return raympi::actor(make_sleeper)
        .resource(node_tag(target()), 0.001)
        .max_concurrency(concurrency)
        .max_restarts(restarts)
        .remote();
  }
  // Runs `calls` naps of kNapMs on the actor; returns the seconds they took.
  static double naps(const ActorHandle<Sleeper>& a, int calls) {
    raympi::get(a.task(&Sleeper::nap).remote(1));  // built and warm: not part of the timing
    auto t0 = std::chrono::steady_clock::now();
    std::vector<ObjectRef<int>> refs;
    for (int i = 0; i < calls; ++i) refs.push_back(a.task(&Sleeper::nap).remote(kNapMs));
    for (int v : raympi::get(refs)) EXPECT_EQ(v, kNapMs);
    return seconds_since(t0);
  }
};

TEST_P(ThreadedActors, FourThreadsRunEightSlowCallsInAQuarterOfTheSerialTime) {
  auto a = sleeper(4);
  const double serial = 8 * kNapMs / 1000.0;  // 2.4 s one at a time
  const double took = naps(a, 8);
  std::cout << "8 calls of " << kNapMs << " ms, max_concurrency(4): " << took << " s (serial: " << serial << " s)\n";
  EXPECT_LT(took, 0.6 * serial) << "8 calls of " << kNapMs << " ms with max_concurrency(4) took " << took << " s";
  EXPECT_GE(took, 2 * kNapMs / 1000.0 * 0.95) << "8 calls on 4 threads need two rounds at least";
  EXPECT_EQ(raympi::get(a.task(&Sleeper::most_at_once).remote()), 4) << "never more than max_concurrency at once";
}

TEST_P(ThreadedActors, DefaultConcurrencyRunsOneCallAtATime) {
  auto a = sleeper(1);
  const double took = naps(a, 3);
  EXPECT_GE(took, 3 * kNapMs / 1000.0 * 0.95);
  EXPECT_EQ(raympi::get(a.task(&Sleeper::most_at_once).remote()), 1);
}

TEST_P(ThreadedActors, ConcurrencyOneKeepsTheCallersOrder) {
  auto a = sleeper(1);
  std::vector<ObjectRef<std::size_t>> refs;
  for (int i = 0; i < 500; ++i) refs.push_back(a.task(&Sleeper::append).remote(i));
  auto sizes = raympi::get(refs);
  for (std::size_t i = 0; i < sizes.size(); ++i) ASSERT_EQ(sizes[i], i + 1);
  std::vector<int> got = raympi::get(a.task(&Sleeper::all).remote());
  ASSERT_EQ(got.size(), 500u);
  for (int i = 0; i < 500; ++i) ASSERT_EQ(got[std::size_t(i)], i) << "position " << i;
}

TEST_P(ThreadedActors, EveryCallOfAThreadedActorRunsOnce) {
  auto a = sleeper(3);
  std::vector<ObjectRef<std::size_t>> refs;
  for (int i = 0; i < 500; ++i) refs.push_back(a.task(&Sleeper::append).remote(i));
  raympi::get(refs);
  std::vector<int> got = raympi::get(a.task(&Sleeper::all).remote());
  std::sort(got.begin(), got.end());  // calls overlap: any order, each once
  ASSERT_EQ(got.size(), 500u);
  for (int i = 0; i < 500; ++i) ASSERT_EQ(got[std::size_t(i)], i);
}

TEST_P(ThreadedActors, AThreadedMethodMayWaitForAnotherCallOfItsActor) {
  auto a = sleeper(2);
  EXPECT_EQ(raympi::get(a.task(&Sleeper::ask_myself).remote(a)), 1);
}

TEST_P(ThreadedActors, AKillFailsEveryCallInFlightAndTheRestartServesLaterCalls) {
  auto a = sleeper(4, /*restarts=*/1);  // 3 slow calls, and a thread left to answer most_at_once
  raympi::get(a.task(&Sleeper::nap).remote(1));
  std::vector<ObjectRef<int>> refs;
  for (int i = 0; i < 3; ++i) refs.push_back(a.task(&Sleeper::nap).remote(2000));
  ASSERT_TRUE(eventually([&] { return raympi::get(a.task(&Sleeper::most_at_once).remote()) == 3; }))
      << "the 3 slow calls never ran at once";
  a.kill(/*no_restart=*/false);
  for (auto& r : refs) EXPECT_THROW(raympi::get(r), raympi::ActorDiedError);
  EXPECT_EQ(raympi::get(a.task(&Sleeper::nap).remote(2)), 2);  // the rebuilt instance
}

INSTANTIATE_TEST_SUITE_P(Placement, ThreadedActors, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? std::string("OtherNode") : std::string("DriverNode"); });

TEST(ThreadedActorOptions, ConcurrencyBelowOneIsAClearError) {
  for (int bad : {0, -3}) {
    try {
      raympi::actor(make_sleeper).max_concurrency(bad);
      FAIL() << "expected raympi::Error for max_concurrency(" << bad << ")";
    } catch (const raympi::Error& e) {
      EXPECT_NE(std::string(e.what()).find("at least 1"), std::string::npos) << e.what();
    }
  }
}

}  // namespace
