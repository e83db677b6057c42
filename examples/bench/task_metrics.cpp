// raympi-bench's task metrics: trivial tasks submitted from the driver (sync,
// async, in batches, with wait) and from client tasks, pinned to a node.
#include "bench_harness.hpp"

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <stdexcept>
#include <string>
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

RAYMPI_REMOTE(nop, client_batch);

namespace bench {

namespace {

/// The trivial task pinned to `loc`'s node.
raympi::TaskCaller<int (*)(int)> pinned_nop(const Location& loc) {
  auto t = raympi::task(nop);
  t.resource(loc.resource(), 0.001);
  return t;
}


}  // namespace

// single_client_tasks_sync: submit one trivial task, get it, repeat. On the
// driver node twice: through a worker (inline get off: what Ray measures and
// the figure to compare with it), then run by the getting thread itself (a get
// of one queued task runs it there: raympi's default).
void Bench::tasks_sync(const Location& loc, bool driver_node) {
  struct Way {
    std::string label;
    bool inline_get;
    double target_us;
  };
  std::vector<Way> ways;
  if (driver_node) ways = {{", through a worker", false, 5.0}, {", run by the getter", true, 3.0}};
  else ways = {{"", true, 0}};
  for (const Way& way : ways) {
    std::string label = loc.suffix;
    label.insert(label.size() - 1, way.label);  // " (driver node, through a worker)"
    run("single_client_tasks_sync" + label, loc.skip_reason, [&](const std::string& name) {
      raympi::detail::set_inline_get(way.inline_get);
      auto t = pinned_nop(loc);
      int i = 0;
      Measure m = timeit(
          [&] {
            int got = raympi::get(t.remote(i));
            if (got != i) throw std::runtime_error("nop returned a wrong value");
            ++i;
          },
          1, opt.warmup, opt.duration);
      raympi::detail::set_inline_get(true);
      const double us = 1e6 / m.rate;
      report(tally, name, m, "ops/s", fmt("%.2f us per round trip", us) + (driver_node ? "" : versus_mpi(us)),
             driver_node ? Target{Target::kMaxMicros, way.target_us} : cross_node_target());
    });
  }
}

// single_client_tasks_async: submit N trivial tasks, then get them all.
void Bench::tasks_async(const Location& loc, bool driver_node) {
  run("single_client_tasks_async" + loc.suffix, loc.skip_reason, [&](const std::string& name) {
    auto t = pinned_nop(loc);
    double submit_us = 0;
    Measure m = time_batches([&](int i) { return t.remote(i); }, opt.batch, opt.warmup, opt.duration, "nop", &submit_us);
    report(tally, name, m, "ops/s",
           fmt("%.2f us per task; ", 1e6 / m.rate) + fmt("submit alone %.2f us per task; ", submit_us) +
               std::to_string(opt.batch) + " tasks per get",
           {Target::kMinRate, driver_node ? 500'000.0 : 200'000.0});
  });
}

// single_client_tasks_async_batch: as single_client_tasks_async, the N tasks
// submitted by one remote_batch call (not a Ray metric: raympi's batch API).
void Bench::tasks_async_batch(const Location& loc) {
  run("single_client_tasks_async_batch" + loc.suffix, loc.skip_reason, [&](const std::string& name) {
    auto t = pinned_nop(loc);
    std::vector<int> args(static_cast<std::size_t>(opt.batch));
    std::iota(args.begin(), args.end(), 0);
    double submit_us = 0;
    Measure m = time_batch_calls(
        [&](std::vector<raympi::ObjectRef<int>>& refs) { refs = t.remote_batch(args); }, opt.batch, opt.warmup,
        opt.duration, "nop", &submit_us);
    report(tally, name, m, "ops/s",
           fmt("%.2f us per task; ", 1e6 / m.rate) + fmt("submit alone %.2f us per task; ", submit_us) +
               std::to_string(opt.batch) + " tasks per remote_batch and per get",
           {});
  });
}

// multi_client_tasks_async: client tasks (on the driver's node) each submit
// N trivial tasks to the measured node and get them; ops = trivial tasks/s.
void Bench::multi_client(const Location& loc) {
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
void Bench::tasks_and_get_batch(const Location& loc) {
  run("single_client_tasks_and_get_batch" + loc.suffix, loc.skip_reason, [&](const std::string& name) {
    auto t = pinned_nop(loc);
    const int n = opt.batch;
    std::vector<raympi::ObjectRef<int>> refs;
    refs.reserve(static_cast<std::size_t>(n));
    Measure m = timeit(
        [&] {
          refs.clear();
          for (int i = 0; i < n; ++i) refs.push_back(t.remote(i));
          check_echo_sum(raympi::get(refs), 0, "nop");
        },
        1, opt.warmup, opt.duration);
    refs.clear();
    report(tally, name, m, "ops/s",
           std::to_string(n) + " tasks per batch = " + with_commas(m.rate * n) + " tasks/s", {});
  });
}

// single_client_wait_1k_refs: submit 1000 tasks, then wait(refs, 1) on the
// shrinking list until every ref is ready; ops = such rounds/s (Ray's unit).
void Bench::wait_1k_refs(const Location& loc) {
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

}  // namespace bench
