#include "scheduler/global_scheduler.hpp"

namespace raympi::detail {

namespace {
// Below this many argument bytes on a node, locality does not beat load.
constexpr std::uint64_t kLocalityBytes = 1u << 20;
}

int GlobalScheduler::choose(const ResourceDemand& d,
                            const std::vector<std::pair<std::int32_t, std::uint64_t>>& locality) {
  NodeView* best = nullptr;
  bool best_free = false;
  std::uint64_t best_bytes = 0;
  double best_load = 0;
  for (auto& n : nodes_) {
    if (n.dead || !n.total.fits(d)) continue;
    bool free = n.available.fits(d);
    std::uint64_t bytes = 0;
    for (auto& [rank, b] : locality)
      if (rank == n.rank) bytes += b;
    if (bytes < kLocalityBytes) bytes = 0;
    double load = double(n.queued + n.running) / std::max(1.0, n.total.cpu);
    bool better = !best || (free && !best_free) ||
                  (free == best_free && (bytes > best_bytes || (bytes == best_bytes && load < best_load)));
    if (better) {
      best = &n;
      best_free = free;
      best_bytes = bytes;
      best_load = load;
    }
  }
  if (!best) return -1;
  // Optimistic accounting until the node's next report.
  best->available.take(d);
  best->queued++;
  return best->rank;
}

void GlobalScheduler::mark_dead(int rank) {
  for (auto& n : nodes_)
    if (n.rank == rank) n.dead = true;
}

bool GlobalScheduler::dead_node_fits(const ResourceDemand& d) const {
  for (auto& n : nodes_)
    if (n.dead && n.total.fits(d)) return true;
  return false;
}

void GlobalScheduler::on_load(const NodeLoadMsg& m) {
  for (auto& n : nodes_) {
    if (n.rank != m.rank) continue;
    n.available = ResourceSet::from_map(m.available);
    n.queued = m.queued;
    n.running = m.running;
  }
}

}  // namespace raympi::detail
