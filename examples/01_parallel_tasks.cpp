// Tutorial exercise 1: parallel tasks.
//
// Set-up (per node): 4 CPUs. Four tasks each sleep 1 s and return their index;
// they run side by side, so the batch takes about one second.
// Checks: results == {0,1,2,3}; 1.0 s <= duration < 1.1 s; the timeline
// (raympi::timeline, read back) shows the 4 tasks on 4 rows, overlapping.
//
// Run: mpirun --oversubscribe -n 3 ./build/examples/01_parallel_tasks

#include "tutorial_support.hpp"
#include "tutorial_timeline.hpp"

#include <raympi/raympi.hpp>

#include <chrono>
#include <set>
#include <utility>
#include <thread>
#include <vector>

namespace {

int slow_function(int i) {
  std::this_thread::sleep_for(std::chrono::seconds(1));
  return i;
}

}  // namespace

RAYMPI_REMOTE(slow_function);

namespace {

void exercise() {
  const bool timing = tutorial::timing_applies();
  tutorial::warm(4);

  const auto start = tutorial::Clock::now();
  std::vector<raympi::ObjectRef<int>> refs;
  for (int i = 0; i < 4; ++i) refs.push_back(raympi::task(slow_function).remote(i));
  const std::vector<int> results = raympi::get(refs);
  const double d = tutorial::since(start);

  tutorial::check(results == std::vector<int>{0, 1, 2, 3}, "results == {0,1,2,3}", tutorial::braced(results));
  tutorial::check_window(timing, d >= 1.0 && d < 1.1, "1.0 s <= duration < 1.1 s", tutorial::seconds(d));

  // View the timeline: four slow_function bars side by side, on four rows.
  const tutorial::Trace t = tutorial::write_and_read_timeline("01_parallel_tasks");
  const auto spans = t.named("slow_function");
  std::set<std::pair<int, int>> rows;
  for (std::size_t i : spans) rows.insert({t.spans[i].pid, t.spans[i].tid});
  tutorial::check(spans.size() == 4 && rows.size() == 4 && t.overlap(spans),
                  "timeline: 4 slow_function spans on 4 worker rows, overlapping",
                  std::to_string(spans.size()) + " spans on " + std::to_string(rows.size()) + " rows, " +
                      (t.overlap(spans) ? "overlapping" : "not overlapping"));
  tutorial::check(t.rows_with_overlaps() == 0, "timeline: spans never overlap on a row",
                  std::to_string(t.rows_with_overlaps()) + " rows with overlaps");
}

}  // namespace

int main(int argc, char** argv) {
  raympi::Config cfg;
  cfg.num_cpus = 4;
  return tutorial::main_with(argc, argv, cfg, exercise);
}
