#include "transport/transport.hpp"
#include "base/log.hpp"
#include "base/thread_priority.hpp"

#include <sched.h>

#include <algorithm>

namespace raympi::detail {

namespace {
constexpr auto kDeepIdle = std::chrono::milliseconds(50);
constexpr auto kSafetyNap = std::chrono::milliseconds(50);
// Idle and never woken, the safety nap doubles up to this: every sender
// re-rings until its send is matched, so the nap only bounds a wake-up lost
// some unforeseen way, and a sleeping job's ranks wake a few times a second
// (with the heartbeats) instead of twenty.
constexpr auto kDeepSafetyNap = std::chrono::milliseconds(200);
// While our sends wait to be matched the loop naps briefly (it drives their
// MPI progress and re-rings): 20 us at first, backing off to this. A send to
// another host waits a ring and a wake-up or two (hundreds of us): polling
// every 20 us all that time was most of an idle job's cost across hosts.
constexpr auto kPendingNap = std::chrono::microseconds(20);
constexpr auto kPendingNapMax = std::chrono::microseconds(250);
// A ring from another host takes two thread wake-ups more than a poll finds
// the message (sender's and receiver's UCX threads): for this long after
// activity a rank with peers there polls with backoff before it blocks, so
// that request-reply traffic across hosts keeps its latency.
constexpr auto kRemoteWarm = std::chrono::milliseconds(1);
}

Transport::~Transport() = default;  // implementations stop the thread (stop_if_running)

void Transport::send(int dst, Buffer msg) {
  if (closed_.load(std::memory_order_acquire)) return;
  {
    std::lock_guard lk(mu_);
    if (dst != rank_ && outbox_.empty() && !flushing_ && !stop_ && !on_progress_thread() &&
        post_direct_locked(dst, msg))
      return;
    outbox_.emplace_back(dst, std::move(msg));
  }
  notify();
}

void Transport::notify() {
  bool wake;
  {
    std::lock_guard lk(mu_);
    wake = sleeping_;
  }
  if (wake) cv_.notify_one();
}

bool Transport::block_until(Clock::time_point until) {
  std::unique_lock lk(mu_);
  if (!outbox_.empty() || stop_) return true;
  sleeping_ = true;
  bool woken = cv_.wait_until(lk, until) == std::cv_status::no_timeout;
  sleeping_ = false;
  return woken;
}

void Transport::start(Hooks hooks) {
  hooks_ = std::move(hooks);
  thread_ = std::thread([this] {
    progress_id_.store(std::this_thread::get_id(), std::memory_order_release);
    mark_latency_sensitive_thread();
    loop();
  });
}

void Transport::stop(bool peers_failed) {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
    peers_failed_ = peers_failed;
    stop_deadline_ = Clock::now() + std::chrono::seconds(2);
    closed_.store(true, std::memory_order_release);  // later sends are dropped
  }
  notify();
  if (thread_.joinable()) thread_.join();
}

void Transport::loop() {
  std::vector<std::pair<int, Buffer>> batch;
  auto idle_since = Clock::now();
  auto drain_start = idle_since;  // when stop() found the outbox empty (closing)
  bool closing = false;
  auto backoff = std::chrono::microseconds(1);
  Clock::duration safety = kSafetyNap;
  auto next_tick = Clock::now();
  for (;;) {
    bool active = false;
    bool stopping;
    {
      std::lock_guard lk(mu_);
      batch.swap(outbox_);
      flushing_ = !batch.empty();
      stopping = stop_;
      reap_direct_locked();
    }
    for (auto& [dst, msg] : batch) {
      if (dst == rank_) deliver(rank_, std::move(msg));
      else send_remote(dst, std::move(msg));
      active = true;
    }
    if (!batch.empty()) {
      flush_remote();
      std::lock_guard lk(mu_);
      flushing_ = false;
    }
    batch.clear();
    if (poll_remote()) active = true;
    auto now = Clock::now();
    if (now >= next_tick) next_tick = hooks_.on_tick(now);
    if (stopping) {
      // Flush what is queued, then keep receiving (and dropping) until every
      // rank has stopped too: peers' synchronous sends to us must be matched.
      std::unique_lock lk(mu_);
      if (outbox_.empty() && peers_failed_) {
        if (!sends_pending() || Clock::now() > stop_deadline_) break;
      } else if (outbox_.empty()) {
        // A send to a rank that died after the handshake is never matched:
        // the time limit counts from here, not from the barrier.
        if (!closing) drain_start = now;
        closing = true;
        if (!sends_pending()) {
          draining_ = true;
          if (quiesced()) break;
        }
        if (now - drain_start > tuning_.quiesce_limit) {
          quiesce_failed_.store(true, std::memory_order_release);
          RAYMPI_LOG_ERROR("rank {}: not every rank reached the end of the job within {} ms (the heartbeat timeout): "
                           "a rank died during the shutdown; leaving without the closing barrier",
                           rank_, tuning_.quiesce_limit.count());
          break;
        }
      }
      lk.unlock();
      // The other ranks may take a while (a loaded host): spin briefly, then
      // nap, so that waiting for them costs no core.
      if (closing && now - drain_start > std::chrono::milliseconds(5))
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      else
        sched_yield();
      continue;
    }
    if (active) {
      idle_since = now;
      backoff = std::chrono::microseconds(1);
      safety = kSafetyNap;
      continue;
    }
    if (now - idle_since < tuning_.spin && (!hooks_.may_spin || hooks_.may_spin())) {
      sched_yield();
      continue;
    }
    // Idle: block until woken (a local send, or a peer's doorbell), the next
    // tick, or -- for peers that cannot ring -- the next poll.
    auto nap = sends_pending() ? std::clamp<std::chrono::microseconds>(backoff, kPendingNap, kPendingNapMax) : backoff;
    // Rings are a wake-up hint, not a delivery guarantee (a fragment may land a
    // little after the ring): after a wake-up poll for a spin window again, and
    // never sleep longer than the safety nap (kSafetyNap, growing to
    // kDeepSafetyNap while nothing happens).
    const bool blocking = peers_ring() && !sends_pending() && (!remote_rings() || now - idle_since >= kRemoteWarm);
    auto until = blocking ? std::min(next_tick, now + safety) : std::min(now + nap, next_tick);
    if (block_until(until)) {
      idle_since = Clock::now();
      backoff = std::chrono::microseconds(1);
      safety = kSafetyNap;
      continue;
    }
    if (blocking && Clock::now() >= now + safety) safety = std::min<Clock::duration>(2 * safety, kDeepSafetyNap);
    // Long idle (a sleeping job): poll four times less often still.
    auto cap = Clock::now() - idle_since > kDeepIdle ? tuning_.max_backoff * 4 : tuning_.max_backoff;
    backoff = std::min(backoff * 2, cap);
  }
}

}  // namespace raympi::detail
