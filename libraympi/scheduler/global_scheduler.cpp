#include "scheduler/global_scheduler.hpp"

namespace raympi::detail {

namespace {
// Below this many argument bytes on a node, locality does not beat load.
constexpr std::uint64_t kLocalityBytes = 1u << 20;
// Up to this many nodes every decision looks at all of them; beyond, at
// slices of this many, and at most kMaxSampled before settling for a busy one.
constexpr std::size_t kSampleNodes = 64;
constexpr std::size_t kMaxSampled = 128;
}

GlobalScheduler::GlobalScheduler(std::vector<NodeView> nodes) : nodes_(std::move(nodes)) {
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    const int rank = nodes_[i].rank;
    if (rank < 0) continue;
    if (static_cast<std::size_t>(rank) >= index_by_rank_.size()) index_by_rank_.resize(rank + 1, -1);
    index_by_rank_[rank] = static_cast<int>(i);
  }
  free_slot_.assign(nodes_.size(), -1);
  for (auto& n : nodes_)
    if (n.rank >= 0) track_free_cpus(n);
}

GlobalScheduler::NodeView* GlobalScheduler::find(int rank) {
  if (rank < 0 || static_cast<std::size_t>(rank) >= index_by_rank_.size() || index_by_rank_[rank] < 0) return nullptr;
  return &nodes_[index_by_rank_[rank]];
}

int GlobalScheduler::choose(const ResourceDemand& d,
                            const std::vector<std::pair<std::int32_t, std::uint64_t>>& locality) {
  NodeView* best = nullptr;
  bool best_free = false;
  std::uint64_t best_bytes = 0;
  double best_load = 0;
  auto consider = [&](NodeView& n) {
    if (n.dead || !n.total.fits(d)) return;
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
  };
  const std::size_t n = nodes_.size();
  if (n <= kSampleNodes) {
    for (auto& node : nodes_) consider(node);
  } else {
    // A large cluster: the nodes holding the arguments, then slices of
    // kSampleNodes nodes from a cursor that moves on each decision, until one
    // is free or kMaxSampled were seen (the best of k choices balances load
    // as well as a full scan does, at O(k) per decision: docs/scaling.md).
    for (auto& [rank, b] : locality)
      if (NodeView* holder = find(rank)) consider(*holder);
    // Nodes with a free CPU are kept in a list: the few free ones of a busy
    // cluster are found at once.
    for (std::size_t i = 0; i < free_cpus_.size() && i < kSampleNodes && !(best && best_free); ++i)
      consider(nodes_[free_cpus_[(free_cursor_ + i) % free_cpus_.size()]]);
    if (!free_cpus_.empty()) free_cursor_ = (free_cursor_ + 1) % free_cpus_.size();
    std::size_t seen = 0;
    while (seen < n && seen < kMaxSampled && !(best && best_free)) {
      for (std::size_t i = 0; i < kSampleNodes && seen < n; ++i, ++seen) {
        consider(nodes_[cursor_]);
        cursor_ = cursor_ + 1 == n ? 0 : cursor_ + 1;
      }
    }
    // None of them could ever run it: ask every node before saying no.
    if (!best)
      for (auto& node : nodes_) consider(node);
  }
  if (!best) return -1;
  // Optimistic accounting until the node's next report.
  best->available.take(d);
  best->queued++;
  track_free_cpus(*best);
  return best->rank;
}

void GlobalScheduler::mark_dead(int rank) {
  if (NodeView* n = find(rank)) {
    n->dead = true;
    track_free_cpus(*n);
  }
}

void GlobalScheduler::track_free_cpus(const NodeView& n) {
  const int index = index_by_rank_[n.rank];
  const bool listed = free_slot_[index] >= 0;
  const bool free = !n.dead && n.available.cpu >= 1;
  if (free && !listed) {
    free_slot_[index] = static_cast<int>(free_cpus_.size());
    free_cpus_.push_back(index);
  } else if (!free && listed) {
    // Swap-remove: the last entry takes the slot.
    const int slot = free_slot_[index];
    free_cpus_[slot] = free_cpus_.back();
    free_slot_[free_cpus_[slot]] = slot;
    free_cpus_.pop_back();
    free_slot_[index] = -1;
  }
}

bool GlobalScheduler::dead_node_fits(const ResourceDemand& d) const {
  for (auto& n : nodes_)
    if (n.dead && n.total.fits(d)) return true;
  return false;
}

void GlobalScheduler::on_load(const NodeLoadMsg& m) {
  NodeView* n = find(m.rank);
  if (!n) return;  // not a node of this job
  n->available = ResourceSet::from_map(m.available);
  n->queued = m.queued;
  n->running = m.running;
  track_free_cpus(*n);
}

}  // namespace raympi::detail
