// Soak test of bounded event recording (label `soak`, RAYMPI_SOAK_TESTS=ON).
//
// Runs N no-op tasks (default 2,000,000) in rounds (submit a round, get it,
// repeat), spread round-robin over every node rank (pinned with the custom
// resource node:<rank>); every K-th task (default 997) takes a previous
// task's result as an argument (alternately the other node rank's and its
// own), so the job has dependency edges. Node ranks record every task in a
// buffer of RAYMPI_EVENT_BUFFER records (10,000 unless set) spooled to HDF5.
//
// Checks (one "timeline_soak: FAIL:" line each, exit status 1 on any):
//   * memory: the RSS of EVERY rank (global scheduler, GCS, every node rank)
//     stays within 32 MiB of its value after the first 100,000 tasks, at every
//     checkpoint (every 250,000 tasks) up to the end of the tasks. Read from
//     /proc/<pid>/status: the pids are gathered over MPI_COMM_WORLD before
//     raympi::init(MPI_COMM_WORLD), so all ranks must share this host (ranks
//     elsewhere are reported as not measured). For diagnosis the table also
//     shows RssAnon/RssFile/RssShmem and each node rank's glibc heap (in use,
//     free in the arenas, mmapped) from a task pinned there (soak_heap: 1 task
//     per node rank per checkpoint, counted apart from the N);
//   * the trace: raympi::timeline(path) has exactly one complete ("X") event
//     per task (per node rank as pinned), one per probe, one flow per dependency;
//   * the merged HDF5 event log (RAYMPI_EVENT_LOG, written by every rank at
//     shutdown; read here after raympi::shutdown, which leaves MPI to this
//     program in init(MPI_Comm) mode): exactly N + probes task records with
//     distinct ids, per rank as pinned ("ranks" dataset too), one edge per dependency.
// Prints: the RSS table, tasks/s with recording, time to write the trace,
// trace and HDF5 log sizes, time of shutdown (the merged log's MPI-IO write).
//
//   mpiexec -n 4 timeline_soak [N] [--round R] [--dep-every K] [--trace PATH]
//                              [--slack-mib M] [--keep] [--malloc-info DIR]
// N accepts 2000000, 2e6, 2M. RAYMPI_EVENT_LOG: the merged log's path (default
// timeline_soak_events.h5 in the working folder). The trace and the log are
// deleted at the end unless --keep. --malloc-info DIR: every node rank's
// malloc_info() XML at each checkpoint (malloc_info_r<rank>_<tasks>.xml).

#include <raympi/raympi.hpp>

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "timeline/event_spool.hpp"

int soak_nop(int x) { return x; }
int soak_dep(int prev, int x) { return x + (prev & 0); }  // `prev` is a dependency (a previous task's result)
// The heap of the node rank it runs on (glibc, every arena): {arena bytes, in
// use, free in the arenas, mmapped}; with a path, malloc_info's XML there too.
std::vector<std::uint64_t> soak_heap(std::string xml_path) {
  const struct mallinfo2 mi = ::mallinfo2();
  if (!xml_path.empty())
    if (FILE* f = std::fopen(xml_path.c_str(), "w")) {
      ::malloc_info(0, f);
      std::fclose(f);
    }
  return {mi.arena, mi.uordblks, mi.fordblks, mi.hblkhd};
}
RAYMPI_REMOTE(soak_nop, soak_dep, soak_heap);

