#pragma once
// Which ranks of the job are alive: heartbeats through the GCS and the
// verdicts drawn from them.
//
// Every rank but the GCS sends the GCS a heartbeat each heartbeat period (a
// node's load report counts as one); the GCS sends every rank one back. The
// GCS declares a rank it has not heard from for the heartbeat timeout dead and
// tells every live rank (node_died); a rank whose data plane saw a peer's
// endpoint break reports it to the GCS, which declares it at once. A rank
// that has not heard the GCS for the timeout declares the GCS dead itself. A
// dead GS, GCS or driver is fatal for the job; a dead node rank is not: its
// work fails over (core/runtime.cpp, Runtime::on_node_died).

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "core/context.hpp"

namespace raympi::detail {

/// @brief Liveness of the job's ranks, as this rank knows it.
class Membership {
 public:
  explicit Membership(Context& cx);

  /// True once this rank learnt that `rank` died. Lock-free: placement and
  /// every send ask it.
  bool dead(int rank) const {
    return rank >= 0 && rank < int(size_) && dead_[rank].load(std::memory_order_relaxed);
  }
  /// Records `rank` as dead; false when it was already.
  bool mark_dead(int rank);
  /// The ranks known dead, in the order they were found.
  std::vector<int> dead_ranks() const;

  /// The reason the job cannot go on (a dead GS, GCS or driver); empty while it can.
  std::string fatal_reason() const;
  bool fatal() const { return fatal_.load(std::memory_order_acquire); }
  /// Records the job's fatal loss (the first reason stays).
  void set_fatal(std::string reason);

  /// A heartbeat (or a node's load report) arrived from `src`.
  void heard_from(int src);
  /// Heartbeats out, timeouts checked: what the tick does for liveness.
  /// Calls `declare(rank, reason)` for every rank that timed out here.
  /// Returns when it next needs the tick.
  template <class Declare>
  Clock::time_point tick(Clock::time_point now, Declare&& declare);
  /// From now on nothing is declared dead (the job is shutting down and
  /// ranks stop their heartbeats at different times).
  void stop() { stopped_.store(true, std::memory_order_relaxed); }

  /// "rank 3 (host h2)"
  std::string describe(int rank) const;

 private:
  void send_heartbeats();
  std::vector<int> timed_out(Clock::time_point now);

  Context& cx_;
  std::size_t size_;
  std::unique_ptr<std::atomic<bool>[]> dead_;
  std::unique_ptr<std::atomic<std::int64_t>[]> last_heard_;  // steady-clock ns, per rank
  Clock::time_point next_beat_{};
  std::atomic<bool> fatal_{false}, stopped_{false};
  mutable std::mutex mu_;  // dead_order_, fatal_reason_
  std::vector<int> dead_order_;
  std::string fatal_reason_;
};

template <class Declare>
Clock::time_point Membership::tick(Clock::time_point now, Declare&& declare) {
  if (size_ <= 1 || stopped_.load(std::memory_order_relaxed)) return Clock::time_point::max();
  if (now >= next_beat_) {
    send_heartbeats();
    next_beat_ = now + cx_.cfg.heartbeat_period;
    for (int r : timed_out(now))
      declare(r, "no heartbeat for " + std::to_string(cx_.cfg.heartbeat_timeout.count()) +
                     " ms (RAYMPI_HEARTBEAT_TIMEOUT_MS): the process died, or its host or network failed");
  }
  return next_beat_;
}

}  // namespace raympi::detail
