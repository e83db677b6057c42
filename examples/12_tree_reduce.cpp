// Tutorial exercise 12: tree reduce.
//
// Set-up (per node): 8 CPUs. `create_data(i)` sleeps 0.3 s and returns
// i * ones(10000) for i = 1..8; `aggregate(x, y)` sleeps 0.3 s and returns the
// element-wise product x * y. The driver reduces pairwise as a tree (4
// aggregates, then 2, then 1) passing only ObjectRefs, and gets the root.
// Checks: result == 40320 * ones(10000) (8!); 1.2 s < duration < 1.5 s.
//
// TODO(timeline): the tutorial's third check (the timeline of this run shows 8
// create spans overlapping, then 4, 2, 1 aggregate spans, with flow arrows
// from inputs to consumers) comes with the timeline feature.
//
// Run: mpirun --oversubscribe -n 3 ./build/examples/12_tree_reduce

#include "tutorial_support.hpp"

#include <raympi/raympi.hpp>

#include <chrono>
#include <cstdio>
#include <thread>
#include <utility>
#include <vector>

namespace {

using Vec = std::vector<double>;

Vec create_data(int i) {
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  return Vec(10000, double(i));
}

Vec aggregate(const Vec& x, const Vec& y) {
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Vec out(x.size());
  for (std::size_t k = 0; k < x.size() && k < y.size(); ++k) out[k] = x[k] * y[k];
  return out;
}

}  // namespace

RAYMPI_REMOTE(create_data, aggregate);

namespace {

void exercise() {
  const bool timing = tutorial::timing_applies();
  tutorial::warm(8);

  const auto start = tutorial::Clock::now();
  std::vector<raympi::ObjectRef<Vec>> level;
  for (int i = 1; i <= 8; ++i) level.push_back(raympi::task(create_data).remote(i));
  while (level.size() > 1) {  // 8 -> 4 -> 2 -> 1
    std::vector<raympi::ObjectRef<Vec>> next;
    for (std::size_t k = 0; k + 1 < level.size(); k += 2)
      next.push_back(raympi::task(aggregate).remote(level[k], level[k + 1]));
    level = std::move(next);
  }
  const Vec result = raympi::get(level.front());
  const double d = tutorial::since(start);

  std::size_t wrong = result.size() == 10000 ? 0 : 1;
  for (double v : result) wrong += v != 40320.0;
  char got[96];
  std::snprintf(got, sizeof got, "%zu elements, first %.6g, %zu differ", result.size(),
                result.empty() ? 0.0 : result.front(), wrong);
  tutorial::check(wrong == 0, "result == 40320 * ones(10000)", got);
  tutorial::check_window(timing, d > 1.2 && d < 1.5, "1.2 s < duration < 1.5 s", tutorial::seconds(d));
}

}  // namespace

int main(int argc, char** argv) {
  raympi::Config cfg;
  cfg.num_cpus = 8;
  return tutorial::main_with(argc, argv, cfg, exercise);
}
