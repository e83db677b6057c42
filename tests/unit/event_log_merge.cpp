// write_merged_log on every rank of MPI_COMM_WORLD (its own main: the
// GoogleTest main runs tests on the driver rank only). For each folder given
// on the command line (default: the current one):
//   - ranks with different counts, some with empty batches: one merged file
//     holding every rank's records in rank order, "ranks" giving the counts;
//   - every rank empty: a merged file with no records;
//   - RAYMPI_EVENT_LOG_MPIIO=0: the fallback, one file per rank;
//   - a missing folder: raympi::Error naming the path, on every rank;
//   - an EventSpool on rank 0 read by rank 1 (another process) after each append;
//   - a timed merge of 50k tasks, 50k edges and 10k transfers per rank.
// Prints "event_log_merge: OK" and exits 0 on every rank, else prints
// "event_log_merge: FAIL" and exits 1. --allow-fallback accepts per-rank files
// where MPI-IO fails (the default requires the merged file); --expect-fallback
// requires them (a run where MPI-IO cannot work, e.g. OMPI_MCA_io=^ompio,romio321).
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "raympi/errors.hpp"
#include "timeline/event_spool.hpp"

using namespace raympi::detail;

namespace {

int g_rank = 0, g_size = 1, g_failures = 0;
bool g_expect_fallback = false;

#define CHECK(cond, ...)                                                     \
  do {                                                                       \
    if (!(cond)) {                                                           \
      ++g_failures;                                                          \
      std::fprintf(stderr, "event_log_merge: rank %d: %s:%d: CHECK(%s) failed: ", g_rank, __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, __VA_ARGS__);                                     \
      std::fprintf(stderr, "\n");                                            \
    }                                                                        \
  } while (0)

// Every field depends on (rank, i): a record out of place or from the wrong rank shows.
EventBatch batch_of(int rank, std::size_t tasks, std::size_t edges, std::size_t transfers) {
  EventBatch b;
  for (std::size_t i = 0; i < tasks; ++i) {
    TaskRecord t;
    t.id = (std::uint64_t(rank) << 40) | i;
    t.actor = i % 5 ? 0 : i + 1;
    t.node = rank;
    t.row = int(i % 4) - 2;
    t.kind = int(i % 3);
    t.error = int(i % 13 == 0);
    t.attempts = 1 + int(i % 2);
    t.pu = int(i % 8) - 1;
    t.submitted = rank + i * 1e-3;
    t.started = t.submitted + 1e-4;
    t.finished = t.started + 2e-4;
    t.arg_bytes = i * 3;
    t.result_bytes = i * 5 + std::uint64_t(rank);
    t.set_name("r" + std::to_string(rank) + ".task" + std::to_string(i) + (i % 7 ? "" : std::string(60, 'z')));
    b.tasks.push_back(t);
  }
  for (std::size_t i = 0; i < edges; ++i)
    b.edges.push_back({(std::uint64_t(rank) << 40) | i, (std::uint64_t(rank) << 40) | (i * 2 + 1)});
  for (std::size_t i = 0; i < transfers; ++i) {
    TransferRecord x;
    x.object = (std::uint64_t(rank) << 40) | i;
    x.bytes = i * 1024;
    x.from = int(i) % (rank + 1);
    x.to = rank;
    x.kind = int(i % 3);
    x.started = double(i);
    x.finished = double(i) + 0.5;
    b.transfers.push_back(x);
  }
  return b;
}

// Rank r's counts: rank 1 has no tasks, rank 2 nothing at all, odd ranks transfers only.
std::array<std::uint64_t, 3> counts_of(int r) {
  if (r == 2) return {0, 0, 0};
  return {r == 1 ? 0u : 1000u * std::uint64_t(r + 1) + 37u * std::uint64_t(r), 500u + std::uint64_t(r),
          r % 2 ? 3u * std::uint64_t(r) : 0u};
}
EventBatch batch_for(int r) {
  auto c = counts_of(r);
  return batch_of(r, c[0], c[1], c[2]);
}

bool same(const EventBatch& a, const EventBatch& b) {
  auto bytes_equal = [](const auto& x, const auto& y) {
    return x.size() == y.size() && (x.empty() || std::memcmp(x.data(), y.data(), x.size() * sizeof x[0]) == 0);
  };
  return bytes_equal(a.tasks, b.tasks) && bytes_equal(a.edges, b.edges) && bytes_equal(a.transfers, b.transfers);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}
double max_over_ranks(double v) {
  MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
  return v;
}

// Merges; checks the file on rank 0 against `expected` (every rank's batch).
void merge_and_check(const std::string& path, const EventBatch& mine, const std::vector<EventBatch>& expected,
                     bool allow_fallback, const char* what) {
  bool merged = false;
  std::string error;
  auto t0 = std::chrono::steady_clock::now();
  try {
    merged = write_merged_log(MPI_COMM_WORLD, path, mine);
  } catch (const std::exception& e) {
    error = e.what();
  }
  double secs = max_over_ranks(seconds_since(t0));
  CHECK(error.empty(), "%s: write_merged_log threw: %s", what, error.c_str());
  if (!error.empty()) return;
  CHECK(!(merged && g_expect_fallback), "%s: a merged file although MPI-IO should fail", what);
  if (!merged) {
    if (g_rank == 0) std::printf("event_log_merge: %s: MPI-IO FAILED, per-rank files written\n", what);
    CHECK(allow_fallback, "%s: no merged file (MPI-IO failed) at '%s'", what, path.c_str());
    EventBatch got = read_event_log(rank_log_path(path, g_rank));
    CHECK(same(got, mine), "%s: the per-rank file differs", what);
    std::filesystem::remove(rank_log_path(path, g_rank));
    return;
  }
  if (g_rank == 0) {
    EventBatch want;
    for (const EventBatch& b : expected) want.append(EventBatch(b));
    EventBatch got = read_event_log(path);
    CHECK(got.tasks.size() == want.tasks.size() && got.edges.size() == want.edges.size() &&
              got.transfers.size() == want.transfers.size(),
          "%s: %zu/%zu/%zu records, want %zu/%zu/%zu", what, got.tasks.size(), got.edges.size(),
          got.transfers.size(), want.tasks.size(), want.edges.size(), want.transfers.size());
    CHECK(same(got, want), "%s: the merged records differ (order or content)", what);
    RankCounts counts = read_rank_counts(path);
    CHECK(counts.size() == std::size_t(g_size), "%s: \"ranks\" has %zu rows", what, counts.size());
    for (std::size_t r = 0; r < counts.size() && r < expected.size(); ++r) {
      const EventBatch& b = expected[r];
      CHECK(counts[r][0] == b.tasks.size() && counts[r][1] == b.edges.size() && counts[r][2] == b.transfers.size(),
            "%s: rank %zu counts %llu/%llu/%llu", what, r, (unsigned long long)counts[r][0],
            (unsigned long long)counts[r][1], (unsigned long long)counts[r][2]);
    }
    std::printf("event_log_merge: %s: np %d, %zu records, merged in %.1f ms (slowest rank)\n", what, g_size,
                want.size(), secs * 1e3);
    std::filesystem::remove(path);
  }
  MPI_Barrier(MPI_COMM_WORLD);
}

void run_in(const std::string& dir, long stamp, bool allow_fallback) {
  const std::string base = dir + "/raympi-event-log-np" + std::to_string(g_size) + "-" + std::to_string(stamp);
  if (g_rank == 0) std::printf("event_log_merge: folder %s\n", dir.c_str());

  // Different counts, empty ranks included.
  std::vector<EventBatch> all;
  for (int r = 0; r < g_size; ++r) all.push_back(batch_for(r));
  merge_and_check(base + ".h5", all[std::size_t(g_rank)], all, allow_fallback, "mixed counts");

  // Every rank empty.
  std::vector<EventBatch> none(static_cast<std::size_t>(g_size));
  merge_and_check(base + "-empty.h5", EventBatch{}, none, allow_fallback, "all empty");

  // Fallback forced: one file per rank.
  ::setenv("RAYMPI_EVENT_LOG_MPIIO", "0", 1);
  bool merged = true;
  std::string error;
  try {
    merged = write_merged_log(MPI_COMM_WORLD, base + "-fallback.h5", all[std::size_t(g_rank)]);
  } catch (const std::exception& e) {
    error = e.what();
  }
  ::unsetenv("RAYMPI_EVENT_LOG_MPIIO");
  CHECK(error.empty() && !merged, "fallback: merged=%d error=%s", int(merged), error.c_str());
  if (error.empty()) {
    const std::string mine = rank_log_path(base + "-fallback.h5", g_rank);
    CHECK(!std::filesystem::exists(base + "-fallback.h5"), "fallback: a merged file exists too");
    CHECK(same(read_event_log(mine), all[std::size_t(g_rank)]), "fallback: '%s' differs", mine.c_str());
    CHECK(read_rank_counts(mine).empty(), "fallback: per-rank file has \"ranks\"");
    MPI_Barrier(MPI_COMM_WORLD);
    std::filesystem::remove(mine);
  }

  // A missing folder: an Error naming the path on every rank (and no hang).
  const std::string bad = base + "-no-such-folder/log.h5";
  error.clear();
  try {
    write_merged_log(MPI_COMM_WORLD, bad, all[std::size_t(g_rank)]);
  } catch (const raympi::Error& e) {
    error = e.what();
  }
  CHECK(!error.empty() && error.find(bad) != std::string::npos, "missing folder: error '%s'", error.c_str());
  if (g_rank == 0 && !error.empty()) std::printf("event_log_merge: missing folder: %s\n", error.c_str());

  // A live spool read by another process (rank 1) after each append: flushed, and no HDF5 file lock in the way.
  if (g_size >= 2) {
    const std::string live = base + "-live.h5";
    std::unique_ptr<EventSpool> spool;
    EventBatch want;
    if (g_rank == 0) spool = std::make_unique<EventSpool>(live);
    for (int round = 0; round < 3; ++round) {
      if (g_rank == 0) {
        EventBatch b = batch_of(round, 100 + round, round, 1);
        spool->append(b);
        want.append(std::move(b));
      }
      MPI_Barrier(MPI_COMM_WORLD);
      if (g_rank == 1) {
        std::string err;
        EventBatch got;
        try {
          got = read_event_log(live);
        } catch (const std::exception& e) {
          err = e.what();
        }
        CHECK(err.empty(), "live spool, round %d: %s", round, err.c_str());
        for (int r = 0; r <= round; ++r) want.append(batch_of(r, 100 + r, r, 1));
        CHECK(err.empty() && same(got, want), "live spool, round %d: %zu records read", round, got.size());
        want = EventBatch{};
      }
      MPI_Barrier(MPI_COMM_WORLD);
    }
    spool.reset();
    if (g_rank == 0) std::filesystem::remove(live);
  }

  // Timed: 50k tasks, 50k edges, 10k transfers per rank.
  std::vector<EventBatch> big;
  for (int r = 0; r < g_size; ++r) big.push_back(g_rank == 0 || r == g_rank ? batch_of(r, 50'000, 50'000, 10'000)
                                                                             : EventBatch{});
  merge_and_check(base + "-big.h5", big[std::size_t(g_rank)], big, allow_fallback, "50k+50k+10k per rank");
}

}  // namespace

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &g_size);
  bool allow_fallback = false;
  std::vector<std::string> dirs;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--allow-fallback") == 0)
      allow_fallback = true;
    else if (std::strcmp(argv[i], "--expect-fallback") == 0)
      allow_fallback = g_expect_fallback = true;
    else
      dirs.push_back(argv[i]);
  }
  if (dirs.empty()) dirs.push_back(std::filesystem::current_path().string());
  long stamp = long(::getpid());
  MPI_Bcast(&stamp, 1, MPI_LONG, 0, MPI_COMM_WORLD);
  for (const std::string& d : dirs) {
    try {
      run_in(d, stamp, allow_fallback);
    } catch (const std::exception& e) {  // a rank-0 read failing, say: the others may be waiting
      std::fprintf(stderr, "event_log_merge: rank %d: %s\n", g_rank, e.what());
      std::fflush(stderr);
      MPI_Abort(MPI_COMM_WORLD, 1);
    }
  }
  int failures = g_failures;
  MPI_Allreduce(MPI_IN_PLACE, &failures, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  if (g_rank == 0) std::printf("event_log_merge: %s (np %d)\n", failures ? "FAIL" : "OK", g_size);
  MPI_Finalize();
  return failures ? 1 : 0;
}
