// raympi-metg: Task Bench's METG (minimum effective task granularity) for
// raympi, next to a plain-MPI implementation of the same task graph, measured
// in the same job on the same CPUs.
//
//   mpirun -n 3 raympi-metg [--steps T] [--width W] [--reps N] [--data FILE] [--quick]
//
// What it measures. Task Bench's stencil_1d graph (Slaughter et al., "Task
// Bench: A Parameterized Benchmark for Evaluating Parallel Runtime
// Performance", SC'20): --steps T rows of --width W tasks, where task (t, i)
// reads the outputs of tasks (t-1, i-1), (t-1, i) and (t-1, i+1) (clipped at
// the edges) and runs a compute-bound kernel (stencil_point). A sweep halves
// the kernel's iterations from coarse tasks (5-10 ms) down to 1; at each point
// it reports the task granularity (wall time x cores / tasks), the FLOP/s, and
// the efficiency: FLOP/s over the peak, the best FLOP/s the MPI baseline
// reached in the sweep. METG(50%) is the smallest granularity at which a
// system still reaches 50% efficiency.
//
// Why. Per-task overhead decides how fine a program may cut its work; METG
// puts it in one figure that compares across runtimes (Task Bench's paper
// gives it for MPI, Charm++, Legion, Dask, Spark, ...), and the ratio to
// hand-written MPI on the same machine says what the task model costs.
//
// How the job is used. MPI belongs to this program (MPI_Init_thread).
// raympi::run runs the raympi sweep first: the driver (rank 2) submits each
// whole graph, column i pinned to node nodes[i % n] with "node:<rank>", so
// that runs with several node ranks have cross-node dependencies; every other
// rank serves. raympi::run then hands every rank back, raympi's threads gone
// and MPI still initialised, and the MPI baseline runs: P = raympi's worker
// CPUs in total (capped at the world size) processes, the node ranks first
// (driver first), then ranks 0, 1, ... (the baseline needs P, which is known
// only once raympi has resolved its nodes' CPUs: hence raympi first). Columns
// are spread over the P processes in contiguous blocks; each timestep swaps
// the boundary columns with Isend/Irecv, as Task Bench's MPI implementation
// does. Ranks outside the baseline wait in MPI_Ibarrier + MPI_Test + nanosleep,
// never spinning. Both implementations run the same kernel, graph shape and
// checksum; their final rows must agree to the bit at every point (exit 1 if not).
#include <raympi/raympi.hpp>

#include "metg_graph.hpp"
#include "polite_barrier.hpp"

#include <time.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace metg {

// ---------------------------------------------------------------------------
// Options and the plan of the run

const char* const kUsage =
    "usage: mpirun -n 3 raympi-metg [options]   (rank 0: global scheduler, 1: GCS, 2..: nodes)\n"
    "  --steps T            timesteps of the graph (default 200; 16 with --quick)\n"
    "  --width W            columns (default: raympi's worker CPUs in total)\n"
    "  --reps N             runs per point; the median is reported (default 3; 1 with --quick)\n"
    "  --max-iterations N   kernel iterations of the coarsest point (default: calibrated, the largest\n"
    "                       power of 2 at which a task takes at most 10 ms; 1 ms with --quick)\n"
    "  --min-iterations N   the sweep halves the iterations down to N (default 1)\n"
    "  --data FILE          write the points as a table for examples/bench/metg_plot.gp\n"
    "  --quick              a tiny sweep, for a smoke test (a couple of seconds)\n"
    "  --help               this text\n";

struct Options {
  int steps = 0, width = 0, reps = 0;  // width 0: raympi's worker CPUs
  std::int64_t max_iterations = 0;     // 0: calibrated
  std::int64_t min_iterations = 1;
  std::string data;
  bool quick = false, help = false;
};

