// Integration: memory of freed objects goes back to the system. 100,000 small
// puts grow the driver's node (the process that owns and stores them) by tens
// of MiB of malloc'd records; once every ref is dropped, the runtime's tick
// trims malloc's heap (libraympi/base/block_pool.cpp), so the process's RSS
// falls back near where it started within a few seconds instead of staying
// at its peak until exit. Each test prints its figures. Runs at NP 1, 3 and 4
// with RAYMPI_NUM_CPUS=4.
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>
#include <vector>

#include <raympi/raympi.hpp>

#include "test_support.hpp"

namespace {

using raympi::ObjectRef;
using namespace raympi_test;
using Clock = std::chrono::steady_clock;

constexpr double kMiB = 1024.0 * 1024.0;
constexpr int kObjects = 100'000;
// What may stay resident after the frees: the runtime trims once the process
// is 16 MiB above its least RSS; the tables' bucket arrays keep their size.
constexpr double kMarginMiB = 16;
// Below this rise the test would not show anything (the puts got cheaper?).
constexpr double kMinRiseMiB = 40;
constexpr auto kDeadline = std::chrono::seconds(10);

// Resident set of this process, in MiB (/proc/self/statm: pages).
double rss_mib() {
  std::ifstream statm("/proc/self/statm");
  long pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return double(pages_resident) * double(::sysconf(_SC_PAGESIZE)) / kMiB;
}

// Polls until the driver's node owns and stores no more than `owned` /
// `stored` objects (frees are asynchronous); false after the deadline.
bool objects_freed(std::size_t owned, std::size_t stored) {
  return eventually(
      [&] {
        auto s = raympi::detail::local_stats();
        return s.owned_objects <= owned && s.store_objects <= stored;
      },
      double(kDeadline.count()));
}

// Puts kObjects small objects, holds them for `hold`, drops them, and
// expects this process's RSS back within kMarginMiB of where it started.
void put_hold_drop(std::chrono::milliseconds hold) {
  // Earlier one-time growth (thread stacks, first tables) out of the way.
  {
    std::vector<ObjectRef<int>> warm;
    for (int i = 0; i < 1000; ++i) warm.push_back(raympi::put(i));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const auto before = raympi::detail::local_stats();
  const double start = rss_mib();

  double peak = 0;
  {
    std::vector<ObjectRef<int>> refs;
    refs.reserve(kObjects);
    for (int i = 0; i < kObjects; ++i) refs.push_back(raympi::put(i));
    ASSERT_EQ(raympi::get(refs.back()), kObjects - 1);
    peak = rss_mib();
    std::this_thread::sleep_for(hold);
  }
  const auto dropped = Clock::now();
  ASSERT_TRUE(objects_freed(before.owned_objects, before.store_objects))
      << "the " << kObjects << " objects were not freed within " << kDeadline.count() << " s";

  // RSS back within the margin, polled: the tick looks twice a second.
  double now = rss_mib();
  while (now > start + kMarginMiB && Clock::now() - dropped < kDeadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    now = rss_mib();
  }
  const double took = seconds_since(dropped);
  std::printf("[memory_return] rank %d: RSS %.1f MiB before %d puts, %.1f MiB with them (held %.1f s), %.1f MiB "
              "%.2f s after dropping them (margin %.0f MiB)\n",
              driver_rank(), start, kObjects, peak, double(hold.count()) / 1000, now, took, kMarginMiB);
  EXPECT_GE(peak - start, kMinRiseMiB) << "the puts grew RSS by only " << peak - start << " MiB: the test frees too "
                                       << "little to show that memory goes back";
  EXPECT_LE(now, start + kMarginMiB) << "RSS stayed at " << now << " MiB (" << now - start << " MiB above the "
                                     << start << " MiB before the puts, peak " << peak << " MiB) "
                                     << kDeadline.count() << " s after every ref was dropped";
}

TEST(MemoryReturn, FreedPutsGoBackToTheSystem) { put_hold_drop(std::chrono::milliseconds(0)); }

// Held for a while, the objects make the tick's trims release nothing (their
// memory is in use), which spaces the trims out (1, 2, 4 s...): the memory
// still goes back within the deadline once they are dropped.
TEST(MemoryReturn, ObjectsHeldForSecondsStillGoBack) { put_hold_drop(std::chrono::milliseconds(2500)); }

}  // namespace
