// raympi-bench's harness: options, the hang guard, timing, the printed lines
// and targets, the run's header, and Bench::run (see bench_harness.hpp).
#include "bench_harness.hpp"
#include "polite_barrier.hpp"

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <numeric>
#include <utility>
#include <vector>

namespace bench {

// ---------------------------------------------------------------------------
// Options

const char* const kUsage =
    "usage: mpirun -n 4 raympi-bench [options]\n"
    "  --duration SECONDS     measured time per metric (default 1)\n"
    "  --warmup SECONDS       warm-up time per metric (default 0.25)\n"
    "  --filter TEXT          run only the metrics whose name (with its location suffix) contains TEXT\n"
    "  --batch N              tasks (calls) per round in tasks_async, tasks_and_get_batch, wait_1k_refs,\n"
    "                         1_1_actor_calls_async, 1_n_actor_calls_async (default 1000)\n"
    "  --clients N            client tasks in multi_client_tasks_async, n_n_actor_calls_async (default 4)\n"
    "  --client-tasks N       tasks (calls) per client per round in multi_client_tasks_async,\n"
    "                         n_n_actor_calls_async (default 1000)\n"
    "  --actors N             actors in 1_n_actor_calls_async, n_n_actor_calls_async (default 4)\n"
    "  --put-mb MB            bytes per put in single_client_put_gigabytes, in MB (default 100)\n"
    "  --metric-timeout S     abort the job when one metric runs longer than S seconds\n"
    "  --check-targets        exit with status 1 when a target is missed\n"
    "  --list                 print the metric names and exit\n"
    "  --help                 this text\n";

std::optional<std::string> parse_options(int argc, char** argv, Options& o, bool& help) {
  auto number = [](const std::string& name, const std::string& text, double lo,
                   double& out) -> std::optional<std::string> {
    try {
      std::size_t used = 0;
      double v = std::stod(text, &used);
      if (used != text.size() || !(v >= lo) || !std::isfinite(v))
        return name + " needs a number >= " + std::to_string(lo) + ", got '" + text + "'";
      out = v;
      return std::nullopt;
    } catch (const std::exception&) {
      return name + " needs a number, got '" + text + "'";
    }
  };
  auto integer = [&](const std::string& name, const std::string& text, int lo, int& out) -> std::optional<std::string> {
    double v = 0;
    if (auto e = number(name, text, lo, v)) return e;
    if (v != std::floor(v) || v > 1e9) return name + " needs an integer, got '" + text + "'";
    out = static_cast<int>(v);
    return std::nullopt;
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    bool has_value = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
      has_value = true;
    }
    auto take = [&]() -> std::optional<std::string> {
      if (has_value) return value;
      if (i + 1 >= argc) return std::nullopt;
      return std::string(argv[++i]);
    };
    auto flag = [&](bool& out) -> std::optional<std::string> {
      if (has_value) return arg + " takes no value";
      out = true;
      return std::nullopt;
    };
    std::optional<std::string> err;
    if (arg == "--help" || arg == "-h") {
      help = true;
    } else if (arg == "--check-targets") {
      err = flag(o.check_targets);
    } else if (arg == "--list") {
      err = flag(o.list);
    } else if (arg == "--duration" || arg == "--warmup" || arg == "--put-mb" || arg == "--metric-timeout" ||
               arg == "--filter" || arg == "--batch" || arg == "--clients" || arg == "--client-tasks" ||
               arg == "--actors") {
      auto v = take();
      if (!v) return arg + " needs a value";
      if (arg == "--duration") err = number(arg, *v, 0.001, o.duration);
      else if (arg == "--warmup") err = number(arg, *v, 0, o.warmup);
      else if (arg == "--put-mb") err = number(arg, *v, 0.000001, o.put_mb);
      else if (arg == "--metric-timeout") err = number(arg, *v, 0, o.metric_timeout);
      else if (arg == "--filter") o.filter = *v;
      else if (arg == "--batch") err = integer(arg, *v, 1, o.batch);
      else if (arg == "--clients") err = integer(arg, *v, 1, o.clients);
      else if (arg == "--actors") err = integer(arg, *v, 1, o.actors);
      else err = integer(arg, *v, 1, o.client_tasks);
    } else {
      return "unknown option '" + std::string(argv[i]) + "'";
    }
    if (err) return err;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Watchdog

Watchdog::Watchdog() : thread_([this] { loop(); }) {}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void Watchdog::arm(std::string what, double seconds) {
  std::lock_guard<std::mutex> lk(mu_);
  what_ = std::move(what);
  seconds_ = seconds;
  deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  armed_ = true;
}

void Watchdog::disarm() {
  std::lock_guard<std::mutex> lk(mu_);
  armed_ = false;
}

void Watchdog::loop() {
  std::unique_lock<std::mutex> lk(mu_);
  while (!stop_) {
    cv_.wait_for(lk, std::chrono::milliseconds(200));
    if (armed_ && Clock::now() > deadline_) {
      std::fflush(stdout);
      std::fprintf(stderr, "raympi-bench: %s did not finish within %.0f s: aborting the job\n", what_.c_str(),
                   seconds_);
      std::fflush(stderr);
      std::_Exit(3);  // mpirun then ends the other ranks
    }
  }
}

// ---------------------------------------------------------------------------
// Timing

void check_echo_sum(const std::vector<int>& got, std::int64_t first, const char* what) {
  std::int64_t expect = 0;
  for (std::size_t i = 0; i < got.size(); ++i) expect += first + static_cast<std::int64_t>(i);
  std::int64_t sum = std::accumulate(got.begin(), got.end(), std::int64_t{0});
  if (sum != expect) throw std::runtime_error(std::string(what) + " returned wrong values");
}

Measure time_batches(const std::function<raympi::ObjectRef<int>(int)>& submit, int n, double warmup, double duration,
                     const char* what, double* submit_us) {
  return time_batch_calls(
      [&](std::vector<raympi::ObjectRef<int>>& refs) {
        for (int i = 0; i < n; ++i) refs.push_back(submit(i));
      },
      n, warmup, duration, what, submit_us);
}

Measure time_batch_calls(const std::function<void(std::vector<raympi::ObjectRef<int>>&)>& submit_all, int n,
                         double warmup, double duration, const char* what, double* submit_us) {
  std::vector<raympi::ObjectRef<int>> refs;
  refs.reserve(static_cast<std::size_t>(n));
  double submit_seconds = 0;
  std::uint64_t submitted = 0;
  Measure m = timeit(
      [&] {
        refs.clear();
        auto s0 = Clock::now();
        submit_all(refs);
        submit_seconds += seconds_since(s0);
        submitted += static_cast<std::uint64_t>(n);
        check_echo_sum(raympi::get(refs), 0, what);
      },
      n, warmup, duration);
  if (submit_us) *submit_us = 1e6 * submit_seconds / static_cast<double>(std::max<std::uint64_t>(submitted, 1));
  return m;
}

Measure timeit(const std::function<void()>& fn, double units_per_call, double warmup, double duration) {
  auto w0 = Clock::now();
  std::uint64_t wcalls = 0;
  do {
    fn();
    ++wcalls;
  } while (seconds_since(w0) < warmup);
  double per_call = seconds_since(w0) / static_cast<double>(wcalls);
  // Read the clock about once per millisecond, not once per call.
  std::uint64_t step = per_call > 0 ? std::max<std::uint64_t>(1, static_cast<std::uint64_t>(1e-3 / per_call)) : 1000;
  int slices = std::clamp(static_cast<int>(duration / std::max(per_call, 1e-9)), 1, 4);

  Measure m;
  std::vector<double> rates;
  for (int s = 0; s < slices; ++s) {
    std::uint64_t calls = 0;
    auto t0 = Clock::now();
    double elapsed = 0;
    do {
      for (std::uint64_t k = 0; k < step; ++k) fn();
      calls += step;
      elapsed = seconds_since(t0);
    } while (elapsed < duration / slices);
    rates.push_back(static_cast<double>(calls) * units_per_call / elapsed);
    m.calls += calls;
    m.seconds += elapsed;
  }
  m.rate = static_cast<double>(m.calls) * units_per_call / m.seconds;
  if (slices > 1) {
    double mean = std::accumulate(rates.begin(), rates.end(), 0.0) / slices;
    double var = 0;
    for (double r : rates) var += (r - mean) * (r - mean);
    m.spread = mean > 0 ? std::sqrt(var / slices) / mean : 0;
  }
  return m;
}

// ---------------------------------------------------------------------------
// Reporting

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string with_commas(double v) {
  auto n = static_cast<long long>(std::llround(v));
  std::string s = std::to_string(n < 0 ? -n : n);
  for (int i = static_cast<int>(s.size()) - 3; i > 0; i -= 3) s.insert(static_cast<std::size_t>(i), ",");
  return (n < 0 ? "-" : "") + s;
}

void print_line(const std::string& name, const std::string& figure, const std::string& details,
                const std::string& target) {
  char buf[1024];
  std::snprintf(buf, sizeof buf, "%-48s %30s   %s", name.c_str(), figure.c_str(), details.c_str());
  std::string line = buf;
  if (!target.empty()) line += "   [" + target + "]";
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
}

void report(Tally& tally, const std::string& name, const Measure& m, const char* unit, std::string details,
            Target target) {
  bool gb = std::strcmp(unit, "GB/s") == 0;
  std::string figure = fmt(gb ? "%.2f" : "%.1f", m.rate) + " " + unit +
                       (m.spread >= 0 ? fmt(" +-%4.1f%%", 100 * m.spread) : std::string(" (1 run)"));
  if (!details.empty()) details = "(" + details + ")";
  std::string verdict;
  if (target.kind == Target::kMaxMicros) {
    double us = 1e6 / m.rate;
    bool ok = us <= target.value;
    verdict = "target <= " + fmt("%g", target.value) + " us: " + (ok ? "OK" : "MISS");
    ++(ok ? tally.ok : tally.miss);
  } else if (target.kind == Target::kMinRate) {
    bool ok = m.rate >= target.value;
    verdict = "target >= " + with_commas(target.value) + " " + unit + ": " + (ok ? "OK" : "MISS");
    ++(ok ? tally.ok : tally.miss);
  }
  print_line(name, figure, details, verdict);
}

// ---------------------------------------------------------------------------
// Header

std::string host_name() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "?";
  return buf;
}

int cpus_in_affinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return -1;
  return CPU_COUNT(&set);
}

