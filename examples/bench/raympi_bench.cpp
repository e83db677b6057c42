// raympi-bench: Ray's core microbenchmarks (`ray microbenchmark`) on raympi.
//
//   mpirun --allow-run-as-root --oversubscribe -n 4 raympi-bench [--duration S] [--filter TEXT]
//
// Rank 0 is the global scheduler, rank 1 the GCS, ranks 2 and 3 are nodes;
// the driver (this main, past raympi::init) runs on rank 2. Every node rank
// carries a custom resource "node:<rank>" (amount 1), so a task that asks for
// a sliver of it is placed on that rank: "(driver node)" figures are tasks
// that ran on rank 2, "(other node)" figures tasks that ran on rank 3.
//
// One line per metric: Ray's metric name, where the tasks ran, the figure
// (ops/s, or GB/s), details, and the target from the performance issue with
// OK/MISS. See docs/performance.md for what each metric measures.

// The bench uses MPI's C API only; keep mpi.h from pulling in the deprecated
// C++ bindings, which would need libmpi_cxx at link time.
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <raympi/raympi.hpp>

#include <sched.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

// ---------------------------------------------------------------------------
// Remote functions

/// The trivial task of every task metric (Ray's `small_value`).
int nop(int x) { return x; }

/// A client of multi_client_tasks_async: submits `n` trivial tasks to the node
/// `target_rank` and gets them all; returns how many it got back.
std::int64_t client_batch(int target_rank, int n) {
  auto t = raympi::task(nop);
  t.resource("node:" + std::to_string(target_rank), 0.001);
  std::vector<raympi::ObjectRef<int>> refs;
  refs.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) refs.push_back(t.remote(i));
  std::vector<int> got = raympi::get(refs);
  std::int64_t sum = std::accumulate(got.begin(), got.end(), std::int64_t{0});
  if (sum != std::int64_t{n} * (n - 1) / 2) throw std::runtime_error("client_batch: wrong results from nop");
  return static_cast<std::int64_t>(got.size());
}

/// Where a task ran (checks that "node:<rank>" placement is honoured).
int where_am_i(int) { return raympi::current_rank(); }

RAYMPI_REMOTE(nop, client_batch, where_am_i);

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// ---------------------------------------------------------------------------
// Options

struct Options {
  double duration = 1.0;       // measured seconds per metric
  double warmup = 0.25;        // warm-up seconds per metric
  std::string filter;          // run only metrics whose name contains this
  int batch = 1000;            // tasks per get in tasks_async / tasks_and_get_batch / wait_1k_refs
  int clients = 4;             // multi_client_tasks_async: client tasks
  int client_tasks = 1000;     // multi_client_tasks_async: tasks per client per round
  double put_mb = 100;         // single_client_put_gigabytes: MB (1e6 bytes) per put
  double metric_timeout = 0;   // abort the job if one metric runs longer (0: 30 s + 10 x (warmup + duration))
  bool check_targets = false;  // exit 1 when a target is missed
  bool list = false;           // print the metric names and exit
};

const char* const kUsage =
    "usage: mpirun -n 4 raympi-bench [options]\n"
    "  --duration SECONDS     measured time per metric (default 1)\n"
    "  --warmup SECONDS       warm-up time per metric (default 0.25)\n"
    "  --filter TEXT          run only the metrics whose name (with its location suffix) contains TEXT\n"
    "  --batch N              tasks per round in tasks_async, tasks_and_get_batch, wait_1k_refs (default 1000)\n"
    "  --clients N            client tasks in multi_client_tasks_async (default 4)\n"
    "  --client-tasks N       tasks per client per round in multi_client_tasks_async (default 1000)\n"
    "  --put-mb MB            bytes per put in single_client_put_gigabytes, in MB (default 100)\n"
    "  --metric-timeout S     abort the job when one metric runs longer than S seconds\n"
    "  --check-targets        exit with status 1 when a target is missed\n"
    "  --list                 print the metric names and exit\n"
    "  --help                 this text\n";

