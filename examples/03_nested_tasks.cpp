// Tutorial exercise 3: nested tasks.
//
// Set-up (per node): 9 CPUs. Three `train_model` tasks each run 10 rounds of
// two parallel `compute_gradient` tasks (sleep 0.03 s, return 1) and `get`
// them inside the task. A task blocked in `get` gives its CPU back, so the 3
// trainers and their 6 gradients all fit on the 9 CPUs.
// Checks: results == {20,20,20}; 0.3 s < duration < 0.5 s.
//
// Run: mpirun --oversubscribe -n 3 ./build/examples/03_nested_tasks

#include "tutorial_support.hpp"

#include <raympi/raympi.hpp>

#include <chrono>
#include <thread>
#include <vector>

namespace {

int compute_gradient(int round) {
  (void)round;
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  return 1;
}

int train_model(int model) {
  (void)model;
  int total = 0;
  for (int round = 0; round < 10; ++round) {
    std::vector<raympi::ObjectRef<int>> gradients;
    for (int j = 0; j < 2; ++j) gradients.push_back(raympi::task(compute_gradient).remote(round));
    for (int g : raympi::get(gradients)) total += g;
  }
  return total;
}

}  // namespace

RAYMPI_REMOTE(compute_gradient, train_model);

namespace {

void exercise() {
  const bool timing = tutorial::timing_applies();
  tutorial::warm(9);

  const auto start = tutorial::Clock::now();
  std::vector<raympi::ObjectRef<int>> models;
  for (int i = 0; i < 3; ++i) models.push_back(raympi::task(train_model).remote(i));
  const std::vector<int> results = raympi::get(models);
  const double d = tutorial::since(start);

  tutorial::check(results == std::vector<int>{20, 20, 20}, "results == {20,20,20}", tutorial::braced(results));
  tutorial::check_window(timing, d > 0.3 && d < 0.5, "0.3 s < duration < 0.5 s", tutorial::seconds(d));
}

}  // namespace

int main(int argc, char** argv) {
  raympi::Config cfg;
  cfg.num_cpus = 9;
  return tutorial::main_with(argc, argv, cfg, exercise);
}