std::string build_description() {
  std::string s;
#if defined(__clang__)
  s = "clang " __clang_version__;
#elif defined(__GNUC__)
  s = "g++ " __VERSION__;
#else
  s = "unknown compiler";
#endif
#ifdef NDEBUG
  s += ", NDEBUG";
#else
  s += ", assertions on (not a release build: figures are pessimistic)";
#endif
#ifdef __OPTIMIZE__
  s += ", optimized";
#else
  s += ", NOT optimized (-O0)";
#endif
  return s;
}

std::string format_resources(const std::map<std::string, double>& r) {
  std::string s;
  for (auto& [k, v] : r) {
    if (!s.empty()) s += ", ";
    s += k + "=" + fmt("%g", v);
  }
  return s;
}

// ---------------------------------------------------------------------------
// Running one metric

/// Runs one metric: filter, skip, watchdog, errors.
void Bench::run(const std::string& name, const std::string& skip_reason,
                const std::function<void(const std::string&)>& body) {
  if (!selected(name)) return;
  if (opt.list) {
    std::printf("%s\n", name.c_str());
    return;
  }
  if (!skip_reason.empty()) {
    ++tally.skipped;
    print_line(name, "skipped", "(" + skip_reason + ")", "");
    return;
  }
  ++tally.run;
  // 120 s at least: the data-plane metrics move a fixed amount of data
  // whatever --duration says (1 GiB objects, three times, plus the raw UCX
  // baselines: 20-80 s over tcp loopback on a loaded 2-core host).
  double limit = opt.metric_timeout > 0 ? opt.metric_timeout : 120 + 10 * (opt.warmup + opt.duration);
  watchdog->arm(name, limit);
  try {
    body(name);
  } catch (const std::exception& e) {
    ++tally.failed;
    print_line(name, "FAILED", std::string("(") + e.what() + ")", "");
  }
  watchdog->disarm();
}

}  // namespace bench

