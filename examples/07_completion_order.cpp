// Tutorial exercise 7: process results in completion order.
//
// Set-up (per node): 5 CPUs. Ten tasks sleep a random 0-5 s (fixed seed) and
// return their finish time. The driver handles each result as soon as it is
// ready, with `wait(num_returns = 1)` in a loop.
// Check: the processed finish times are sorted.
//
// The sleeps come from std::mt19937_64 (whose output the standard fixes) with
// seed 29; on 5 slots, first come first served, the ten finish times are at
// least 0.2 s apart, far more than one round of the loop takes.
//
// Run: mpirun --oversubscribe -n 3 ./build/examples/07_completion_order

#include "tutorial_support.hpp"

#include <raympi/raympi.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

double f(double sleep_seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(sleep_seconds));
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace

RAYMPI_REMOTE(f);

namespace {

void exercise() {
  // No timing window here, so its own NOTE rather than timing_applies()'s.
  const std::size_t num_nodes = raympi::nodes().size();
  if (num_nodes > 1) std::printf("NOTE: %zu node ranks (this exercise has no timing window)\n", num_nodes);
  tutorial::warm(5);

  std::mt19937_64 rng(29);
  std::vector<double> sleeps(10);
  for (double& s : sleeps) s = double(rng() >> 11) * 0x1.0p-53 * 5.0;  // uniform in [0, 5)

  const auto start = tutorial::Clock::now();
  std::vector<raympi::ObjectRef<double>> remaining;
  for (double s : sleeps) remaining.push_back(raympi::task(f).remote(s));

  std::vector<double> processed;  // finish times, in the order the driver handled them
  while (!remaining.empty()) {
    raympi::WaitResult<double> wr = raympi::wait(remaining, 1);
    if (wr.ready.size() != 1) throw raympi::Error("wait(num_returns = 1) returned " +
                                                  std::to_string(wr.ready.size()) + " ready refs");
    processed.push_back(raympi::get(wr.ready.front()));
    remaining = std::move(wr.remaining);
  }
  const double d = tutorial::since(start);

  std::string got = "+";
  for (std::size_t i = 0; i < processed.size(); ++i)
    got += (i ? ", +" : "") + tutorial::seconds(processed[i] - processed.front());
  tutorial::check(processed.size() == sleeps.size(), "every task processed once",
                  std::to_string(processed.size()) + " of 10");
  tutorial::check(std::is_sorted(processed.begin(), processed.end()), "the processed finish times are sorted", got);
  std::printf("INFO: all ten processed after %s\n", tutorial::seconds(d).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  raympi::Config cfg;
  cfg.num_cpus = 5;
  return tutorial::main_with(argc, argv, cfg, exercise);
}
