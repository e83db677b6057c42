#pragma once
/// @file bench_harness.hpp
/// @brief raympi-bench's harness: options, the hang guard (Watchdog), timing
/// (timeit), the printed lines and targets, where task metrics run, and the
/// Bench runner whose metrics live in task_metrics.cpp, actor_metrics.cpp and
/// object_metrics.cpp.

// The bench uses MPI's C API only; raympi/api.hpp (included first) keeps mpi.h
// from pulling in the deprecated C++ bindings, which need libmpi_cxx.
#include <raympi/raympi.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace bench {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// ---------------------------------------------------------------------------
// Options

struct Options {
  double duration = 1.0;       // measured seconds per metric
  double warmup = 0.25;        // warm-up seconds per metric
  std::string filter;          // run only metrics whose name contains this
  int batch = 1000;            // tasks (calls) per get in tasks_async, tasks_and_get_batch, wait_1k_refs,
                               // 1_1_actor_calls_async, 1_n_actor_calls_async
  int clients = 4;             // multi_client_tasks_async, n_n_actor_calls_async: client tasks
  int client_tasks = 1000;     // multi_client_tasks_async, n_n_actor_calls_async: tasks (calls) per client per round
  int actors = 4;              // 1_n_actor_calls_async, n_n_actor_calls_async: actors
  double put_mb = 100;         // single_client_put_gigabytes: MB (1e6 bytes) per put
  double metric_timeout = 0;   // abort the job if one metric runs longer (0: 120 s + 10 x (warmup + duration))
  bool check_targets = false;  // exit 1 when a target is missed
  bool list = false;           // print the metric names and exit
};

/// The --help text.
extern const char* const kUsage;

/// Parses the options; returns an error message, or nullopt. Throws nothing.
std::optional<std::string> parse_options(int argc, char** argv, Options& o, bool& help);

// ---------------------------------------------------------------------------
// Watchdog: a metric that hangs (a runtime bug) must not hang the job.

class Watchdog {
 public:
  Watchdog();
  ~Watchdog();
  /// Aborts the whole job (exit status 3) unless disarmed within `seconds`.
  void arm(std::string what, double seconds);
  void disarm();

 private:
  void loop();

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

Measure timeit(const std::function<void()>& fn, double units_per_call, double warmup, double duration);

/// Throws unless `got` sums to first + (first+1) + ... (the trivial remote
/// functions echo their argument); `what` names the function in the message.
void check_echo_sum(const std::vector<int>& got, std::int64_t first, const char* what);

/// Times batches of `n` asynchronous submissions `submit(i)` followed by one
/// get of their (checked) results; `submit_us`, if given, receives the cost
/// of the submissions alone per item.
Measure time_batches(const std::function<raympi::ObjectRef<int>(int)>& submit, int n, double warmup, double duration,
                     const char* what, double* submit_us = nullptr);
/// The same with one call that submits all `n` (appending their refs, which
/// must echo 0..n-1): remote_batch.
Measure time_batch_calls(const std::function<void(std::vector<raympi::ObjectRef<int>>&)>& submit_all, int n,
                         double warmup, double duration, const char* what, double* submit_us = nullptr);

// ---------------------------------------------------------------------------
// Reporting

struct Target {
  enum Kind { kNone, kMaxMicros, kMinRate } kind = kNone;
  double value = 0;
};

struct Tally {
  int ok = 0, miss = 0, failed = 0, skipped = 0, run = 0;
};

/// snprintf of one number into a std::string.
std::string fmt(const char* f, double v);

/// `v` rounded, with thousands separators: 1234567 -> "1,234,567".
std::string with_commas(double v);

/// Prints one line: name, figure, details and (if any) the target verdict.
void print_line(const std::string& name, const std::string& figure, const std::string& details,
                const std::string& target);

/// Prints one metric's figure and its target verdict.
void report(Tally& tally, const std::string& name, const Measure& m, const char* unit, std::string details,
            Target target);

/// Plain MPI's 8-byte ping-pong between world ranks `a` and `b` (median round
/// trip of `rounds`, in µs, on `a` and `b`; 0 elsewhere). Collective over
/// MPI_COMM_WORLD, before raympi::init: the other ranks wait in a barrier
/// that sleeps between tests (Open MPI's blocking barrier would spin).
double mpi_round_trip_us(int a, int b, int rounds);

// ---------------------------------------------------------------------------
// The run's header: machine and build

std::string host_name();
int cpus_in_affinity();
std::string build_description();
std::string format_resources(const std::map<std::string, double>& r);

// ---------------------------------------------------------------------------
// Where task and actor metrics run

struct Location {
  std::string suffix;       // " (driver node)" / " (other node)"
  int rank = -1;            // node rank the tasks (actors) are pinned to
  std::string skip_reason;  // non-empty: the metrics of this location are skipped
  std::string resource() const { return "node:" + std::to_string(rank); }
};

// ---------------------------------------------------------------------------
// The metrics

struct Bench {
  Options opt;
  Watchdog* watchdog = nullptr;
  Tally tally;
  int driver_rank = -1;
  double mpi_round_trip_us = 0;  // plain MPI, 8 bytes, driver rank <-> other node rank; 0: not measured

  /// " = 3.1 x MPI's round trip" for a cross-node latency, when MPI's was measured.
  std::string versus_mpi(double us) const;
  /// The cross-node latency target: 4 x MPI's round trip between the same ranks.
  Target cross_node_target() const { return {Target::kMaxMicros, 4 * mpi_round_trip_us}; }

  bool selected(const std::string& name) const {
    return opt.filter.empty() || name.find(opt.filter) != std::string::npos;
  }

  /// Runs one metric: filter, skip, watchdog, errors.
  void run(const std::string& name, const std::string& skip_reason,
           const std::function<void(const std::string&)>& body);

  // Task metrics (task_metrics.cpp). On the driver node tasks_sync runs twice:
  // through a worker (what Ray measures) and run by the getting thread.
  void tasks_sync(const Location& loc, bool driver_node);
  void tasks_async(const Location& loc, bool driver_node);
  void tasks_async_batch(const Location& loc);
  void multi_client(const Location& loc);
  void tasks_and_get_batch(const Location& loc);
  void wait_1k_refs(const Location& loc);

  // Actor metrics (actor_metrics.cpp).
  void actor_calls_sync(const Location& loc);
  void actor_calls_async(const Location& loc, bool driver_node);
  void actor_calls_1_n(const Location& loc);
  void actor_calls_n_n(const Location& loc);

  // Data-plane metrics (data_metrics.cpp).
  void cross_rank_get(const Location& other);
  void broadcast(const std::vector<int>& node_ranks);
  void local_get_shared();

  // put/get metrics (object_metrics.cpp).
  void put_calls();
  void get_calls();
  void put_gigabytes();

  // Server metrics (server_metrics.cpp): one GS / GCS rank's capacity, in process.
  void gs_placement(const std::vector<int>& node_counts);
  void gcs_events(const std::vector<int>& node_counts);
};

}  // namespace bench