/// @brief Parses the options into `o`; returns an error message, or nullopt.
std::optional<std::string> parse_options(int argc, char** argv, Options& o) {
  std::optional<std::int64_t> steps, width, reps, max_it, min_it;
  for (int k = 1; k < argc; ++k) {
    std::string arg = argv[k], value;
    bool inline_value = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
      inline_value = true;
    }
    if ((arg == "--help" || arg == "-h" || arg == "--quick") && inline_value) return arg + " takes no value";
    if (arg == "--help" || arg == "-h") { o.help = true; continue; }
    if (arg == "--quick") { o.quick = true; continue; }
    std::optional<std::int64_t>* target = arg == "--steps" ? &steps : arg == "--width" ? &width
                                        : arg == "--reps" ? &reps : arg == "--max-iterations" ? &max_it
                                        : arg == "--min-iterations" ? &min_it : nullptr;
    if (!target && arg != "--data") return "unknown option '" + arg + "'";
    if (!inline_value) {
      if (k + 1 >= argc) return arg + " needs a value";
      value = argv[++k];
    }
    if (arg == "--data") {
      if (value.empty()) return "--data needs a file name";
      o.data = value;
      continue;
    }
    const std::int64_t limit = target == &max_it || target == &min_it ? std::int64_t{1} << 40 : 1'000'000;
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(value.c_str(), &end, 10);
    if (value.empty() || *end != '\0' || errno != 0 || v < 1 || v > limit)
      return arg + " needs an integer from 1 to " + std::to_string(limit) + ", got '" + value + "'";
    *target = v;
  }
  o.steps = int(steps.value_or(o.quick ? 16 : 200));
  o.width = int(width.value_or(0));
  o.reps = int(reps.value_or(o.quick ? 1 : 3));
  o.max_iterations = max_it.value_or(0);
  o.min_iterations = min_it.value_or(1);
  if (max_it && o.min_iterations > o.max_iterations)
    return "--min-iterations (" + std::to_string(o.min_iterations) + ") exceeds --max-iterations (" +
           std::to_string(o.max_iterations) + ")";
  return std::nullopt;
}

/// @brief What both sweeps run: decided on the driver, broadcast to every rank.
struct Plan {
  Graph graph;
  int reps = 1;
  int cores = 1;                         // raympi's worker CPUs in total
  int mpi_procs = 1;                     // processes of the MPI baseline
  std::vector<std::int64_t> iterations;  // the sweep, coarse to fine

  std::vector<std::int64_t> encode() const {
    std::vector<std::int64_t> v = {graph.steps, graph.width, reps, cores, mpi_procs};
    v.insert(v.end(), iterations.begin(), iterations.end());
    return v;
  }
  static Plan decode(const std::vector<std::int64_t>& v) {
    Plan p;
    p.graph = {int(v[0]), int(v[1])};
    p.reps = int(v[2]);
    p.cores = int(v[3]);
    p.mpi_procs = int(v[4]);
    p.iterations.assign(v.begin() + 5, v.end());
    return p;
  }
};

// ---------------------------------------------------------------------------
// Sweeps

/// One system's sweep: per point (coarse to fine) the median wall time and the checksum.
struct Sweep {
  std::vector<double> seconds;
  std::vector<double> checksums;
  std::string error;  // the runs of a point disagreed
};

/// @brief Runs `run_once(iterations)` `reps` times per point of the plan (after
/// one untimed warm-up run) and keeps the median time; checks that the runs of
/// a point agree on the checksum.
template <class RunOnce>
Sweep run_sweep(const Plan& plan, RunOnce&& run_once) {
  run_once(plan.iterations.back());
  Sweep s;
  for (std::int64_t it : plan.iterations) {
    std::vector<double> times;
    double first = 0;
    for (int r = 0; r < plan.reps; ++r) {
      Run x = run_once(it);
      if (r == 0) first = x.checksum;
      else if (x.checksum != first && s.error.empty())
        s.error = "two runs at " + std::to_string(it) + " iterations gave different checksums";
      times.push_back(x.seconds);
    }
    std::sort(times.begin(), times.end());
    std::size_t m = times.size() / 2;
    s.seconds.push_back(times.size() % 2 ? times[m] : 0.5 * (times[m - 1] + times[m]));
    s.checksums.push_back(first);
  }
  return s;
}

// ---------------------------------------------------------------------------
// The raympi implementation

/// Row 0: no inputs.
Value first_row(int i, std::int64_t iterations) { return stencil_point(0, i, nullptr, nullptr, nullptr, iterations); }
/// A column without neighbours (width 1).
Value one_input(Value centre, int t, int i, std::int64_t iterations) {
  return stencil_point(t, i, nullptr, &centre, nullptr, iterations);
}
/// An edge column: (centre, right) in column 0, (left, centre) in the last.
Value two_inputs(Value a, Value b, int t, int i, std::int64_t iterations) {
  return i == 0 ? stencil_point(t, i, nullptr, &a, &b, iterations) : stencil_point(t, i, &a, &b, nullptr, iterations);
}
/// An inner column.
Value three_inputs(Value left, Value centre, Value right, int t, int i, std::int64_t iterations) {
  return stencil_point(t, i, &left, &centre, &right, iterations);
}

RAYMPI_REMOTE(first_row, one_input, two_inputs, three_inputs);

