// Tutorial exercise 2: task dependencies.
//
// Set-up (per node): 4 CPUs. Four pipelines load -> normalize -> extract ->
// loss; every step sleeps 0.1 s. Only ObjectRefs pass between the steps (an
// ObjectRef<Matrix> given where the parameter is a Matrix is a dependency) and
// the driver calls `get` once, at the end.
//   load:      a 1000x100 matrix of ones
//   normalize: subtracts the column means (all zeros here)
//   extract:   concatenates x and x*x column-wise (1000x200)
//   loss:      sum over rows of ((F * 1) - 1)^2 (1000 per pipeline)
// Checks: total loss == 4000; each loop iteration on the driver (submitting
// one pipeline) returns in < 0.1 s, i.e. submission never blocks;
// 0.4 s < duration < 0.8 s.
//
// Run: mpirun --oversubscribe -n 3 ./build/examples/02_task_dependencies

#include "tutorial_support.hpp"

#include <raympi/raympi.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

namespace {

/// A dense row-major matrix of doubles.
struct Matrix {
  std::size_t rows = 0;
  std::size_t cols = 0;
  std::vector<double> data;

  Matrix() = default;
  Matrix(std::size_t r, std::size_t c, double fill) : rows(r), cols(c), data(r * c, fill) {}
  double& at(std::size_t r, std::size_t c) { return data[r * cols + c]; }
  double at(std::size_t r, std::size_t c) const { return data[r * cols + c]; }

  template <class Archive>
  void serialize(Archive& ar) {
    ar(rows, cols, data);
  }
};

void step_sleep() { std::this_thread::sleep_for(std::chrono::milliseconds(100)); }

Matrix load_data(std::string filename) {
  (void)filename;  // the tutorial's stand-in for reading a file
  step_sleep();
  return Matrix(1000, 100, 1.0);
}

Matrix normalize_data(const Matrix& x) {
  step_sleep();
  std::vector<double> mean(x.cols, 0.0);
  for (std::size_t r = 0; r < x.rows; ++r)
    for (std::size_t c = 0; c < x.cols; ++c) mean[c] += x.at(r, c);
  for (double& m : mean) m /= double(x.rows);
  Matrix out(x.rows, x.cols, 0.0);
  for (std::size_t r = 0; r < x.rows; ++r)
    for (std::size_t c = 0; c < x.cols; ++c) out.at(r, c) = x.at(r, c) - mean[c];
  return out;
}

Matrix extract_features(const Matrix& x) {
  step_sleep();
  Matrix out(x.rows, 2 * x.cols, 0.0);
  for (std::size_t r = 0; r < x.rows; ++r)
    for (std::size_t c = 0; c < x.cols; ++c) {
      out.at(r, c) = x.at(r, c);
      out.at(r, x.cols + c) = x.at(r, c) * x.at(r, c);
    }
  return out;
}

double compute_loss(const Matrix& features) {
  step_sleep();
  double loss = 0;
  for (std::size_t r = 0; r < features.rows; ++r) {
    double row = 0;  // (F * ones)[r]
    for (std::size_t c = 0; c < features.cols; ++c) row += features.at(r, c);
    loss += (row - 1.0) * (row - 1.0);
  }
  return loss;
}

}  // namespace

RAYMPI_REMOTE(load_data, normalize_data, extract_features, compute_loss);

namespace {

void exercise() {
  const bool timing = tutorial::timing_applies();
  tutorial::warm(4);

  std::vector<raympi::ObjectRef<double>> losses;
  std::vector<double> iteration;  // seconds per loop iteration
  const auto start = tutorial::Clock::now();
  for (int i = 0; i < 4; ++i) {
    const auto t0 = tutorial::Clock::now();
    raympi::ObjectRef<Matrix> data = raympi::task(load_data).remote("data_" + std::to_string(i));
    raympi::ObjectRef<Matrix> normalized = raympi::task(normalize_data).remote(data);
    raympi::ObjectRef<Matrix> features = raympi::task(extract_features).remote(normalized);
    losses.push_back(raympi::task(compute_loss).remote(features));
    iteration.push_back(tutorial::since(t0));
  }
  const std::vector<double> values = raympi::get(losses);
  const double d = tutorial::since(start);

  double total = 0;
  for (double v : values) total += v;
  char got[64];
  std::snprintf(got, sizeof got, "%.6g", total);
  tutorial::check(std::abs(total - 4000.0) < 1e-9, "total loss == 4000", got);

  double slowest = 0;
  for (double t : iteration) slowest = std::max(slowest, t);
  // Submission must never block, whatever the node count.
  tutorial::check(slowest < 0.1, "each loop iteration on the driver returns in < 0.1 s",
                  "slowest " + tutorial::seconds(slowest));
  tutorial::check_window(timing, d > 0.4 && d < 0.8, "0.4 s < duration < 0.8 s", tutorial::seconds(d));
}

}  // namespace

int main(int argc, char** argv) {
  raympi::Config cfg;
  cfg.num_cpus = 4;
  return tutorial::main_with(argc, argv, cfg, exercise);
}
