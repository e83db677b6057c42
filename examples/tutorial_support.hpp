#pragma once
/// @file tutorial_support.hpp
/// @brief What every tutorial program shares: the PASS / FAIL / SKIP / NOTE
/// lines, the timing-window rule, the warm-up and main()'s skeleton.
///
/// Header-only and kept beside the programs (not part of the library): it is
/// the tutorials' test harness, so each program shows only its exercise.
///
/// @code
/// void exercise() {
///   const bool timing = tutorial::timing_applies();
///   tutorial::warm(4);
///   const auto start = tutorial::Clock::now();
///   ...
///   tutorial::check(ok, "results == {0,1,2,3}", got);
///   tutorial::check_window(timing, d >= 1.0 && d < 1.1, "1.0 s <= duration < 1.1 s", tutorial::seconds(d));
/// }
/// int main(int argc, char** argv) {
///   raympi::Config cfg;
///   cfg.num_cpus = 4;
///   return tutorial::main_with(argc, argv, cfg, exercise);
/// }
/// @endcode

#include <raympi/raympi.hpp>

#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

namespace tutorial {

/// Wall time on the driver: steady, so a clock adjustment cannot skew a window.
using Clock = std::chrono::steady_clock;

/// Checks failed so far; main_with turns it into the exit status.
inline int failures = 0;

/// Seconds since @p start.
inline double since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

/// "1.004 s": the format every measured duration is printed in.
inline std::string seconds(double s) {
  char b[64];
  std::snprintf(b, sizeof b, "%.3f s", s);
  return b;
}

/// "{0,1,2,3}": how the programs print a list of results.
inline std::string braced(const std::vector<int>& values) {
  std::string s = "{";
  for (std::size_t i = 0; i < values.size(); ++i) s += (i ? "," : "") + std::to_string(values[i]);
  return s + "}";
}

/// One line per check, "PASS: what (measured)" or "FAIL: ...", so a reader
/// (and ctest's log) sees the measured value next to the expectation.
inline void check(bool ok, const std::string& what, const std::string& measured) {
  std::printf("%s: %s (%s)\n", ok ? "PASS" : "FAIL", what.c_str(), measured.c_str());
  if (!ok) ++failures;
}

/// True when the tutorial's timing windows apply: they are for one node, and
/// more node ranks mean more slots. Otherwise prints a NOTE saying so.
inline bool timing_applies() {
  const std::size_t num_nodes = raympi::nodes().size();
  if (num_nodes == 1) return true;
  std::printf("NOTE: %zu node ranks: the timing windows are for one node and are skipped\n", num_nodes);
  return false;
}

/// A timing check: skipped (not failed) when the job has more than one node
/// (@p timing from timing_applies()); the window itself is never widened.
inline void check_window(bool timing, bool ok, const std::string& what, const std::string& measured) {
  if (!timing) {
    std::printf("SKIP: %s (%s; more than one node)\n", what.c_str(), measured.c_str());
    return;
  }
  check(ok, what, measured);
}

/// Starts the worker threads before anything is timed (the tutorial sleeps
/// after ray.init for the same reason): @p n trivial tasks, one per slot. A
/// captureless lambda registers itself, so no program has to RAYMPI_REMOTE it.
inline void warm(int n) {
  std::vector<raympi::ObjectRef<int>> refs;
  for (int i = 0; i < n; ++i) refs.push_back(raympi::task([](int k) { return k; }).remote(i));
  raympi::get(refs);
}

/// main()'s skeleton: init with the exercise's per-node @p cfg, run
/// @p exercise (an exception is one more FAIL, not a crash, so shutdown still
/// runs on every rank), shut down, exit 0 only when every check passed.
/// Ranks other than the driver serve inside init until shutdown and exit there.
template <class Exercise>
int main_with(int& argc, char**& argv, const raympi::Config& cfg, Exercise&& exercise) {
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

}  // namespace tutorial