/// The task callers of one node, pinned to it with a sliver of "node:<rank>".
struct NodeCallers {
  decltype(raympi::task(first_row)) first = raympi::task(first_row);
  decltype(raympi::task(one_input)) one = raympi::task(one_input);
  decltype(raympi::task(two_inputs)) two = raympi::task(two_inputs);
  decltype(raympi::task(three_inputs)) three = raympi::task(three_inputs);

  explicit NodeCallers(int rank) {
    const std::string pin = "node:" + std::to_string(rank);
    first.resource(pin, 0.001);
    one.resource(pin, 0.001);
    two.resource(pin, 0.001);
    three.resource(pin, 0.001);
  }
};

/// @brief Submits the whole graph from the driver (the previous row's refs as
/// dependencies), then gets the last row; times first submit to last get.
Run run_raympi(const Graph& g, std::int64_t iterations, const std::vector<NodeCallers>& nodes) {
  using Ref = raympi::ObjectRef<Value>;
  std::vector<Ref> prev(std::size_t(g.width)), row(std::size_t(g.width));
  auto t0 = Clock::now();
  for (int t = 0; t < g.steps; ++t) {
    for (int i = 0; i < g.width; ++i) {
      const NodeCallers& c = nodes[std::size_t(i) % nodes.size()];
      const bool l = g.has_left(i), r = g.has_right(i);
      Ref& out = row[std::size_t(i)];
      if (t == 0) out = c.first.remote(i, iterations);
      else if (l && r) out = c.three.remote(prev[i - 1], prev[i], prev[i + 1], t, i, iterations);
      else if (l) out = c.two.remote(prev[i - 1], prev[i], t, i, iterations);
      else if (r) out = c.two.remote(prev[i], prev[i + 1], t, i, iterations);
      else out = c.one.remote(prev[i], t, i, iterations);
    }
    std::swap(prev, row);
  }
  std::vector<Value> last = raympi::get(prev);
  return {seconds_since(t0), checksum(last)};
}

// ---------------------------------------------------------------------------
// The report

/// METG(50%) of one system: interpolated, an upper bound, or not reached.
struct Metg {
  enum Kind { kInterpolated, kAtMost, kNotReached } kind = kNotReached;
  double us = 0;
  std::string text() const {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3g us", us);
    return kind == kInterpolated ? std::string(buf)
           : kind == kAtMost     ? "<= " + std::string(buf) + " (every point reached 50%)"
                                 : std::string("not reached (no point reached 50%)");
  }
};

/// @brief The smallest granularity with efficiency >= 50%: the finest such
/// point of the sweep, interpolated log-linearly in granularity towards the
/// next finer point (whose efficiency is below 50%).
Metg metg_50(const std::vector<double>& gran_us, const std::vector<double>& eff) {
  Metg m;
  int last = -1;
  for (int k = 0; k < int(eff.size()); ++k)
    if (eff[k] >= 0.5) last = k;
  if (last < 0) return m;
  m.us = gran_us[last];
  m.kind = Metg::kAtMost;
  if (last + 1 == int(eff.size())) return m;
  const double f = (eff[last] - 0.5) / (eff[last] - eff[last + 1]);
  m.us = std::exp(std::log(gran_us[last]) + f * (std::log(gran_us[last + 1]) - std::log(gran_us[last])));
  m.kind = Metg::kInterpolated;
  return m;
}

