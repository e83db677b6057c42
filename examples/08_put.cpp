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

#include <raympi/raympi.hpp>

#include <cereal/archives/binary.hpp>
#include <cereal/types/vector.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

int use_weights(const std::vector<double>& weights, int i) {
  (void)weights;
  return i;
}

int warm_up(int i) { return i; }

}  // namespace

RAYMPI_REMOTE(use_weights, warm_up);

namespace {

using Clock = std::chrono::steady_clock;

int failures = 0;

std::string seconds(double s) {
  char b[64];
  std::snprintf(b, sizeof b, "%.3f s", s);
  return b;
}

std::string millis(double s) {
  char b[64];
  std::snprintf(b, sizeof b, "%.3f ms", s * 1e3);
  return b;
}

double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

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
  warm(4);

  std::vector<double> weights(1'000'000);
  std::mt19937_64 rng(8);
  std::normal_distribution<double> normal;
  for (double& w : weights) w = normal(rng);

  const auto start = Clock::now();
  raympi::ObjectRef<std::vector<double>> ref = raympi::put(weights);
  const double t_put = since(start);
  std::vector<raympi::ObjectRef<int>> refs;
  for (int i = 0; i < 20; ++i) refs.push_back(raympi::task(use_weights).remote(ref, i));
  const std::vector<int> results = raympi::get(refs);
  const double d = since(start);

  std::vector<int> expected(20);
  for (int i = 0; i < 20; ++i) expected[std::size_t(i)] = i;
  std::string got = "{";
  for (std::size_t i = 0; i < results.size(); ++i) got += (i ? "," : "") + std::to_string(results[i]);
  got += "}";
  check(results == expected, "results == 0..19", got);
  check_window(timing, d < 1.0, "duration < 1 s", seconds(d));

  auto t = Clock::now();
  const std::vector<double> back = raympi::get(ref);
  const double t_get = since(t);
  check(back == weights, "get returns the weights that were put", std::to_string(back.size()) + " doubles");

  std::stringstream stream;
  t = Clock::now();
  {
    cereal::BinaryOutputArchive out(stream);
    out(weights);
  }
  const double t_ser = since(t);
  std::vector<double> plain;
  t = Clock::now();
  {
    cereal::BinaryInputArchive in(stream);
    in(plain);
  }
  const double t_deser = since(t);
  check(plain == weights, "plain cereal round trip returns the weights", std::to_string(plain.size()) + " doubles");

  std::printf("INFO: weights: 1,000,000 doubles (%.1f MB)\n", double(weights.size() * sizeof(double)) / 1e6);
  std::printf("INFO: put %s; get %s; plain serialise %s; plain deserialise %s\n", millis(t_put).c_str(),
              millis(t_get).c_str(), millis(t_ser).c_str(), millis(t_deser).c_str());
}

}  // namespace

int main(int argc, char** argv) {
  raympi::Config cfg;
  cfg.num_cpus = 4;
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
