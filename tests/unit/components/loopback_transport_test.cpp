// LoopbackTransport (libraympi/transport/transport.hpp): the progress loop of
// a one-rank job. Messages to self, the tick, stop, and blocking when idle.
// No raympi::init; MPI is never called.
#include <gtest/gtest.h>

#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "transport/transport.hpp"
#include "component_support.hpp"

namespace {

using component_test::eventually;
using component_test::Gate;
using component_test::bytes_of;

using namespace std::chrono_literals;
using raympi::detail::Buffer;
using raympi::detail::Clock;
using raympi::detail::LoopbackTransport;
using raympi::detail::Transport;

Buffer encode(std::uint64_t v) {
  char* data = nullptr;
  Buffer b = raympi::detail::allocate_buffer(sizeof v, data);
  std::memcpy(data, &v, sizeof v);
  return b;
}

std::uint64_t decode(const Buffer& b) {
  std::uint64_t v = 0;
  EXPECT_EQ(b.size, sizeof v);
  if (b.size == sizeof v) std::memcpy(&v, b.data, sizeof v);
  return v;
}

long this_tid() { return long(::syscall(SYS_gettid)); }

double cpu_seconds(clockid_t clock) {
  timespec ts{};
  ::clock_gettime(clock, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// What the hooks saw.
struct Seen {
  std::mutex mu;
  std::vector<std::uint64_t> values;
  std::vector<int> sources;
  std::map<std::thread::id, int> threads;
  bool on_progress_thread_always = true;
  long tid = 0;
  std::atomic<std::size_t> count{0};
  std::atomic<std::size_t> ticks{0};
  std::vector<Clock::time_point> tick_times;
  std::atomic<bool> have_thread{false};
  pthread_t thread{};

  std::vector<std::uint64_t> snapshot() {
    std::lock_guard lk(mu);
    return values;
  }
};

// A loopback transport whose hooks record into `seen`; `tick_every` is what
// on_tick asks for; `extra` runs on every message (on the progress thread).
struct Loop {
  explicit Loop(Clock::duration tick_every = 1h, std::function<void(std::uint64_t)> extra = {})
      : transport(Transport::Tuning{}), extra(std::move(extra)), tick_every(tick_every) {}
  ~Loop() { transport.stop(); }

  void start() {
    Transport::Hooks h;
    h.on_message = [this](int src, Buffer msg) {
      std::uint64_t v = decode(msg);
      {
        std::lock_guard lk(seen.mu);
        seen.values.push_back(v);
        seen.sources.push_back(src);
        ++seen.threads[std::this_thread::get_id()];
        if (!transport.on_progress_thread()) seen.on_progress_thread_always = false;
        seen.tid = this_tid();
      }
      seen.count.fetch_add(1);
      if (extra) extra(v);
    };
    h.on_tick = [this](Clock::time_point now) {
      {
        std::lock_guard lk(seen.mu);
        seen.tick_times.push_back(now);
        if (!transport.on_progress_thread()) seen.on_progress_thread_always = false;
        seen.tid = this_tid();
      }
      if (!seen.have_thread.load()) {
        seen.thread = pthread_self();
        seen.have_thread.store(true);
      }
      seen.ticks.fetch_add(1);
      return now + tick_every;
    };
    transport.start(std::move(h));
  }

  LoopbackTransport transport;
  Seen seen;
  std::function<void(std::uint64_t)> extra;
  Clock::duration tick_every;
};

// ---------------------------------------------------------------------------

TEST(LoopbackTransport, IsRankZeroOfOne) {
  LoopbackTransport t(Transport::Tuning{});
  EXPECT_EQ(t.rank(), 0);
  EXPECT_EQ(t.size(), 1);
  EXPECT_FALSE(t.on_progress_thread()) << "no progress thread before start";
  t.stop();  // without start: harmless
  t.stop();
}

TEST(LoopbackTransport, MessagesToSelfArriveInOrderOnTheProgressThread) {
  Loop loop;
  loop.start();
  constexpr std::uint64_t kCount = 2000;
  for (std::uint64_t i = 0; i < kCount; ++i) loop.transport.send(0, encode(i));
  ASSERT_TRUE(eventually([&] { return loop.seen.count.load() >= kCount; }));
  EXPECT_FALSE(loop.transport.on_progress_thread());
  std::lock_guard lk(loop.seen.mu);
  ASSERT_EQ(loop.seen.values.size(), kCount);
  for (std::uint64_t i = 0; i < kCount; ++i) ASSERT_EQ(loop.seen.values[i], i) << "out of order at " << i;
  for (int src : loop.seen.sources) ASSERT_EQ(src, 0);
  EXPECT_EQ(loop.seen.threads.size(), 1u) << "every message is handled on one thread";
  EXPECT_FALSE(loop.seen.threads.count(std::this_thread::get_id())) << "handled on the sending thread";
  EXPECT_TRUE(loop.seen.on_progress_thread_always);
  EXPECT_NE(loop.seen.tid, this_tid());
}

TEST(LoopbackTransport, EachSendersOrderIsKeptWithManySenders) {
  Loop loop;
  loop.start();
  constexpr int kSenders = 4;
  constexpr std::uint64_t kEach = 1000;
  std::vector<std::thread> senders;
  for (int s = 0; s < kSenders; ++s)
    senders.emplace_back([&, s] {
      for (std::uint64_t i = 0; i < kEach; ++i) loop.transport.send(0, encode((std::uint64_t(s) << 32) | i));
    });
  for (auto& t : senders) t.join();
  ASSERT_TRUE(eventually([&] { return loop.seen.count.load() >= kSenders * kEach; }));
  std::vector<std::uint64_t> next(kSenders, 0);
  for (std::uint64_t v : loop.seen.snapshot()) {
    auto s = std::size_t(v >> 32);
    ASSERT_LT(s, std::size_t(kSenders));
    ASSERT_EQ(v & 0xffffffffu, next[s]) << "sender " << s << " out of order";
    ++next[s];
  }
  for (auto n : next) EXPECT_EQ(n, kEach);
}

TEST(LoopbackTransport, AHandlerCanSendToSelf) {
  Loop* self = nullptr;
  Loop loop(1h, [&](std::uint64_t v) {
    if (v < 500) self->transport.send(0, encode(v + 1));  // from the progress thread itself
  });
  self = &loop;
  loop.start();
  loop.transport.send(0, encode(0));
  ASSERT_TRUE(eventually([&] { return loop.seen.count.load() >= 501; }));
  auto values = loop.seen.snapshot();
  ASSERT_EQ(values.size(), 501u);
  for (std::uint64_t i = 0; i < values.size(); ++i) ASSERT_EQ(values[i], i);
}

TEST(LoopbackTransport, TheTickRunsAndItsNextTimeIsHonoured) {
  Loop loop(100ms);
  loop.start();
  ASSERT_TRUE(eventually([&] { return loop.seen.ticks.load() >= 1; })) << "on_tick never ran";
  auto start = Clock::now();
  ASSERT_TRUE(eventually([&] { return loop.seen.ticks.load() >= 5; }, 10));
  auto elapsed = Clock::now() - start;
  std::vector<Clock::time_point> times;
  {
    std::lock_guard lk(loop.seen.mu);
    times = loop.seen.tick_times;
    EXPECT_TRUE(loop.seen.on_progress_thread_always);
  }
  // Never earlier than asked (the `now` the loop passed in is what it compared).
  for (std::size_t i = 1; i < times.size(); ++i)
    EXPECT_GE(times[i] - times[i - 1], 100ms) << "tick " << i << " came early";
  EXPECT_GE(elapsed, 300ms) << "5 ticks 100 ms apart came too fast";
  // Messages in between do not bring ticks forward.
  std::size_t before = loop.seen.ticks.load();
  for (int i = 0; i < 50; ++i) loop.transport.send(0, encode(std::uint64_t(i)));
  ASSERT_TRUE(eventually([&] { return loop.seen.count.load() >= 50; }));
  EXPECT_LE(loop.seen.ticks.load(), before + 1);
}

TEST(LoopbackTransport, AShortTickIntervalIsHonouredToo) {
  // 40 ticks 2 ms apart take about 80 ms; the loop's 50 ms safety nap would
  // make them take 2 s if the requested time were ignored.
  Loop loop(2ms);
  loop.start();
  ASSERT_TRUE(eventually([&] { return loop.seen.ticks.load() >= 1; }));
  auto start = Clock::now();
  std::size_t first = loop.seen.ticks.load();
  ASSERT_TRUE(eventually([&] { return loop.seen.ticks.load() >= first + 40; }, 10));
  EXPECT_LT(Clock::now() - start, 1500ms) << "on_tick's returned time was not honoured";
}

TEST(LoopbackTransport, StopDeliversWhatWasSentThenJoinsAndDropsLaterSends) {
  Loop loop(5ms);
  loop.start();
  ASSERT_TRUE(eventually([&] { return loop.seen.ticks.load() >= 1; }));
  long tid = 0;
  {
    std::lock_guard lk(loop.seen.mu);
    tid = loop.seen.tid;
  }
  ASSERT_NE(tid, 0);
  ASSERT_TRUE(std::filesystem::exists("/proc/self/task/" + std::to_string(tid)));

  constexpr std::uint64_t kCount = 500;
  for (std::uint64_t i = 0; i < kCount; ++i) loop.transport.send(0, encode(i));
  loop.transport.stop();
  EXPECT_EQ(loop.seen.count.load(), kCount) << "stop() must deliver what was sent before it";
  auto values = loop.seen.snapshot();
  for (std::uint64_t i = 0; i < values.size(); ++i) ASSERT_EQ(values[i], i);

  // The progress thread is gone (the kernel may take a moment to reap it).
  EXPECT_TRUE(eventually([&] { return !std::filesystem::exists("/proc/self/task/" + std::to_string(tid)); }, 5))
      << "the progress thread is still there after stop()";
  std::size_t ticks = loop.seen.ticks.load();
  loop.transport.send(0, encode(9999));
  std::this_thread::sleep_for(50ms);  // ten tick periods: nothing may happen any more
  EXPECT_EQ(loop.seen.count.load(), kCount) << "a send after stop() was delivered";
  EXPECT_EQ(loop.seen.ticks.load(), ticks) << "on_tick ran after stop()";
  loop.transport.stop();  // twice: harmless
}

TEST(LoopbackTransport, AnIdleLoopBlocksInsteadOfSpinning) {
  Loop loop(1h);  // nothing to do for an hour
  loop.start();
  ASSERT_TRUE(eventually([&] { return loop.seen.have_thread.load(); }));
  clockid_t progress_clock;
  ASSERT_EQ(pthread_getcpuclockid(loop.seen.thread, &progress_clock), 0);
  std::this_thread::sleep_for(20ms);  // past the spin window after start-up

  const double process0 = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID);
  const double thread0 = cpu_seconds(progress_clock);
  const auto wall0 = Clock::now();
  std::this_thread::sleep_for(300ms);  // the measured idle period
  const double process_used = cpu_seconds(CLOCK_PROCESS_CPUTIME_ID) - process0;
  const double thread_used = cpu_seconds(progress_clock) - thread0;
  const double wall = std::chrono::duration<double>(Clock::now() - wall0).count();
  EXPECT_LT(process_used, 0.030) << "the process used " << process_used * 1e3 << " ms of CPU in " << wall * 1e3
                                 << " ms idle";
  EXPECT_LT(thread_used, 0.030) << "the progress thread used " << thread_used * 1e3 << " ms of CPU in "
                                << wall * 1e3 << " ms idle";

  // Still responsive after the idle period.
  loop.transport.send(0, encode(1));
  ASSERT_TRUE(eventually([&] { return loop.seen.count.load() == 1; }));
}

}  // namespace