/// @brief Checks the checksums, prints the table and METG, writes the data
/// file; returns the exit status.
int report(const Plan& plan, const Sweep& ray, const Sweep& mpi, std::ofstream& data) {
  for (const Sweep* s : {&ray, &mpi})
    if (!s->error.empty()) {
      std::printf("raympi-metg: FAIL: %s: %s\n", s == &ray ? "raympi" : "MPI", s->error.c_str());
      return 1;
    }
  for (std::size_t k = 0; k < plan.iterations.size(); ++k)
    if (ray.checksums[k] != mpi.checksums[k]) {
      std::printf("raympi-metg: FAIL: wrong checksum at %lld iterations: raympi %.17g, MPI %.17g\n",
                  (long long)plan.iterations[k], ray.checksums[k], mpi.checksums[k]);
      return 1;
    }
  const std::size_t n = plan.iterations.size();
  auto flops = [&](const Sweep& s, std::size_t k) {
    return plan.graph.tasks() * double(plan.iterations[k]) * kFlopsPerIteration / std::max(s.seconds[k], 1e-9);
  };
  double peak = 0;
  std::size_t peak_at = 0;
  for (std::size_t k = 0; k < n; ++k)
    if (flops(mpi, k) > peak) peak = flops(mpi, k), peak_at = k;
  struct Series {
    const char* name;
    const Sweep* sweep;
    int cores;
    std::vector<double> gran_us, eff;
  } sys[2] = {{"raympi", &ray, plan.cores, {}, {}}, {"mpi", &mpi, plan.mpi_procs, {}, {}}};
  for (Series& s : sys)
    for (std::size_t k = 0; k < n; ++k) {
      s.gran_us.push_back(s.sweep->seconds[k] * s.cores / plan.graph.tasks() * 1e6);
      s.eff.push_back(flops(*s.sweep, k) / peak);
    }

  std::printf("\n%12s | %13s %11s %7s | %13s %11s %7s\n", "iterations", "raympi gran.", "FLOP/s", "eff.",
              "MPI gran.", "FLOP/s", "eff.");
  for (std::size_t k = 0; k < n; ++k) {
    std::printf("%12lld", (long long)plan.iterations[k]);
    for (Series& s : sys)
      std::printf(" | %10.2f us %11.4g %6.1f%%", s.gran_us[k], flops(*s.sweep, k), 100 * s.eff[k]);
    std::printf("\n");
  }
  std::printf("\ngranularity = wall time x cores / tasks (cores: raympi %d, MPI %d); FLOP/s = tasks x iterations x %g / "
              "wall time\n",
              plan.cores, plan.mpi_procs, kFlopsPerIteration);
  std::printf("peak FLOP/s = the best of the MPI baseline: %.4g at %lld iterations; efficiency = FLOP/s / peak\n",
              peak, (long long)plan.iterations[peak_at]);
  const Metg mr = metg_50(sys[0].gran_us, sys[0].eff), mm = metg_50(sys[1].gran_us, sys[1].eff);
  std::printf("METG(50%%) raympi: %s\n", mr.text().c_str());
  std::printf("METG(50%%) MPI:    %s\n", mm.text().c_str());
  std::printf("  (the finest point with efficiency >= 50%%, interpolated log-linearly towards the next finer point)\n");
  if (mr.kind != Metg::kNotReached && mm.kind != Metg::kNotReached)
    std::printf("METG ratio raympi/MPI: %.3g%s\n", mr.us / mm.us,
                mr.kind == Metg::kInterpolated && mm.kind == Metg::kInterpolated ? "" : " (from a bound)");
  else
    std::printf("METG ratio raympi/MPI: n/a\n");
  std::printf("coarse-grain FLOP/s ratio raympi/MPI (%lld iterations): %.3f\n", (long long)plan.iterations[0],
              flops(ray, 0) / flops(mpi, 0));
  std::printf("checksums: raympi and MPI agree at every point\n");

  if (data.is_open()) {
    data << "# raympi-metg: system granularity_us efficiency flops iterations   (flops = FLOP/s)\n";
    for (Series& s : sys)
      for (std::size_t k = 0; k < n; ++k)
        data << s.name << ' ' << s.gran_us[k] << ' ' << s.eff[k] << ' ' << flops(*s.sweep, k) << ' '
             << plan.iterations[k] << '\n';
    data.flush();
    if (!data) {
      std::printf("raympi-metg: FAIL: could not write the data file\n");
      return 1;
    }
  }
  return 0;
}

// ---------------------------------------------------------------------------
// The driver's part: plan, header, raympi sweep

