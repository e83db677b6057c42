#include "core/membership.hpp"

#include <algorithm>

namespace raympi::detail {

namespace {
std::int64_t ns_of(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}
}  // namespace

Membership::Membership(Context& cx)
    : cx_(cx),
      size_(std::size_t(cx.roles.size)),
      dead_(new std::atomic<bool>[size_]),
      last_heard_(new std::atomic<std::int64_t>[size_]) {
  const std::int64_t now = ns_of(Clock::now());
  for (std::size_t r = 0; r < size_; ++r) {
    dead_[r].store(false);
    last_heard_[r].store(now);
  }
}

bool Membership::mark_dead(int rank) {
  if (rank < 0 || rank >= int(size_)) return false;
  if (dead_[rank].exchange(true)) return false;
  std::lock_guard lk(mu_);
  dead_order_.push_back(rank);
  return true;
}

std::vector<int> Membership::dead_ranks() const {
  std::lock_guard lk(mu_);
  return dead_order_;
}

std::string Membership::fatal_reason() const {
  std::lock_guard lk(mu_);
  return fatal_reason_;
}

void Membership::set_fatal(std::string reason) {
  std::lock_guard lk(mu_);
  if (fatal_reason_.empty()) fatal_reason_ = std::move(reason);
  fatal_.store(true, std::memory_order_release);
}

void Membership::heard_from(int src) {
  if (src >= 0 && src < int(size_)) last_heard_[src].store(ns_of(Clock::now()), std::memory_order_relaxed);
}

std::string Membership::describe(int rank) const {
  std::string s = "rank " + std::to_string(rank);
  for (auto& n : cx_.nodes)
    if (n.rank == rank) return s + " (host " + n.host + ")";
  if (rank == cx_.roles.gcs) s += " (the GCS)";
  else if (rank == cx_.roles.gs) s += " (the global scheduler)";
  return s;
}

void Membership::send_heartbeats() {
  const Buffer beat = encode_msg(MsgType::heartbeat, IdMsg{});
  if (cx_.rank != cx_.roles.gcs) {
    // A node's load report, sent to the GCS every period, is its heartbeat already.
    if (!cx_.is_node()) cx_.send(cx_.roles.gcs, beat);
    return;
  }
  for (int r = 0; r < int(size_); ++r)
    if (r != cx_.rank && !dead(r)) cx_.send(r, beat);
}

std::vector<int> Membership::timed_out(Clock::time_point now) {
  const std::int64_t limit = ns_of(now) - std::chrono::nanoseconds(cx_.cfg.heartbeat_timeout).count();
  std::vector<int> out;
  // The GCS watches every rank; every other rank watches the GCS.
  for (int r = 0; r < int(size_); ++r) {
    if (r == cx_.rank || dead(r)) continue;
    if (cx_.rank != cx_.roles.gcs && r != cx_.roles.gcs) continue;
    if (last_heard_[r].load(std::memory_order_relaxed) < limit) out.push_back(r);
  }
  return out;
}

}  // namespace raympi::detail