/// Parses the options; returns an error message, or nullopt. Throws nothing.
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
               arg == "--filter" || arg == "--batch" || arg == "--clients" || arg == "--client-tasks") {
      auto v = take();
      if (!v) return arg + " needs a value";
      if (arg == "--duration") err = number(arg, *v, 0.001, o.duration);
      else if (arg == "--warmup") err = number(arg, *v, 0, o.warmup);
      else if (arg == "--put-mb") err = number(arg, *v, 0.000001, o.put_mb);
      else if (arg == "--metric-timeout") err = number(arg, *v, 0, o.metric_timeout);
      else if (arg == "--filter") o.filter = *v;
      else if (arg == "--batch") err = integer(arg, *v, 1, o.batch);
      else if (arg == "--clients") err = integer(arg, *v, 1, o.clients);
      else err = integer(arg, *v, 1, o.client_tasks);
    } else {
      return "unknown option '" + std::string(argv[i]) + "'";
    }
    if (err) return err;
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Watchdog: a metric that hangs (a runtime bug) must not hang the job.

class Watchdog {
 public:
  Watchdog() : thread_([this] { loop(); }) {}
  ~Watchdog() {
    {
      std::lock_guard<std::mutex> lk(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  void arm(std::string what, double seconds) {
    std::lock_guard<std::mutex> lk(mu_);
    what_ = std::move(what);
    seconds_ = seconds;
    deadline_ = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
    armed_ = true;
  }
  void disarm() {
    std::lock_guard<std::mutex> lk(mu_);
    armed_ = false;
  }

 private:
  void loop() {
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

  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool armed_ = false;
  std::string what_;
  double seconds_ = 0;
  Clock::time_point deadline_{};
  std::thread thread_;
};

// ---------------------------------------------------------------------------
// Timing: warm up, then run `fn` for `duration` seconds in up to 4 slices (as
// Ray's timeit does in 4 runs); the figure is units over the total measured
// time, the spread the standard deviation of the slices' rates. A call slower
// than a slice gets fewer slices, so that a slow runtime still ends in time.

struct Measure {
  double rate = 0;     // units per second over the whole measured time
  double spread = -1;  // std deviation of the slices' rates relative to `rate`; < 0: one slice only
  double seconds = 0;  // measured time
  std::uint64_t calls = 0;
};

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

struct Target {
  enum Kind { kNone, kMaxMicros, kMinRate } kind = kNone;
  double value = 0;
};

struct Tally {
  int ok = 0, miss = 0, failed = 0, skipped = 0, run = 0;
};

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

/// Prints one metric's figure and its target verdict.
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
// Where task metrics run

struct Location {
  std::string suffix;       // " (driver node)" / " (other node)"
  int rank = -1;            // node rank the tasks are pinned to
  std::string skip_reason;  // non-empty: the metrics of this location are skipped
  std::string resource() const { return "node:" + std::to_string(rank); }
};

/// The trivial task pinned to `loc`'s node.
raympi::TaskCaller<int (*)(int)> pinned_nop(const Location& loc) {
  auto t = raympi::task(nop);
  t.resource(loc.resource(), 0.001);
  return t;
}

void check_sum(const std::vector<int>& got, std::int64_t first) {
  std::int64_t expect = 0;
  for (std::size_t i = 0; i < got.size(); ++i) expect += first + static_cast<std::int64_t>(i);
  std::int64_t sum = std::accumulate(got.begin(), got.end(), std::int64_t{0});
  if (sum != expect) throw std::runtime_error("nop returned wrong values");
}

// ---------------------------------------------------------------------------
// The metrics

struct Bench {
  Options opt;
  Watchdog* watchdog = nullptr;
  Tally tally;
  int driver_rank = -1;

  bool selected(const std::string& name) const {
    return opt.filter.empty() || name.find(opt.filter) != std::string::npos;
  }

  /// Runs one metric: filter, skip, watchdog, errors.
  void run(const std::string& name, const std::string& skip_reason,
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
    double limit = opt.metric_timeout > 0 ? opt.metric_timeout : 30 + 10 * (opt.warmup + opt.duration);
    watchdog->arm(name, limit);
    try {
      body(name);
    } catch (const std::exception& e) {
      ++tally.failed;
      print_line(name, "FAILED", std::string("(") + e.what() + ")", "");
    }
    watchdog->disarm();
  }

  // single_client_tasks_sync: submit one trivial task, get it, repeat.
  void tasks_sync(const Location& loc, bool driver_node) {
    run("single_client_tasks_sync" + loc.suffix, loc.skip_reason, [&](const std::string& name) {
      auto t = pinned_nop(loc);
      int i = 0;
      Measure m = timeit(
          [&] {
            int got = raympi::get(t.remote(i));
            if (got != i) throw std::runtime_error("nop returned a wrong value");
            ++i;
          },
          1, opt.warmup, opt.duration);
      report(tally, name, m, "ops/s", fmt("%.2f us per round trip", 1e6 / m.rate),
             {Target::kMaxMicros, driver_node ? 3.0 : 10.0});
    });
  }

  // single_client_tasks_async: submit N trivial tasks, then get them all.
  void tasks_async(const Location& loc, bool driver_node) {
    run("single_client_tasks_async" + loc.suffix, loc.skip_reason, [&](const std::string& name) {
      auto t = pinned_nop(loc);
      const int n = opt.batch;
      std::vector<raympi::ObjectRef<int>> refs;
      refs.reserve(static_cast<std::size_t>(n));
      double submit_seconds = 0;
      std::uint64_t submitted = 0;
      Measure m = timeit(
          [&] {
            refs.clear();
            auto s0 = Clock::now();
            for (int i = 0; i < n; ++i) refs.push_back(t.remote(i));
            submit_seconds += seconds_since(s0);
            submitted += static_cast<std::uint64_t>(n);
            check_sum(raympi::get(refs), 0);
          },
          n, opt.warmup, opt.duration);
      refs.clear();
      report(tally, name, m, "ops/s",
             fmt("%.2f us per task; ", 1e6 / m.rate) +
                 fmt("submit alone %.2f us per task; ", 1e6 * submit_seconds / static_cast<double>(submitted)) +
                 std::to_string(n) + " tasks per get",
             {Target::kMinRate, driver_node ? 500'000.0 : 200'000.0});
    });
  }

  // multi_client_tasks_async: client tasks (on the driver's node) each submit
  // N trivial tasks to the measured node and get them; ops = trivial tasks/s.
  void multi_client(const Location& loc) {
    run("multi_client_tasks_async" + loc.suffix, loc.skip_reason, [&](const std::string& name) {
      auto client = raympi::task(client_batch);
      client.resource("node:" + std::to_string(driver_rank), 0.001);
      const int c = opt.clients, n = opt.client_tasks;
      std::vector<raympi::ObjectRef<std::int64_t>> refs;
      Measure m = timeit(
          [&] {
            refs.clear();
            for (int k = 0; k < c; ++k) refs.push_back(client.remote(loc.rank, n));
            for (std::int64_t got : raympi::get(refs))
              if (got != n) throw std::runtime_error("a client got back fewer tasks than it submitted");
          },
          static_cast<double>(c) * n, opt.warmup, opt.duration);
      refs.clear();
      report(tally, name, m, "ops/s",
             std::to_string(c) + " client tasks on rank " + std::to_string(driver_rank) + " x " + std::to_string(n) +
                 " tasks each",
             {});
    });
  }

  // single_client_tasks_and_get_batch: submit 1000 tasks, get them as one
  // batch, repeat; ops = batches/s (Ray's unit).
  void tasks_and_get_batch(const Location& loc) {
    run("single_client_tasks_and_get_batch" + loc.suffix, loc.skip_reason, [&](const std::string& name) {
      auto t = pinned_nop(loc);
      const int n = opt.batch;
      std::vector<raympi::ObjectRef<int>> refs;
      refs.reserve(static_cast<std::size_t>(n));
      Measure m = timeit(
          [&] {
            refs.clear();
            for (int i = 0; i < n; ++i) refs.push_back(t.remote(i));
            check_sum(raympi::get(refs), 0);
          },
          1, opt.warmup, opt.duration);
      refs.clear();
      report(tally, name, m, "ops/s",
             std::to_string(n) + " tasks per batch = " + with_commas(m.rate * n) + " tasks/s", {});
    });
  }

  // single_client_wait_1k_refs: submit 1000 tasks, then wait(refs, 1) on the
  // shrinking list until every ref is ready; ops = such rounds/s (Ray's unit).
  void wait_1k_refs(const Location& loc) {
    run("single_client_wait_1k_refs" + loc.suffix, loc.skip_reason, [&](const std::string& name) {
      auto t = pinned_nop(loc);
      const int n = opt.batch;
      std::vector<raympi::ObjectRef<int>> not_ready;
      Measure m = timeit(
          [&] {
            not_ready.clear();
            for (int i = 0; i < n; ++i) not_ready.push_back(t.remote(i));
            std::size_t ready = 0;
            while (!not_ready.empty()) {
              raympi::WaitResult<int> wr = raympi::wait(not_ready, 1);
              ready += wr.ready.size();
              not_ready = std::move(wr.remaining);
            }
            if (ready != static_cast<std::size_t>(n)) throw std::runtime_error("wait lost refs");
          },
          1, opt.warmup, opt.duration);
      report(tally, name, m, "ops/s",
             "wait on " + std::to_string(n) + " refs; " + with_commas(m.rate * n) + " wait() calls/s", {});
    });
  }

  // single_client_put_calls: put a small int (the ref is dropped at once).
  void put_calls() {
    run("single_client_put_calls", "", [&](const std::string& name) {
      int i = 0;
      Measure m = timeit([&] { raympi::ObjectRef<int> r = raympi::put(i++); (void)r; }, 1, opt.warmup, opt.duration);
      report(tally, name, m, "ops/s", fmt("%.3f us per op", 1e6 / m.rate), {Target::kMinRate, 1'000'000.0});
    });
  }

  // single_client_get_calls: get the same small put object again and again.
  void get_calls() {
    run("single_client_get_calls", "", [&](const std::string& name) {
      raympi::ObjectRef<int> r = raympi::put(0);
      Measure m = timeit(
          [&] {
            if (raympi::get(r) != 0) throw std::runtime_error("get returned a wrong value");
          },
          1, opt.warmup, opt.duration);
      report(tally, name, m, "ops/s", fmt("%.3f us per op", 1e6 / m.rate), {Target::kMinRate, 1'000'000.0});
    });
  }

  // single_client_put_gigabytes: put a large std::vector<char>; GB/s, next to
  // a plain memcpy of the same size measured in the same run.
  void put_gigabytes() {
    run("single_client_put_gigabytes", "", [&](const std::string& name) {
      const auto bytes = static_cast<std::size_t>(opt.put_mb * 1e6);
      std::vector<char> data(bytes);
      for (std::size_t i = 0; i < bytes; ++i) data[i] = static_cast<char>(i * 131u);
      const double gb = static_cast<double>(bytes) / 1e9;
      const double base_time = std::min(opt.duration, 0.5);

      // memcpy into a buffer already touched: the machine's copy ceiling.
      std::vector<char> warm(bytes, 1);
      Measure copy_warm = timeit(
          [&] {
            std::memcpy(warm.data(), data.data(), bytes);
            asm volatile("" : : "r"(warm.data()) : "memory");
          },
          gb, std::min(opt.warmup, 0.1), base_time);
      warm = {};
      // memcpy into fresh memory, as a store that allocates per object pays (page faults).
      Measure copy_fresh = timeit(
          [&] {
            std::unique_ptr<char[]> fresh(new char[bytes]);
            std::memcpy(fresh.get(), data.data(), bytes);
            asm volatile("" : : "r"(fresh.get()) : "memory");
          },
          gb, std::min(opt.warmup, 0.1), base_time);

      Measure m = timeit([&] { raympi::ObjectRef<std::vector<char>> r = raympi::put(data); (void)r; }, gb,
                         opt.warmup, opt.duration);
      report(tally, name, m, "GB/s",
             fmt("%g MB per put; ", opt.put_mb) + fmt("memcpy %.2f GB/s", copy_warm.rate) +
                 fmt(" (fresh buffer %.2f GB/s); ", copy_fresh.rate) + fmt("put/memcpy %.2f", m.rate / copy_warm.rate),
             {});
    });
  }
};

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

}  // namespace

int main(int argc, char** argv) {
  // Not parsed yet: every rank but the driver serves inside init and never returns.
  raympi::init(argc, argv);

  Options opt;
  bool help = false;
  if (auto err = parse_options(argc, argv, opt, help)) {
    std::fprintf(stderr, "raympi-bench: %s\n%s", err->c_str(), kUsage);
    raympi::shutdown();
    return 2;
  }
  if (help) {
    std::printf("%s", kUsage);
    raympi::shutdown();
    return 0;
  }

  auto start = Clock::now();
  int world = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &world);

  Bench b;
  b.opt = opt;
  b.driver_rank = raympi::current_rank();

  // Node ranks, from the GCS; if that fails, from the rank layout of the spec.
  std::vector<raympi::NodeInfo> nodes;
  std::string nodes_note;
  try {
    nodes = raympi::nodes();
  } catch (const std::exception& e) {
    nodes_note = std::string("raympi::nodes() failed (") + e.what() + "); node ranks assumed from the layout";
    int first = world >= 3 ? 2 : world == 2 ? 1 : 0;
    for (int r = first; r < world; ++r) {
      raympi::NodeInfo n;
      n.rank = r;
      n.is_driver = r == b.driver_rank;
      nodes.push_back(n);
    }
  }
  std::sort(nodes.begin(), nodes.end(), [](auto& a, auto& c) { return a.rank < c.rank; });

  Location here{" (driver node)", b.driver_rank, ""};
  Location other{" (other node)", -1, "only one node rank: run with -n 4 or more"};
  for (auto& n : nodes)
    if (n.alive && n.rank != b.driver_rank) {
      other.rank = n.rank;
      other.skip_reason.clear();
      break;
    }

  if (!opt.list) {
    std::string cmd;
    for (int i = 0; i < argc; ++i) cmd += (i ? " " : "") + std::string(argv[i]);
    std::printf("raympi-bench: Ray microbenchmarks on raympi\n");
    std::printf("machine : %s, nproc %d (online CPUs %ld, hardware threads %u)\n", host_name().c_str(),
                cpus_in_affinity(), sysconf(_SC_NPROCESSORS_ONLN), std::thread::hardware_concurrency());
    std::printf("command : %s  (MPI world size %d, driver on rank %d)\n", cmd.c_str(), world, b.driver_rank);
    std::printf("build   : %s\n", build_description().c_str());
    std::printf("timing  : warm-up %g s + %g s measured per metric, in up to 4 slices: +- is their std deviation\n",
                opt.warmup, opt.duration);
    if (!nodes_note.empty()) std::printf("note    : %s\n", nodes_note.c_str());
    for (auto& n : nodes)
      std::printf("node    : rank %d%s on %s: %s\n", n.rank, n.rank == b.driver_rank ? " (driver)" : "",
                  n.host.empty() ? "?" : n.host.c_str(),
                  n.resources.empty() ? "(resources not reported)" : format_resources(n.resources).c_str());
    std::fflush(stdout);
  }

  Watchdog watchdog;
  b.watchdog = &watchdog;

  // Check that "node:<rank>" placement works before labelling figures with it.
  auto check_location = [&](Location& loc) {
    if (opt.list || !loc.skip_reason.empty()) return;
    bool wanted = false;
    for (const char* m : {"single_client_tasks_sync", "single_client_tasks_async", "multi_client_tasks_async",
                          "single_client_tasks_and_get_batch", "single_client_wait_1k_refs"})
      wanted = wanted || b.selected(m + loc.suffix);
    if (!wanted) return;
    watchdog.arm("the placement check on rank " + std::to_string(loc.rank), 60);
    try {
      auto t = raympi::task(where_am_i);
      t.resource(loc.resource(), 0.001);
      int ran_on = raympi::get(t.remote(0), std::chrono::seconds(30));
      if (ran_on != loc.rank)
        std::printf("WARNING : a task asking for %s ran on rank %d: the%s figures are mislabelled\n",
                    loc.resource().c_str(), ran_on, loc.suffix.c_str());
    } catch (const std::exception& e) {
      loc.skip_reason = "cannot place a task on " + loc.resource() + ": " + e.what();
    }
    watchdog.disarm();
  };
  check_location(here);
  check_location(other);
  if (!opt.list) std::printf("\n");

  for (Location* loc : {&here, &other}) b.tasks_sync(*loc, loc == &here);
  for (Location* loc : {&here, &other}) b.tasks_async(*loc, loc == &here);
  for (Location* loc : {&here, &other}) b.multi_client(*loc);
  for (Location* loc : {&here, &other}) b.tasks_and_get_batch(*loc);
  for (Location* loc : {&here, &other}) b.wait_1k_refs(*loc);
  b.put_calls();
  b.get_calls();
  b.put_gigabytes();

  if (!opt.list) {
    std::printf("\n%d metrics run (%d failed, %d skipped); targets: %d OK, %d MISS; %.1f s in all\n", b.tally.run,
                b.tally.failed, b.tally.skipped, b.tally.ok, b.tally.miss, seconds_since(start));
    if (b.tally.run == 0 && b.tally.skipped == 0 && !opt.filter.empty())
      std::printf("no metric matches --filter '%s' (see --list)\n", opt.filter.c_str());
    std::fflush(stdout);
  }

  watchdog.arm("raympi::shutdown", 60);
  raympi::shutdown();
  watchdog.disarm();

  if (b.tally.failed > 0) return 1;
  if (opt.check_targets && b.tally.miss > 0) return 1;
  return 0;
}