/// @brief On the driver, inside raympi::run: decides the plan, prints the
/// header and runs the raympi sweep; returns the exit status.
int raympi_part(const Options& opt, int world, Plan& plan, Sweep& sweep) {
  std::vector<raympi::NodeInfo> nodes = raympi::nodes();
  std::sort(nodes.begin(), nodes.end(), [](auto& a, auto& b) { return a.rank < b.rank; });
  double cpus = 0;
  std::string per_node;
  for (auto& node : nodes) {
    double c = node.resources.count("CPU") ? node.resources.at("CPU") : 0;
    cpus += c;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%srank %d: %g CPUs", per_node.empty() ? "" : ", ", node.rank, c);
    per_node += buf;
  }
  plan.cores = std::max(1, int(cpus));
  plan.mpi_procs = std::min(plan.cores, world);
  plan.graph = {opt.steps, opt.width > 0 ? opt.width : plan.cores};
  plan.reps = opt.reps;
  std::int64_t max_it = opt.max_iterations;
  const double ns = ns_per_iteration();
  if (max_it == 0) {  // calibrated: the largest power of 2 under the target task time
    const double target_ns = opt.quick ? 1e6 : 1e7;
    max_it = 1;
    while (double(max_it) * 2 * ns <= target_ns) max_it *= 2;
    max_it = std::max(max_it, opt.min_iterations);
  }
  for (std::int64_t it = max_it; it >= opt.min_iterations && it > 0; it /= 2) plan.iterations.push_back(it);

  const int driver = raympi::current_rank();
  std::string baseline;
  for (int k = 0; k < plan.mpi_procs; ++k) baseline += (k ? ", " : "") + std::to_string((driver + k) % world);
  std::printf("raympi-metg: Task Bench stencil_1d, METG(50%%): raympi next to plain MPI\n");
  std::printf("job: %d MPI ranks; raympi: %zu node(s) (%s), %d worker CPUs, driver on rank %d\n", world,
              nodes.size(), per_node.c_str(), plan.cores, driver);
  std::printf("MPI baseline: %d processes (world ranks %s)%s\n", plan.mpi_procs, baseline.c_str(),
              plan.mpi_procs < plan.cores ? "; WARNING: fewer than raympi's CPUs (capped at the world size)" : "");
  std::printf("graph: %d steps x %d columns = %.0f tasks per run; task (t,i) reads (t-1, i-1..i+1); column i runs "
              "on node i mod %zu\n",
              plan.graph.steps, plan.graph.width, plan.graph.tasks(), nodes.size());
  std::printf("kernel: one iteration = x = x*a + b on 4 doubles = %g FLOP, %.2f ns here; sweep %lld (%.3g ms per "
              "task) down to %lld iterations, %zu points, median of %d run(s)\n",
              kFlopsPerIteration, ns, (long long)plan.iterations.front(), double(plan.iterations.front()) * ns / 1e6,
              (long long)plan.iterations.back(), plan.iterations.size(), plan.reps);
  std::fflush(stdout);

  std::vector<NodeCallers> callers;
  for (auto& node : nodes) callers.emplace_back(node.rank);
  auto t0 = Clock::now();
  sweep = run_sweep(plan, [&](std::int64_t it) { return run_raympi(plan.graph, it, callers); });
  std::printf("raympi sweep: %.2f s\n", seconds_since(t0));
  std::fflush(stdout);
  return 0;
}

}  // namespace metg

int main(int argc, char** argv) {
  using namespace metg;
  int provided = 0, rank = 0, world = 1;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);

  // Every rank parses the same arguments and takes the same exit.
  Options opt;
  if (auto err = parse_options(argc, argv, opt); err || opt.help) {
    if (rank == 0) std::fprintf(err ? stderr : stdout, "%s%s%s", err ? "raympi-metg: " : "",
                                err ? (*err + "\n").c_str() : "", kUsage);
    MPI_Finalize();
    return err ? 2 : 0;
  }

  // raympi first (see the file comment); every rank comes back with the driver's status.
  Plan plan;
  Sweep ray;
  std::ofstream data;
  int driver = -1;
  int rc = raympi::run(argc, argv, [&] {
    driver = rank;
    if (!opt.data.empty()) {
      data.open(opt.data);
      if (!data) {
        std::fprintf(stderr, "raympi-metg: cannot write the data file '%s'\n", opt.data.c_str());
        return 2;
      }
    }
    return raympi_part(opt, world, plan, ray);
  });
  bench::polite_barrier(MPI_COMM_WORLD, std::chrono::microseconds(200));
  if (rc != 0) {
    MPI_Finalize();
    return rc;
  }
  MPI_Allreduce(MPI_IN_PLACE, &driver, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  std::vector<std::int64_t> encoded = plan.encode();
  int len = int(encoded.size());
  MPI_Bcast(&len, 1, MPI_INT, driver, MPI_COMM_WORLD);
  encoded.resize(std::size_t(len));
  MPI_Bcast(encoded.data(), len, MPI_INT64_T, driver, MPI_COMM_WORLD);
  plan = Plan::decode(encoded);

  // The MPI baseline on the first P ranks counted from the driver; process 0 is the driver.
  const int key = (rank - driver + world) % world;
  MPI_Comm comm = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, key < plan.mpi_procs ? 0 : MPI_UNDEFINED, key, &comm);
  Sweep mpi;
  if (comm != MPI_COMM_NULL) {
    auto t0 = Clock::now();
    mpi = run_sweep(plan, [&](std::int64_t it) { return run_mpi(comm, plan.graph, it); });
    if (rank == driver) std::printf("MPI sweep: %.2f s\n", seconds_since(t0));
    MPI_Comm_free(&comm);
  }
  int status = rank == driver ? report(plan, ray, mpi, data) : 0;
  std::fflush(stdout);
  bench::polite_barrier(MPI_COMM_WORLD, std::chrono::microseconds(200));
  MPI_Bcast(&status, 1, MPI_INT, driver, MPI_COMM_WORLD);
  MPI_Finalize();
  return status;
}
