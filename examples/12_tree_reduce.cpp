// Tutorial exercise 12: tree reduce.
//
// Set-up (per node): 8 CPUs. `create_data(i)` sleeps 0.3 s and returns
// i * ones(10000) for i = 1..8; `aggregate(x, y)` sleeps 0.3 s and returns the
// element-wise product x * y. The driver reduces pairwise as a tree (4
// aggregates, then 2, then 1) passing only ObjectRefs, and gets the root.
// Checks: result == 40320 * ones(10000) (8!); 1.2 s < duration < 1.5 s.
//
// Third check, the timeline of this run (raympi::timeline, read back): 8
// create_data spans overlapping, then 4, 2, 1 aggregate spans, each with flow
// arrows from its two inputs, each starting after they ended; no two spans
// overlap on one worker row.
//
// Run: mpirun --oversubscribe -n 3 ./build/examples/12_tree_reduce

#include "tutorial_support.hpp"
#include "tutorial_timeline.hpp"

#include <raympi/raympi.hpp>

#include <algorithm>
#include <chrono>
#include <map>
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

// The tree as the trace shows it: an aggregate's level is one more than its
// inputs' (create_data spans are level 0).
void check_timeline(const tutorial::Trace& t) {
  const auto creates = t.named("create_data"), aggregates = t.named("aggregate");
  tutorial::check(creates.size() == 8 && aggregates.size() == 7, "timeline: 8 create_data and 7 aggregate spans",
                  std::to_string(creates.size()) + " and " + std::to_string(aggregates.size()));
  tutorial::check(t.overlap(creates), "timeline: the 8 create_data spans overlap", t.overlap(creates) ? "yes" : "no");
  std::map<std::size_t, int> level;
  for (std::size_t c : creates) level[c] = 0;
  int levels[4] = {0, 0, 0, 0}, wired = 0, ordered = 0, crossing = 0;
  for (int pass = 0; pass < 3; ++pass)  // inputs before consumers, whatever the span order
    for (std::size_t a : aggregates) {
      auto in = t.inputs_of(a);
      if (in.size() != 2 || !level.count(in[0]) || !level.count(in[1])) continue;
      level[a] = 1 + std::max(level[in[0]], level[in[1]]);
    }
  for (std::size_t a : aggregates) {
    auto in = t.inputs_of(a);
    if (in.size() == 2) ++wired;
    bool after = true;
    for (std::size_t i : in) {
      // µs: one rank's clock agrees with itself to 1 µs; two ranks' clocks to
      // the job clock's bound (tens of µs across hosts, ms on a busy machine).
      const double slack = t.spans[i].pid == t.spans[a].pid ? 1.0 : std::max(1.0, t.clock_error_us);
      after &= t.spans[a].ts >= t.spans[i].end() - slack;
      crossing += t.spans[i].pid != t.spans[a].pid;
    }
    ordered += after && !in.empty();
    if (level.count(a) && level[a] >= 1 && level[a] <= 3) ++levels[level[a]];
  }
  tutorial::check(wired == 7, "timeline: every aggregate has flow arrows from its 2 inputs",
                  std::to_string(wired) + " of 7; " + std::to_string(crossing) + " arrows cross node ranks");
  tutorial::check(levels[1] == 4 && levels[2] == 2 && levels[3] == 1, "timeline: 4, then 2, then 1 aggregate spans",
                  std::to_string(levels[1]) + ", " + std::to_string(levels[2]) + ", " + std::to_string(levels[3]));
  tutorial::check(ordered == 7, "timeline: each aggregate starts after its inputs end", std::to_string(ordered) + " of 7");
  tutorial::check(t.rows_with_overlaps() == 0 && t.unbound_flow_ends == 0,
                  "timeline: spans never overlap on a row; every arrow is bound to spans",
                  std::to_string(t.rows_with_overlaps()) + " rows with overlaps, " +
                      std::to_string(t.unbound_flow_ends) + " unbound arrows");
}

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
  check_timeline(tutorial::write_and_read_timeline("12_tree_reduce"));
}

}  // namespace

int main(int argc, char** argv) {
  raympi::Config cfg;
  cfg.num_cpus = 8;
  return tutorial::main_with(argc, argv, cfg, exercise);
}