namespace {

using Clock = std::chrono::steady_clock;
constexpr std::int64_t kBaselineTasks = 100'000;
constexpr std::int64_t kCheckpointEvery = 250'000;

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Options {
  std::int64_t n = 2'000'000;
  std::int64_t round = 10'000;
  std::int64_t dep_every = 997;  // odd: the dependent tasks alternate between node ranks
  std::string trace = "timeline_soak_trace.json";
  std::string event_log;
  double slack_mib = 32;
  bool keep = false;
  std::string malloc_info;  // folder: the driver's malloc_info() XML at each checkpoint (diagnosis)
};

int failures = 0;
void fail(const std::string& what) {
  std::printf("timeline_soak: FAIL: %s\n", what.c_str());
  std::fflush(stdout);
  ++failures;
}

// VmRSS of a process in KiB, and its parts (anonymous, file-backed, shared memory); -1 when unreadable.
struct Rss {
  long total = -1, anon = -1, file = -1, shmem = -1, threads = -1;
};
Rss read_rss(int pid) {
  Rss r;
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  auto field = [](const std::string& line, const char* key, long& out) {
    const std::size_t n = std::strlen(key);
    if (line.compare(0, n, key) == 0) out = std::strtol(line.c_str() + n, nullptr, 10);
  };
  for (std::string line; std::getline(in, line);) {
    field(line, "VmRSS:", r.total);
    field(line, "RssAnon:", r.anon);
    field(line, "RssFile:", r.file);
    field(line, "RssShmem:", r.shmem);
    field(line, "Threads:", r.threads);
  }
  return r;
}

double mib(long kib) { return double(kib) / 1024.0; }
double mib_bytes(std::uintmax_t b) { return double(b) / (1024.0 * 1024.0); }

struct Sample {
  std::string label;
  std::vector<long> kib;  // per rank: VmRSS
  std::vector<Rss> parts;
  std::vector<std::vector<std::uint64_t>> heap;  // per rank (node ranks): soak_heap's answer
};

std::string role_of(int rank, const std::vector<int>& node_ranks, int driver) {
  std::string r;
  if (rank == 0) r = "GS";
  if (rank == 1) r = "GCS";
  if (std::find(node_ranks.begin(), node_ranks.end(), rank) != node_ranks.end())
    r += r.empty() ? (rank == driver ? "node+driver" : "node") : (rank == driver ? "+node+driver" : "+node");
  return r.empty() ? "?" : r;
}

void print_table(const std::vector<Sample>& samples, const std::vector<int>& node_ranks, int driver) {
  const int ranks = int(samples.front().kib.size());
  std::printf("\ntimeline_soak: RSS (MiB) of every rank\n  %-22s", "after tasks");
  for (int r = 0; r < ranks; ++r) std::printf(" %25s", ("r" + std::to_string(r) + " " + role_of(r, node_ranks, driver)).c_str());
  std::printf("\n");
  for (auto& s : samples) {
    std::printf("  %-22s", s.label.c_str());
    for (long k : s.kib) {
      if (k < 0) std::printf(" %25s", "n/a");
      else std::printf(" %25.1f", mib(k));
    }
    std::printf("\n");
  }
  std::printf("  of which anonymous / file / shmem (MiB), [threads]:\n");
  for (auto& s : samples) {
    std::printf("  %-22s", s.label.c_str());
    for (auto& p : s.parts) {
      if (p.total < 0) std::printf(" %25s", "n/a");
      else std::printf(" %6.1f/%5.1f/%5.1f [%2ld]", mib(p.anon), mib(p.file), mib(p.shmem), p.threads);
    }
    std::printf("\n");
  }
  std::printf("  heap of the node ranks (glibc, all arenas): in use / free in arenas / mmapped (MiB):\n");
  for (auto& s : samples) {
    std::printf("  %-22s", s.label.c_str());
    for (auto& h : s.heap) {
      if (h.size() < 4) std::printf(" %25s", "-");
      else std::printf(" %6.1f/%5.1f/%5.1f     ", mib_bytes(h[1]), mib_bytes(h[2]), mib_bytes(h[3]));
    }
    std::printf("\n");
  }
  std::fflush(stdout);
}

std::int64_t parse_count(const char* s) {
  // Accepts 2000000, 2e6, 2M, 500k.
  char* end = nullptr;
  double v = std::strtod(s, &end);
  if (end && (*end == 'k' || *end == 'K')) v *= 1e3;
  if (end && (*end == 'm' || *end == 'M')) v *= 1e6;
  return std::int64_t(v);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "timeline_soak: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--round") o.round = parse_count(next());
    else if (a == "--dep-every") o.dep_every = parse_count(next());
    else if (a == "--trace") o.trace = next();
    else if (a == "--slack-mib") o.slack_mib = std::atof(next());
    else if (a == "--keep") o.keep = true;
    else if (a == "--malloc-info") o.malloc_info = next();
    else if (!a.empty() && a[0] != '-') o.n = parse_count(a.c_str());
    else {
      std::fprintf(stderr, "timeline_soak: unknown argument %s\n", a.c_str());
      std::exit(2);
    }
  }
  if (o.round < 1) o.round = 1;
  if (o.dep_every < 2) o.dep_every = 2;
  if (const char* e = std::getenv("RAYMPI_EVENT_LOG"); e && *e) o.event_log = e;
  else o.event_log = "timeline_soak_events.h5";
  return o;
}

