// Tutorial exercise 6: wait.
//
// Set-up (per node): 6 CPUs. Six tasks sleep {0.888, 3.5714, 0.3052, 3.4937,
// 0.0415, 3.0853} s and return (index, finish time). The driver waits for the
// first three with `wait(num_returns = 3)`, gets them, then gets the rest.
// Checks: 3 + 3 results covering indices 0..5; the first batch is back in
// 0.8 s < d < 1.5 s; every first-batch finish time < every second-batch
// finish time.
//
// Finish times are wall-clock (system_clock) seconds, comparable between the
// ranks of one host and, with synchronised clocks, between hosts.
//
// Run: mpirun --oversubscribe -n 3 ./build/examples/06_wait

#include "tutorial_support.hpp"

#include <raympi/raympi.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

std::pair<int, double> f(int index, double sleep_seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(sleep_seconds));
  const double finished =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  return {index, finished};
}

}  // namespace

RAYMPI_REMOTE(f);

namespace {

using Result = std::pair<int, double>;

std::string indices(const std::vector<Result>& rs) {
  std::vector<int> ids;
  for (const Result& r : rs) ids.push_back(r.first);
  return tutorial::braced(ids);
}

void exercise() {
  const bool timing = tutorial::timing_applies();
  tutorial::warm(6);

  const std::vector<double> sleeps{0.888, 3.5714, 0.3052, 3.4937, 0.0415, 3.0853};
  const auto start = tutorial::Clock::now();
  std::vector<raympi::ObjectRef<Result>> refs;
  for (int i = 0; i < int(sleeps.size()); ++i) refs.push_back(raympi::task(f).remote(i, sleeps[std::size_t(i)]));

  raympi::WaitResult<Result> wr = raympi::wait(refs, 3);
  const std::vector<Result> first = raympi::get(wr.ready);
  const double d_first = tutorial::since(start);
  const std::vector<Result> second = raympi::get(wr.remaining);
  const double d_all = tutorial::since(start);

  std::set<int> seen;
  for (const Result& r : first) seen.insert(r.first);
  for (const Result& r : second) seen.insert(r.first);
  const bool cover = first.size() == 3 && second.size() == 3 && seen == std::set<int>{0, 1, 2, 3, 4, 5};
  tutorial::check(cover, "3 + 3 results covering indices 0..5",
                  "first " + indices(first) + ", then " + indices(second));

  tutorial::check_window(timing, d_first > 0.8 && d_first < 1.5, "first batch back in 0.8 s < d < 1.5 s",
                         tutorial::seconds(d_first));

  double latest_first = -1e300, earliest_second = 1e300;
  for (const Result& r : first) latest_first = std::max(latest_first, r.second);
  for (const Result& r : second) earliest_second = std::min(earliest_second, r.second);
  const bool ordered = !first.empty() && !second.empty() && latest_first < earliest_second;
  tutorial::check(ordered, "every first-batch finish time < every second-batch finish time",
                  std::string("earliest second minus latest first: ") + (ordered ? "+" : "") +
                      tutorial::seconds(earliest_second - latest_first));
  std::printf("INFO: all six back after %s\n", tutorial::seconds(d_all).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  raympi::Config cfg;
  cfg.num_cpus = 6;
  return tutorial::main_with(argc, argv, cfg, exercise);
}
