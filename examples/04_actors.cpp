// Tutorial exercise 4: actors.
//
// Set-up (per node): 4 CPUs. Two counter actors; `increment` sleeps 0.5 s and
// returns the new count. The driver queues 5 rounds of `increment` on each,
// interleaved (f1, f2, f1, f2, ...), then gets all ten results with one `get`.
// Each actor runs its calls one at a time, in order; the two actors run side
// by side, so the ten calls take about 5 x 0.5 s = 2.5 s.
// Checks: results == {1,1,2,2,3,3,4,4,5,5}; 2.5 s < duration < 3 s.
//
// The actors are created and answer one call before the clock starts (the
// tutorial sleeps after creating them for the same reason).
//
// Run: mpirun --oversubscribe -n 3 ./build/examples/04_actors

#include "tutorial_support.hpp"

#include <raympi/raympi.hpp>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

namespace {

struct Counter {
  int increment() {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    return ++n;
  }
  int value() const { return n; }
  int n = 0;
};

std::unique_ptr<Counter> make_counter() { return std::make_unique<Counter>(); }

}  // namespace

RAYMPI_REMOTE(make_counter, &Counter::increment, &Counter::value);

namespace {

void exercise() {
  const bool timing = tutorial::timing_applies();
  tutorial::warm(4);

  raympi::ActorHandle<Counter> f1 = raympi::actor(make_counter).remote();
  raympi::ActorHandle<Counter> f2 = raympi::actor(make_counter).remote();
  const std::vector<raympi::ObjectRef<int>> ready{f1.task(&Counter::value).remote(), f2.task(&Counter::value).remote()};
  const std::vector<int> initial = raympi::get(ready);
  tutorial::check(initial == std::vector<int>{0, 0}, "both actors start at 0", tutorial::braced(initial));

  const auto start = tutorial::Clock::now();
  std::vector<raympi::ObjectRef<int>> refs;
  for (int round = 0; round < 5; ++round) {
    refs.push_back(f1.task(&Counter::increment).remote());
    refs.push_back(f2.task(&Counter::increment).remote());
  }
  const std::vector<int> results = raympi::get(refs);
  const double d = tutorial::since(start);

  tutorial::check(results == std::vector<int>{1, 1, 2, 2, 3, 3, 4, 4, 5, 5}, "results == {1,1,2,2,3,3,4,4,5,5}",
                  tutorial::braced(results));
  tutorial::check_window(timing, d > 2.5 && d < 3.0, "2.5 s < duration < 3 s", tutorial::seconds(d));
}

}  // namespace

int main(int argc, char** argv) {
  raympi::Config cfg;
  cfg.num_cpus = 4;
  return tutorial::main_with(argc, argv, cfg, exercise);
}
