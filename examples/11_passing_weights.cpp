// Tutorial exercise 11: passing weights between actors.
//
// Set-up (per node): 4 CPUs. Four actors each hold a small linear model
// y = w·x + b, with 10 weights w drawn uniformly from [-1, 1] (each actor its
// own seed) and b = 0, and offer `get_weights()` -> map<string, vector<float>>
// ({"w": ..., "b": ...}) and `set_weights(map)`. The driver gets all four
// weight maps, averages them element-wise and sets the average on every actor.
// Checks: the actors start with different weights; afterwards all four return
// identical weights, equal (exactly: the same floats travelled to each) to the
// average, and predict the same y for the same x.
//
// Plain C++, no ML framework: the model is two float vectors.
//
// Run: mpirun --oversubscribe -n 3 ./build/examples/11_passing_weights

#include "tutorial_support.hpp"

#include <raympi/raympi.hpp>

#include <cstddef>
#include <cstdio>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

namespace {

using Weights = std::map<std::string, std::vector<float>>;

constexpr int num_actors = 4;
constexpr std::size_t num_inputs = 10;

struct LinearModel {
  explicit LinearModel(int seed) : w(num_inputs), b{0.0f} {
    std::mt19937 gen(static_cast<unsigned>(seed));
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (float& x : w) x = uniform(gen);
  }
  Weights get_weights() const { return {{"w", w}, {"b", b}}; }
  void set_weights(const Weights& weights) {
    w = weights.at("w");
    b = weights.at("b");
  }
  float predict(const std::vector<float>& x) const {
    float y = b[0];
    for (std::size_t i = 0; i < w.size(); ++i) y += w[i] * x[i];
    return y;
  }
  std::vector<float> w, b;
};

std::unique_ptr<LinearModel> make_model(int seed) { return std::make_unique<LinearModel>(seed); }

}  // namespace

RAYMPI_REMOTE(make_model, &LinearModel::get_weights, &LinearModel::set_weights, &LinearModel::predict);

namespace {

std::vector<Weights> all_weights(const std::vector<raympi::ActorHandle<LinearModel>>& actors) {
  std::vector<raympi::ObjectRef<Weights>> refs;
  for (const auto& a : actors) refs.push_back(a.task(&LinearModel::get_weights).remote());
  return raympi::get(refs);
}

Weights average(const std::vector<Weights>& all) {
  Weights avg = all.front();
  for (auto& [name, values] : avg) {
    for (std::size_t i = 0; i < values.size(); ++i) {
      float sum = 0.0f;
      for (const Weights& m : all) sum += m.at(name).at(i);
      values[i] = sum / float(all.size());
    }
  }
  return avg;
}

bool well_formed(const Weights& m) {
  if (m.size() != 2 || !m.count("w") || !m.count("b")) return false;
  if (m.at("w").size() != num_inputs || m.at("b") != std::vector<float>{0.0f}) return false;
  for (float x : m.at("w"))
    if (x < -1.0f || x > 1.0f) return false;
  return true;
}

void exercise() {
  // No timing window here, so its own NOTE rather than timing_applies()'s.
  const std::size_t num_nodes = raympi::nodes().size();
  if (num_nodes > 1) std::printf("NOTE: %zu node ranks (this exercise has no timing window)\n", num_nodes);
  tutorial::warm(4);

  std::vector<raympi::ActorHandle<LinearModel>> actors;
  for (int i = 0; i < num_actors; ++i) actors.push_back(raympi::actor(make_model).remote(i));

  const std::vector<Weights> before = all_weights(actors);
  bool formed = before.size() == std::size_t(num_actors);
  for (const Weights& m : before) formed = formed && well_formed(m);
  tutorial::check(formed, "4 models with w of 10 floats in [-1, 1] and b == {0}",
                  std::to_string(before.size()) + " weight maps");
  bool distinct = formed;
  std::string firsts;
  for (std::size_t i = 0; formed && i < before.size(); ++i) {
    firsts += (i ? ", " : "") + std::to_string(before[i].at("w")[0]);
    for (std::size_t j = 0; j < i; ++j) distinct = distinct && before[i].at("w") != before[j].at("w");
  }
  tutorial::check(distinct, "the actors start with different weights", "w[0] of each: " + firsts);

  const Weights avg = average(before);
  std::vector<raympi::ObjectRef<void>> set;
  for (const auto& a : actors) set.push_back(a.task(&LinearModel::set_weights).remote(avg));
  for (const auto& r : set) raympi::get(r);

  const std::vector<Weights> after = all_weights(actors);
  int equal = 0;
  for (const Weights& m : after) equal += m == avg ? 1 : 0;
  tutorial::check(equal == num_actors && after.size() == std::size_t(num_actors),
                  "all 4 actors return identical weights, equal to the average",
                  std::to_string(equal) + " of " + std::to_string(after.size()) + " equal");

  const std::vector<float> x(num_inputs, 1.0f);
  std::vector<raympi::ObjectRef<float>> predictions;
  for (const auto& a : actors) predictions.push_back(a.task(&LinearModel::predict).remote(x));
  const std::vector<float> ys = raympi::get(predictions);
  bool same = ys.size() == std::size_t(num_actors);
  for (float y : ys) same = same && y == ys.front();
  tutorial::check(same, "all 4 actors predict the same y for x = ones(10)",
                  ys.empty() ? "none" : "y = " + std::to_string(ys.front()));
}

}  // namespace

int main(int argc, char** argv) {
  raympi::Config cfg;
  cfg.num_cpus = 4;
  return tutorial::main_with(argc, argv, cfg, exercise);
}
