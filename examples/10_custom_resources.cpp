// Tutorial exercise 10: custom resources.
//
// Set-up (per node): 8 CPUs and Custom1 = 4. `f` sleeps 0.1 s holding 1 CPU;
// `g` sleeps 0.1 s holding 1 CPU and 1 Custom1. Each sub-case submits one
// batch and gets all of it; the batch takes one round of 0.1 s when it fits
// the node at once, two rounds when it does not.
// Checks: 8 f: [0.1, 0.19) s; 9 f: [0.2, 0.29) s; 4 g: [0.1, 0.19) s;
// 5 g: [0.2, 0.29) s; 4 f + 4 g: [0.1, 0.19) s; 5 f + 4 g: [0.2, 0.29) s.
//
// Run: mpirun --oversubscribe -n 3 ./build/examples/10_custom_resources

#include "tutorial_support.hpp"

#include <raympi/raympi.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

int f(int i) {
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return i;
}

int g(int i) {
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return i;
}

}  // namespace

RAYMPI_REMOTE(f, g);

namespace {

struct Case {
  int num_f;
  int num_g;
  double low;   // window [low, high) in seconds
  double high;
};

void run_case(const Case& c, bool timing) {
  const auto start = tutorial::Clock::now();
  std::vector<raympi::ObjectRef<int>> refs;
  for (int i = 0; i < c.num_f; ++i) refs.push_back(raympi::task(f).num_cpus(1).remote(i));
  for (int i = 0; i < c.num_g; ++i)
    refs.push_back(raympi::task(g).num_cpus(1).resource("Custom1", 1).remote(c.num_f + i));
  const std::vector<int> results = raympi::get(refs);
  const double d = tutorial::since(start);

  std::string name;
  if (c.num_f) name += std::to_string(c.num_f) + " f";
  if (c.num_f && c.num_g) name += " + ";
  if (c.num_g) name += std::to_string(c.num_g) + " g";

  bool right = int(results.size()) == c.num_f + c.num_g;
  for (std::size_t i = 0; right && i < results.size(); ++i) right = results[i] == int(i);
  tutorial::check(right, name + ": every task returned its index", std::to_string(results.size()) + " results");

  char window[64];
  std::snprintf(window, sizeof window, ": %.2f s <= duration < %.2f s", c.low, c.high);
  tutorial::check_window(timing, d >= c.low && d < c.high, name + window, tutorial::seconds(d));
}

void exercise() {
  const bool timing = tutorial::timing_applies();
  tutorial::warm(8);

  const std::vector<Case> cases{
      {8, 0, 0.1, 0.19}, {9, 0, 0.2, 0.29}, {0, 4, 0.1, 0.19},
      {0, 5, 0.2, 0.29}, {4, 4, 0.1, 0.19}, {5, 4, 0.2, 0.29},
  };
  for (const Case& c : cases) run_case(c, timing);
}

}  // namespace

int main(int argc, char** argv) {
  raympi::Config cfg;
  cfg.num_cpus = 8;
  cfg.resources["Custom1"] = 4;
  return tutorial::main_with(argc, argv, cfg, exercise);
}
