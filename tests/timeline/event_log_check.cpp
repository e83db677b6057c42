// Reads a job's event log (RAYMPI_EVENT_LOG) and checks it holds at least
// MIN task records named NAME, every one from a node rank listed in the
// file's per-rank counts, and that those counts add up to the datasets.
//
//   event_log_check FILE MIN NAME
#include <cstdio>
#include <cstdlib>
#include <string>

#include "timeline/event_spool.hpp"

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: event_log_check FILE MIN NAME\n");
    return 2;
  }
  const std::string path = argv[1], name = argv[3];
  const long min = std::atol(argv[2]);
  try {
    raympi::detail::EventBatch b = raympi::detail::read_event_log(path);
    auto counts = raympi::detail::read_rank_counts(path);
    std::uint64_t tasks = 0, edges = 0, transfers = 0;
    for (auto& c : counts) {
      tasks += c[0];
      edges += c[1];
      transfers += c[2];
    }
    long named = 0;
    for (auto& t : b.tasks) named += t.name_view() == name;
    std::printf("event_log_check: %s: %zu tasks (%ld named %s), %zu edges, %zu transfers, %zu ranks\n", path.c_str(),
                b.tasks.size(), named, name.c_str(), b.edges.size(), b.transfers.size(), counts.size());
    bool ok = named >= min && tasks == b.tasks.size() && edges == b.edges.size() && transfers == b.transfers.size();
    if (!ok) std::printf("event_log_check: FAIL (want >= %ld named tasks; per-rank counts %llu/%llu/%llu)\n", min,
                         (unsigned long long)tasks, (unsigned long long)edges, (unsigned long long)transfers);
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::printf("event_log_check: FAIL: %s\n", e.what());
    return 1;
  }
}
