// Tutorial exercise 8: put large objects once.
//
// Set-up (per node): 4 CPUs. The driver `put`s 1,000,000 doubles of weights
// once; 20 tasks `use_weights(weights, i)` take the ObjectRef where the
// parameter is the vector (a dependency, resolved from the node's store
// without copying it per task) and return i.
// Checks: results == 0..19; duration (from the put to the last result) < 1 s.
// Also prints the times of put, get, and a plain cereal binary serialise /
// deserialise of the same weights through a std::stringstream, to compare.
//
// Run: mpirun --oversubscribe -n 3 ./build/examples/08_put

#include "tutorial_support.hpp"

#include <raympi/raympi.hpp>

#include <cereal/archives/binary.hpp>
#include <cereal/types/vector.hpp>

#include <chrono>
#include <cstdio>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

int use_weights(const std::vector<double>& weights, int i) {
  (void)weights;
  return i;
}

}  // namespace

RAYMPI_REMOTE(use_weights);

namespace {

std::string millis(double s) {
  char b[64];
  std::snprintf(b, sizeof b, "%.3f ms", s * 1e3);
  return b;
}

void exercise() {
  const bool timing = tutorial::timing_applies();
  tutorial::warm(4);

  std::vector<double> weights(1'000'000);
  std::mt19937_64 rng(8);
  std::normal_distribution<double> normal;
  for (double& w : weights) w = normal(rng);

  const auto start = tutorial::Clock::now();
  raympi::ObjectRef<std::vector<double>> ref = raympi::put(weights);
  const double t_put = tutorial::since(start);
  std::vector<raympi::ObjectRef<int>> refs;
  for (int i = 0; i < 20; ++i) refs.push_back(raympi::task(use_weights).remote(ref, i));
  const std::vector<int> results = raympi::get(refs);
  const double d = tutorial::since(start);

  std::vector<int> expected(20);
  for (int i = 0; i < 20; ++i) expected[std::size_t(i)] = i;
  tutorial::check(results == expected, "results == 0..19", tutorial::braced(results));
  tutorial::check_window(timing, d < 1.0, "duration < 1 s", tutorial::seconds(d));

  auto t = tutorial::Clock::now();
  const std::vector<double> back = raympi::get(ref);
  const double t_get = tutorial::since(t);
  tutorial::check(back == weights, "get returns the weights that were put", std::to_string(back.size()) + " doubles");

  std::stringstream stream;
  t = tutorial::Clock::now();
  {
    cereal::BinaryOutputArchive out(stream);
    out(weights);
  }
  const double t_ser = tutorial::since(t);
  std::vector<double> plain;
  t = tutorial::Clock::now();
  {
    cereal::BinaryInputArchive in(stream);
    in(plain);
  }
  const double t_deser = tutorial::since(t);
  tutorial::check(plain == weights, "plain cereal round trip returns the weights",
                  std::to_string(plain.size()) + " doubles");

  std::printf("INFO: weights: 1,000,000 doubles (%.1f MB)\n", double(weights.size() * sizeof(double)) / 1e6);
  std::printf("INFO: put %s; get %s; plain serialise %s; plain deserialise %s\n", millis(t_put).c_str(),
              millis(t_get).c_str(), millis(t_ser).c_str(), millis(t_deser).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  raympi::Config cfg;
  cfg.num_cpus = 4;
  return tutorial::main_with(argc, argv, cfg, exercise);
}
