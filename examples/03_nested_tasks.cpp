// Tutorial exercise 3: nested tasks.
//
// Set-up (per node): 9 CPUs. Three `train_model` tasks each run 10 rounds of
// two parallel `compute_gradient` tasks (sleep 0.03 s, return 1) and `get`
// them inside the task. A task blocked in `get` gives its CPU back, so the 3
// trainers and their 6 gradients all fit on the 9 CPUs.
// Checks: results == {20,20,20}; 0.3 s < duration < 0.5 s.
//
// Run: mpirun --oversubscribe -n 3 ./build/examples/03_nested_tasks

#include <raympi/raympi.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
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

int warm_up(int i) { return i; }

}  // namespace

RAYMPI_REMOTE(compute_gradient, train_model, warm_up);

namespace {

using Clock = std::chrono::steady_clock;

int failures = 0;

std::string seconds(double s) {
  char b[64];
  std::snprintf(b, sizeof b, "%.3f s", s);
  return b;
}

void check(bool ok, const std::string& what, const std::string& measured) {
  std::printf("%s: %s (%s)\n", ok ? "PASS" : "FAIL", what.c_str(), measured.c_str());
  if (!ok) ++failures;
}

void check_window(bool timing, bool ok, const std::string& what, const std::string& measured) {
  if (!timing) {
    std::printf("SKIP: %s (%s; more than one node)\n", what.c_str(), measured.c_str());
    return;
  }
  check(ok, what, measured);
}

void warm(int n) {
  std::vector<raympi::ObjectRef<int>> refs;
  for (int i = 0; i < n; ++i) refs.push_back(raympi::task(warm_up).remote(i));
  raympi::get(refs);
}

void exercise() {
  const std::size_t num_nodes = raympi::nodes().size();
  const bool timing = num_nodes == 1;
  if (!timing)
    std::printf("NOTE: %zu node ranks: the timing windows are for one node and are skipped\n", num_nodes);
  warm(9);

  const auto start = Clock::now();
  std::vector<raympi::ObjectRef<int>> models;
  for (int i = 0; i < 3; ++i) models.push_back(raympi::task(train_model).remote(i));
  const std::vector<int> results = raympi::get(models);
  const double d = std::chrono::duration<double>(Clock::now() - start).count();

  std::string got = "{";
  for (std::size_t i = 0; i < results.size(); ++i) got += (i ? "," : "") + std::to_string(results[i]);
  got += "}";
  check(results == std::vector<int>{20, 20, 20}, "results == {20,20,20}", got);
  check_window(timing, d > 0.3 && d < 0.5, "0.3 s < duration < 0.5 s", seconds(d));
}

}  // namespace

int main(int argc, char** argv) {
  raympi::Config cfg;
  cfg.num_cpus = 9;
  raympi::init(argc, argv, cfg);
  try {
    exercise();
  } catch (const std::exception& e) {
    check(false, "exercise ran without an exception", e.what());
  }
  std::fflush(stdout);
  raympi::shutdown();
  return failures == 0 ? 0 : 1;
}