namespace bench {

double mpi_round_trip_us(int a, int b, int rounds) {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  double median = 0;
  if (rank == a || rank == b) {
    const int peer = rank == a ? b : a;
    std::int64_t word = 0;
    std::vector<double> trips;
    for (int i = -rounds / 10; i < rounds; ++i) {  // the first tenth warms up
      auto t0 = Clock::now();
      if (rank == a) {
        MPI_Send(&word, 8, MPI_BYTE, peer, 7, MPI_COMM_WORLD);
        MPI_Recv(&word, 8, MPI_BYTE, peer, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
      } else {
        MPI_Recv(&word, 8, MPI_BYTE, peer, 7, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        MPI_Send(&word, 8, MPI_BYTE, peer, 7, MPI_COMM_WORLD);
      }
      if (i >= 0) trips.push_back(1e6 * seconds_since(t0));
    }
    std::nth_element(trips.begin(), trips.begin() + long(trips.size() / 2), trips.end());
    median = trips[trips.size() / 2];
  }
  polite_barrier(MPI_COMM_WORLD);
  return median;
}

std::string Bench::versus_mpi(double us) const {
  if (mpi_round_trip_us <= 0) return "";
  return fmt(" = %.1f x ", us / mpi_round_trip_us) + fmt("MPI's 8-byte round trip (%.2f us)", mpi_round_trip_us);
}

}  // namespace bench
