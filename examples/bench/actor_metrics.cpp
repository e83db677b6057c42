// raympi-bench's actor metrics: trivial method calls on actors pinned to a
// node, from the driver (sync, async, one caller to n actors) and from client
// tasks that each call n actors (Ray's n:n).
#include "bench_harness.hpp"

#include <cstdint>
#include <memory>
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

// ---------------------------------------------------------------------------
// The actor and the remote functions

/// The actor of every actor metric (Ray's `Actor` with `small_value`).
struct Sink {
  /// The trivial method: returns its argument.
  int echo(int x) {
    ++count;
    return x;
  }
  /// The rank the actor lives on (checks that "node:<rank>" placement is honoured).
  int where() { return raympi::current_rank(); }
  std::int64_t count = 0;
};

std::unique_ptr<Sink> make_sink() { return std::make_unique<Sink>(); }

/// A client of n_n_actor_calls_async (Ray's `work`): makes `n` calls spread
/// round-robin over `actors` and gets them all; returns how many it got back.
std::int64_t actor_client(const std::vector<raympi::ActorHandle<Sink>>& actors, int n) {
  std::vector<raympi::ObjectRef<int>> refs;
  refs.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    refs.push_back(actors[static_cast<std::size_t>(i) % actors.size()].task(&Sink::echo).remote(i));
  std::vector<int> got = raympi::get(refs);
  std::int64_t sum = std::accumulate(got.begin(), got.end(), std::int64_t{0});
  if (sum != std::int64_t{n} * (n - 1) / 2) throw std::runtime_error("actor_client: wrong results from Sink::echo");
  return static_cast<std::int64_t>(got.size());
}

RAYMPI_REMOTE(make_sink, &Sink::echo, &Sink::where, actor_client);

namespace bench {

namespace {

using Actors = std::vector<raympi::ActorHandle<Sink>>;
using EchoCaller = raympi::ActorMethodCaller<Sink, int (Sink::*)(int)>;


/// `n` actors pinned to `loc`'s node (no CPU held: a thread each). Returns once
/// every actor is placed, on the right rank, and has answered one call, so that
/// creation stays out of the timed section.
Actors make_actors(const Location& loc, int n) {
  Actors actors;
  for (int i = 0; i < n; ++i) actors.push_back(raympi::actor(make_sink).resource(loc.resource(), 0.001).remote());
  std::vector<raympi::ObjectRef<int>> ranks, warm;
  for (auto& a : actors) ranks.push_back(a.task(&Sink::where).remote());
  for (int i = 0; i < n; ++i) warm.push_back(actors[static_cast<std::size_t>(i)].task(&Sink::echo).remote(i));
  for (int r : raympi::get(ranks))
    if (r != loc.rank)
      throw std::runtime_error("an actor asking for " + loc.resource() + " runs on rank " + std::to_string(r));
  check_echo_sum(raympi::get(warm), 0, "Sink::echo");
  return actors;
}

std::vector<EchoCaller> echo_callers(const Actors& actors) {
  std::vector<EchoCaller> callers;
  for (auto& a : actors) callers.push_back(a.task(&Sink::echo));
  return callers;
}

}  // namespace

// 1_1_actor_calls_sync: call a trivial method of one actor, get it, repeat.
void Bench::actor_calls_sync(const Location& loc) {
  run("1_1_actor_calls_sync" + loc.suffix, loc.skip_reason, [&](const std::string& name) {
    Actors actors = make_actors(loc, 1);
    EchoCaller echo = actors[0].task(&Sink::echo);
    int i = 0;
    Measure m = timeit(
        [&] {
          if (raympi::get(echo.remote(i)) != i) throw std::runtime_error("Sink::echo returned a wrong value");
          ++i;
        },
        1, opt.warmup, opt.duration);
    const bool cross_node = loc.rank != driver_rank;
    const double us = 1e6 / m.rate;
    report(tally, name, m, "calls/s",
           fmt("%.2f us per call", us) + (cross_node ? versus_mpi(us) : "") + "; Ray: ~500 us, ~2,000 calls/s",
           cross_node && mpi_round_trip_us > 0 ? cross_node_target() : Target{Target::kMaxMicros, 10.0});
  });
}

// 1_1_actor_calls_async: make N calls on one actor without waiting, then get them all.
void Bench::actor_calls_async(const Location& loc, bool driver_node) {
  run("1_1_actor_calls_async" + loc.suffix, loc.skip_reason, [&](const std::string& name) {
    Actors actors = make_actors(loc, 1);
    EchoCaller echo = actors[0].task(&Sink::echo);
    double submit_us = 0;
    Measure m = time_batches([&](int i) { return echo.remote(i); }, opt.batch, opt.warmup, opt.duration,
                             "Sink::echo", &submit_us);
    report(tally, name, m, "calls/s",
           fmt("%.2f us per call; ", 1e6 / m.rate) + fmt("submit alone %.2f us per call; ", submit_us) +
               std::to_string(opt.batch) + " calls per get; Ray: ~8,000 calls/s",
           {Target::kMinRate, driver_node ? 500'000.0 : 200'000.0});
  });
}

// 1_n_actor_calls_async: the driver makes N calls spread round-robin over n
// actors, then gets them all.
void Bench::actor_calls_1_n(const Location& loc) {
  run("1_n_actor_calls_async" + loc.suffix, loc.skip_reason, [&](const std::string& name) {
    Actors actors = make_actors(loc, opt.actors);
    std::vector<EchoCaller> echo = echo_callers(actors);
    Measure m = time_batches([&](int i) { return echo[static_cast<std::size_t>(i) % echo.size()].remote(i); },
                             opt.batch, opt.warmup, opt.duration, "Sink::echo");
    report(tally, name, m, "calls/s",
           fmt("%.2f us per call; ", 1e6 / m.rate) + std::to_string(opt.actors) + " actors, " +
               std::to_string(opt.batch) + " calls per get; Ray: ~8,000 calls/s",
           {});
  });
}

// n_n_actor_calls_async: client tasks each make N calls spread round-robin
// over the same n actors and get them (Ray's n:n); clients and actors on the
// measured node; calls/s over all clients.
void Bench::actor_calls_n_n(const Location& loc) {
  run("n_n_actor_calls_async" + loc.suffix, loc.skip_reason, [&](const std::string& name) {
    Actors actors = make_actors(loc, opt.actors);
    auto client = raympi::task(actor_client);
    client.resource(loc.resource(), 0.001);
    const int c = opt.clients, n = opt.client_tasks;
    std::vector<raympi::ObjectRef<std::int64_t>> refs;
    Measure m = timeit(
        [&] {
          refs.clear();
          for (int k = 0; k < c; ++k) refs.push_back(client.remote(actors, n));
          for (std::int64_t got : raympi::get(refs))
            if (got != n) throw std::runtime_error("a client got back fewer calls than it made");
        },
        static_cast<double>(c) * n, opt.warmup, opt.duration);
    refs.clear();
    report(tally, name, m, "calls/s",
           std::to_string(c) + " client tasks x " + std::to_string(n) + " calls over " + std::to_string(opt.actors) +
               " actors, all on rank " + std::to_string(loc.rank) + "; Ray: ~25,000 calls/s on 64 cores",
           {});
  });
}

}  // namespace bench
