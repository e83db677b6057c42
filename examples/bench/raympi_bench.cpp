// raympi-bench: Ray's core microbenchmarks (`ray microbenchmark`) on raympi.
//
//   mpirun --allow-run-as-root --oversubscribe -n 4 raympi-bench [--duration S] [--filter TEXT]
//
// Rank 0 is the global scheduler, rank 1 the GCS, ranks 2 and 3 are nodes;
// the driver (this main, past raympi::init) runs on rank 2. Every node rank
// carries a custom resource "node:<rank>" (amount 1), so a task that asks for
// a sliver of it is placed on that rank: "(driver node)" figures are tasks
// that ran on rank 2, "(other node)" figures tasks that ran on rank 3; actors
// are pinned the same way.
//
// One line per metric: Ray's metric name, where the tasks ran, the figure
// (ops/s, or GB/s), details, and the target from the performance issue with
// OK/MISS. See docs/performance.md for what each metric measures.

#include "bench_harness.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <thread>
#include <vector>

/// Where a task ran (checks that "node:<rank>" placement is honoured).
int where_am_i(int) { return raympi::current_rank(); }

RAYMPI_REMOTE(where_am_i);

using namespace bench;

int main(int argc, char** argv) {
  // The baseline first, in plain MPI between the ranks that will be the
  // driver's node and the other node (rank layout: GS 0, GCS 1, nodes 2..).
  int provided = 0, world = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  const double mpi_rtt = world >= 4 ? mpi_round_trip_us(2, 3, 20000) : 0;
  // Options not parsed yet: every rank but the driver serves inside init,
  // then finalises MPI and exits.
  raympi::init(MPI_COMM_WORLD);
  struct FinalizeAtExit {
    ~FinalizeAtExit() { MPI_Finalize(); }
  } finalize_at_exit;

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
  Bench b;
  b.opt = opt;
  b.driver_rank = raympi::current_rank();
  b.mpi_round_trip_us = mpi_rtt;

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
    if (mpi_rtt > 0)
      std::printf("baseline: plain MPI 8-byte ping-pong between ranks 2 and 3 before raympi::init: %.2f us round "
                  "trip (median of 20,000); cross-node latencies below are also given as multiples of it\n",
                  mpi_rtt);
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
                          "single_client_tasks_async_batch",
                          "single_client_tasks_and_get_batch", "single_client_wait_1k_refs", "1_1_actor_calls_sync",
                          "1_1_actor_calls_async", "1_n_actor_calls_async", "n_n_actor_calls_async"})
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
  for (Location* loc : {&here, &other}) b.tasks_async_batch(*loc);
  for (Location* loc : {&here, &other}) b.multi_client(*loc);
  for (Location* loc : {&here, &other}) b.tasks_and_get_batch(*loc);
  for (Location* loc : {&here, &other}) b.wait_1k_refs(*loc);
  for (Location* loc : {&here, &other}) b.actor_calls_sync(*loc);
  for (Location* loc : {&here, &other}) b.actor_calls_async(*loc, loc == &here);
  for (Location* loc : {&here, &other}) b.actor_calls_1_n(*loc);
  for (Location* loc : {&here, &other}) b.actor_calls_n_n(*loc);
  b.cross_rank_get(other);
  {
    std::vector<int> node_ranks;
    for (auto& n : raympi::nodes()) node_ranks.push_back(n.rank);
    b.broadcast(node_ranks);
  }
  b.local_get_shared();
  b.put_calls();
  b.get_calls();
  b.put_gigabytes();
  // What one global scheduler / GCS rank serves, by cluster size (docs/scaling.md).
  b.gs_placement({16, 256, 4096});
  b.gcs_events({16, 256, 4096});

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