// What the trace holds, counted line by line (the writer puts one event per
// line; nlohmann sorts keys, but this does not rely on their order).
struct TraceScan {
  std::uint64_t nop = 0, dep = 0, heap = 0, other_x = 0, flows_s = 0, flows_f = 0, lines = 0;
  std::map<int, std::uint64_t> soak_by_pid;
  bool closed = false;  // the file ends with the array's "]}"
};

int pid_of(std::string_view line) {
  auto at = line.find("\"pid\":");
  if (at == std::string_view::npos) return -1;
  return std::atoi(std::string(line.substr(at + 6, 12)).c_str());
}

TraceScan scan_trace(const std::string& path) {
  TraceScan s;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    ++s.lines;
    std::string_view l(line);
    if (l == "]}") s.closed = true;
    if (l.find("\"ph\":\"X\"") != std::string_view::npos) {
      if (l.find("\"name\":\"soak_nop\"") != std::string_view::npos) {
        ++s.nop;
        ++s.soak_by_pid[pid_of(l)];
      } else if (l.find("\"name\":\"soak_dep\"") != std::string_view::npos) {
        ++s.dep;
        ++s.soak_by_pid[pid_of(l)];
      } else if (l.find("\"name\":\"soak_heap\"") != std::string_view::npos) {
        ++s.heap;
      } else {
        ++s.other_x;
      }
    } else if (l.find("\"ph\":\"s\"") != std::string_view::npos) {
      ++s.flows_s;
    } else if (l.find("\"ph\":\"f\"") != std::string_view::npos) {
      ++s.flows_f;
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  const Options opt = parse(argc, argv);

  // Every rank's pid and host, for the driver to read their RSS.
  int my_pid = int(::getpid());
  std::vector<int> pids(std::size_t(size), 0);
  MPI_Allgather(&my_pid, 1, MPI_INT, pids.data(), 1, MPI_INT, MPI_COMM_WORLD);
  char host[256] = {};
  ::gethostname(host, sizeof host - 1);
  std::vector<char> hosts(std::size_t(size) * sizeof host);
  MPI_Allgather(host, sizeof host, MPI_CHAR, hosts.data(), sizeof host, MPI_CHAR, MPI_COMM_WORLD);

  raympi::Config cfg;
  if (const char* e = std::getenv("RAYMPI_EVENT_BUFFER"); !e || !*e) cfg.event_buffer = 10'000;
  cfg.event_log = opt.event_log;  // the driver's setting decides for every rank
  raympi::init(MPI_COMM_WORLD, cfg);  // returns on the driver only; the other ranks serve and exit

  // ---- the driver from here on ----
  std::error_code ec;
  std::vector<int> node_ranks;
  int driver = rank;
  for (auto& n : raympi::nodes()) node_ranks.push_back(n.rank);
  std::sort(node_ranks.begin(), node_ranks.end());
  std::vector<bool> here(static_cast<std::size_t>(size), false);
  for (int r = 0; r < size; ++r) here[std::size_t(r)] = std::strcmp(&hosts[std::size_t(r) * sizeof host], host) == 0;
  std::printf("timeline_soak: %lld no-op tasks in rounds of %lld, every %lld-th with a dependency; %d ranks, node "
              "ranks",
              (long long)opt.n, (long long)opt.round, (long long)opt.dep_every, size);
  for (int r : node_ranks) std::printf(" %d", r);
  const char* buf_env = std::getenv("RAYMPI_EVENT_BUFFER");
  std::printf("; driver rank %d; event buffer %s records; event log %s; trace %s\n", driver,
              buf_env && *buf_env ? buf_env : "10000", opt.event_log.c_str(), opt.trace.c_str());
  for (int r = 0; r < size; ++r)
    if (!here[std::size_t(r)])
      std::printf("timeline_soak: rank %d runs on %s, not on this host (%s): its RSS is not measured\n", r,
                  &hosts[std::size_t(r) * sizeof host], host);
  std::fflush(stdout);

  auto sample = [&](std::string label) {
    Sample s{std::move(label), std::vector<long>(std::size_t(size), -1), std::vector<Rss>(std::size_t(size)),
             std::vector<std::vector<std::uint64_t>>(std::size_t(size))};
    for (int r = 0; r < size; ++r)
      if (here[std::size_t(r)]) {
        s.parts[std::size_t(r)] = read_rss(pids[std::size_t(r)]);
        s.kib[std::size_t(r)] = s.parts[std::size_t(r)].total;
      }
    return s;
  };

  // Expected records: per node rank (pinned round-robin), and dependencies;
  // the heap probes (soak_heap, one per node rank at each checkpoint) apart.
  std::map<int, std::uint64_t> expect_by_rank, probes_by_rank;
  std::uint64_t expect_deps = 0, probes = 0;

  std::vector<raympi::TaskCaller<int (*)(int)>> nop_on;
  std::vector<raympi::TaskCaller<int (*)(int, int)>> dep_on;
  for (int r : node_ranks) {
    auto t = raympi::task(soak_nop);
    t.resource("node:" + std::to_string(r), 0.001);
    nop_on.push_back(t);
    auto d = raympi::task(soak_dep);
    d.resource("node:" + std::to_string(r), 0.001);
    dep_on.push_back(d);
  }
  // After sample(): the heap of every node rank, from a task pinned there.
  auto probe_heaps = [&](Sample& s, std::int64_t done) {
    for (int r : node_ranks) {
      std::string xml;
      if (!opt.malloc_info.empty())
        xml = opt.malloc_info + "/malloc_info_r" + std::to_string(r) + "_" + std::to_string(done) + ".xml";
      auto h = raympi::task(soak_heap);
      h.resource("node:" + std::to_string(r), 0.001);
      s.heap[std::size_t(r)] = raympi::get(h.remote(xml));
      ++probes;
      ++probes_by_rank[r];
    }
  };

  std::vector<Sample> samples;
  Sample base;
  bool have_base = false;
  std::int64_t next_checkpoint = kBaselineTasks;
  std::vector<raympi::ObjectRef<int>> refs;
  refs.reserve(std::size_t(opt.round));
  const auto t0 = Clock::now();
  auto t_seg = t0;
  std::int64_t seg_start = 0;
  std::int64_t done = 0;
  while (done < opt.n) {
    const std::int64_t count = std::min(opt.round, opt.n - done);
    refs.clear();
    std::int64_t expect_sum = 0;
    for (std::int64_t i = 0; i < count; ++i) {
      const std::int64_t k = done + i;
      const std::size_t node = std::size_t(k % std::int64_t(node_ranks.size()));
      const int value = int(k % 1000);
      expect_sum += value;
      ++expect_by_rank[node_ranks[node]];
      if (i >= std::int64_t(node_ranks.size()) && k % opt.dep_every == opt.dep_every - 1) {
        // A dependency on the previous task (another node rank's when there
        // are several) or, every other time, on this node rank's previous one.
        const std::size_t back = expect_deps % 2 == 0 ? 1 : node_ranks.size();
        refs.push_back(dep_on[node].remote(refs[refs.size() - back], value));
        ++expect_deps;
      } else {
        refs.push_back(nop_on[node].remote(value));
      }
    }
    std::vector<int> got = raympi::get(refs);
    std::int64_t sum = 0;
    for (int v : got) sum += v;
    if (std::int64_t(got.size()) != count || sum != expect_sum) {
      fail("round at task " + std::to_string(done) + ": wrong results (sum " + std::to_string(sum) + ", expected " +
           std::to_string(expect_sum) + ")");
      break;
    }
    done += count;
    if (done >= next_checkpoint || done == opt.n) {
      const double seg_s = seconds_since(t_seg);
      Sample s = sample(std::to_string(done) + (done == opt.n ? " (end)" : ""));
      probe_heaps(s, done);
      std::printf("timeline_soak: %lld tasks, %.1f s, %.0f tasks/s since the last checkpoint; RSS MiB:",
                  (long long)done, seconds_since(t0), double(done - seg_start) / seg_s);
      for (long k : s.kib) std::printf(" %.1f", mib(k));
      std::printf("; heap in use/free MiB:");
      for (int r : node_ranks)
        std::printf(" r%d %.1f/%.1f", r, mib_bytes(s.heap[std::size_t(r)][1]), mib_bytes(s.heap[std::size_t(r)][2]));
      std::printf("\n");
      std::fflush(stdout);
      if (!have_base) {
        base = s;
        have_base = true;
      }
      samples.push_back(std::move(s));
      t_seg = Clock::now();
      seg_start = done;
      next_checkpoint = (done / kCheckpointEvery + 1) * kCheckpointEvery;
    }
  }
  const double run_s = seconds_since(t0);
  refs.clear();
  refs.shrink_to_fit();
  std::printf("timeline_soak: %lld tasks in %.2f s: %.0f tasks/s with recording\n", (long long)done, run_s,
              double(done) / run_s);

  // ---- memory ----
  print_table(samples, node_ranks, driver);
  if (have_base && done >= kBaselineTasks) {
    const long slack = long(opt.slack_mib * 1024);
    std::printf("timeline_soak: growth from %lld tasks (MiB), at the end and at most:", (long long)kBaselineTasks);
    std::vector<std::string> verdicts;
    for (int r = 0; r < size; ++r) {
      const std::size_t i = std::size_t(r);
      if (base.kib[i] < 0) {
        std::printf(" r%d n/a", r);
        continue;
      }
      long worst = base.kib[i];
      std::string worst_at = base.label;
      for (auto& s : samples)
        if (s.kib[i] > worst) worst = s.kib[i], worst_at = s.label;
      const long final_kib = samples.back().kib[i];
      std::printf(" r%d %+.1f (max %+.1f)", r, mib(final_kib - base.kib[i]), mib(worst - base.kib[i]));
      const long over = final_kib > base.kib[i] + slack ? final_kib : worst > base.kib[i] + slack ? worst : -1;
      if (over >= 0) {
        char line[512];
        std::snprintf(line, sizeof line, "rank %d (%s): RSS %.1f MiB after %s tasks > %.1f MiB after %lld tasks + %g MiB "
                      "(+%.1f MiB)", r, role_of(r, node_ranks, driver).c_str(), mib(over),
                      over == final_kib ? samples.back().label.c_str() : worst_at.c_str(), mib(base.kib[i]),
                      (long long)kBaselineTasks, opt.slack_mib, mib(over - base.kib[i]));
        verdicts.push_back(line);
      }
    }
    std::printf("\n");
    std::fflush(stdout);
    for (auto& v : verdicts) fail(v);
  } else {
    std::printf("timeline_soak: fewer than %lld tasks: no RSS baseline, memory not checked\n", (long long)kBaselineTasks);
  }
  std::fflush(stdout);

  // ---- the trace ----
  auto tt = Clock::now();
  try {
    raympi::timeline(opt.trace);
  } catch (const std::exception& e) {
    fail(std::string("raympi::timeline threw: ") + e.what());
  }
  const double trace_s = seconds_since(tt);
  std::uintmax_t trace_bytes = std::filesystem::file_size(opt.trace, ec);
  if (ec) trace_bytes = 0;
  Sample after_trace = sample("after timeline()");
  std::printf("timeline_soak: raympi::timeline wrote %.1f MiB in %.2f s; RSS MiB after it:", mib_bytes(trace_bytes),
              trace_s);
  for (long k : after_trace.kib) std::printf(" %.1f", mib(k));
  std::printf("\n");
  std::fflush(stdout);
  tt = Clock::now();
  TraceScan scan = scan_trace(opt.trace);
  std::printf("timeline_soak: trace: %llu lines, soak_nop %llu + soak_dep %llu task events (+ %llu soak_heap), %llu "
              "other complete events (transfers), flows %llu/%llu (scanned in %.2f s)\n",
              (unsigned long long)scan.lines, (unsigned long long)scan.nop, (unsigned long long)scan.dep,
              (unsigned long long)scan.heap, (unsigned long long)scan.other_x, (unsigned long long)scan.flows_s, (unsigned long long)scan.flows_f,
              seconds_since(tt));
  if (!scan.closed) fail("the trace " + opt.trace + " does not end with the event array's \"]}\" (truncated?)");
  if (scan.nop + scan.dep != std::uint64_t(done))
    fail("the trace has " + std::to_string(scan.nop + scan.dep) + " task events, expected " + std::to_string(done));
  if (scan.dep != expect_deps)
    fail("the trace has " + std::to_string(scan.dep) + " soak_dep events, expected " + std::to_string(expect_deps));
  if (scan.heap != probes)
    fail("the trace has " + std::to_string(scan.heap) + " soak_heap events, expected " + std::to_string(probes));
  if (scan.flows_s != expect_deps || scan.flows_f != expect_deps)
    fail("the trace has " + std::to_string(scan.flows_s) + "/" + std::to_string(scan.flows_f) +
         " flow start/end events, expected " + std::to_string(expect_deps));
  for (auto& [r, n] : expect_by_rank)
    if (scan.soak_by_pid[r] != n)
      fail("the trace has " + std::to_string(scan.soak_by_pid[r]) + " task events of node rank " + std::to_string(r) +
           ", expected " + std::to_string(n));
  if (!opt.keep) std::filesystem::remove(opt.trace, ec);

  // ---- shutdown: every rank writes the merged HDF5 log ----
  tt = Clock::now();
  raympi::shutdown();
  const double shutdown_s = seconds_since(tt);
  std::uintmax_t log_bytes = std::filesystem::file_size(opt.event_log, ec);
  if (ec) log_bytes = 0;
  std::printf("timeline_soak: shutdown (merged event log through MPI-IO) took %.2f s; %s: %.1f MiB\n", shutdown_s,
              opt.event_log.c_str(), mib_bytes(log_bytes));
  std::fflush(stdout);
  try {
    tt = Clock::now();
    raympi::detail::EventBatch log = raympi::detail::read_event_log(opt.event_log);
    raympi::detail::RankCounts counts = raympi::detail::read_rank_counts(opt.event_log);
    std::uint64_t nop = 0, dep = 0, heap = 0, other = 0;
    std::map<int, std::uint64_t> by_node;
    std::vector<std::uint64_t> ids;
    ids.reserve(log.tasks.size());
    for (auto& t : log.tasks) {
      auto name = t.name_view();
      if (name == "soak_nop") ++nop;
      else if (name == "soak_dep") ++dep;
      else if (name == "soak_heap") ++heap;
      else ++other;
      ++by_node[t.node];
      ids.push_back(t.id);
    }
    std::sort(ids.begin(), ids.end());
    const auto distinct = std::uint64_t(std::unique(ids.begin(), ids.end()) - ids.begin());
    std::uint64_t count_tasks = 0, count_edges = 0, count_transfers = 0;
    for (auto& c : counts) count_tasks += c[0], count_edges += c[1], count_transfers += c[2];
    std::printf("timeline_soak: event log read in %.2f s: %zu task records (soak_nop %llu, soak_dep %llu, soak_heap "
                "%llu, other %llu; %llu distinct ids), %zu edges, %zu transfers; \"ranks\" dataset (tasks/edges/"
                "transfers):",
                seconds_since(tt), log.tasks.size(), (unsigned long long)nop, (unsigned long long)dep,
                (unsigned long long)heap, (unsigned long long)other, (unsigned long long)distinct, log.edges.size(), log.transfers.size());
    for (std::size_t r = 0; r < counts.size(); ++r)
      std::printf(" r%zu %llu/%llu/%llu", r, (unsigned long long)counts[r][0], (unsigned long long)counts[r][1],
                  (unsigned long long)counts[r][2]);
    std::printf("\n");
    if (log.tasks.size() != std::size_t(done) + probes || nop + dep != std::uint64_t(done) || heap != probes)
      fail("the event log holds " + std::to_string(log.tasks.size()) + " task records (" + std::to_string(nop + dep) +
           " soak tasks, " + std::to_string(heap) + " heap probes), expected " + std::to_string(done) + " + " +
           std::to_string(probes));
    if (distinct != log.tasks.size())
      fail("the event log holds " + std::to_string(log.tasks.size() - distinct) + " duplicate task ids");
    if (dep != expect_deps) fail("the event log holds " + std::to_string(dep) + " soak_dep records, expected " + std::to_string(expect_deps));
    if (log.edges.size() != expect_deps)
      fail("the event log holds " + std::to_string(log.edges.size()) + " edges, expected " + std::to_string(expect_deps));
    if (counts.size() != std::size_t(size))
      fail("the event log's \"ranks\" dataset has " + std::to_string(counts.size()) + " rows, expected " +
           std::to_string(size));
    if (count_tasks != log.tasks.size() || count_edges != log.edges.size() || count_transfers != log.transfers.size())
      fail("the event log's \"ranks\" dataset disagrees with its datasets");
    for (auto& [r, soak] : expect_by_rank) {
      const std::uint64_t n = soak + probes_by_rank[r];
      if (by_node[r] != n)
        fail("the event log holds " + std::to_string(by_node[r]) + " task records of node rank " + std::to_string(r) +
             ", expected " + std::to_string(n));
      if (std::size_t(r) < counts.size() && counts[std::size_t(r)][0] != n)
        fail("the event log's \"ranks\" row " + std::to_string(r) + " says " + std::to_string(counts[std::size_t(r)][0]) +
             " tasks, expected " + std::to_string(n));
    }
  } catch (const std::exception& e) {
    fail("reading the event log " + opt.event_log + " failed: " + e.what());
  }
  if (!opt.keep) std::filesystem::remove(opt.event_log, ec);

  std::printf("timeline_soak: %s: %lld tasks, %.0f tasks/s with recording; trace %.1f MiB written in %.2f s; event "
              "log %.1f MiB written in %.2f s (shutdown)\n",
              failures ? "FAIL" : "OK", (long long)done, double(done) / run_s, mib_bytes(trace_bytes), trace_s,
              mib_bytes(log_bytes), shutdown_s);
  std::fflush(stdout);
  MPI_Finalize();
  return failures ? 1 : 0;
}
