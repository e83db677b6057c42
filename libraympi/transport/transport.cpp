#include "transport/transport.hpp"

#include <sched.h>

namespace raympi::detail {

Transport::~Transport() {
  if (thread_.joinable()) stop();
}

void Transport::send(int dst, Buffer msg) {
  if (closed_.load(std::memory_order_acquire)) return;
  bool wake;
  {
    std::lock_guard lk(mu_);
    outbox_.emplace_back(dst, std::move(msg));
    wake = sleeping_;
  }
  if (wake) cv_.notify_one();
}

void Transport::start(Hooks hooks) {
  hooks_ = std::move(hooks);
  thread_ = std::thread([this] { loop(); });
}

void Transport::stop() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
  closed_.store(true, std::memory_order_release);
}

void Transport::loop() {
  std::vector<std::pair<int, Buffer>> batch;
  auto idle_since = Clock::now();
  auto backoff = std::chrono::microseconds(1);
  auto next_tick = Clock::now();
  for (;;) {
    bool active = false;
    bool stopping;
    {
      std::lock_guard lk(mu_);
      batch.swap(outbox_);
      stopping = stop_;
    }
    for (auto& [dst, msg] : batch) {
      if (dst == rank_) deliver(rank_, std::move(msg));
      else send_remote(dst, std::move(msg));
      active = true;
    }
    batch.clear();
    if (poll_remote()) active = true;
    auto now = Clock::now();
    if (now >= next_tick) next_tick = hooks_.on_tick(now);
    if (stopping) {
      std::lock_guard lk(mu_);
      if (outbox_.empty() && !sends_pending()) break;
      continue;
    }
    if (active) {
      idle_since = now;
      backoff = std::chrono::microseconds(1);
      continue;
    }
    if (now - idle_since < tuning_.spin) {
      sched_yield();
      continue;
    }
    // Idle: block until a local send, the next tick, or the next network poll.
    auto nap = sends_pending() ? std::chrono::microseconds(20) : backoff;
    if (size_ == 1) nap = tuning_.max_backoff * 100;  // nothing arrives from outside
    auto until = std::min(now + nap, next_tick);
    std::unique_lock lk(mu_);
    if (outbox_.empty() && !stop_) {
      sleeping_ = true;
      cv_.wait_until(lk, until);
      sleeping_ = false;
    }
    if (!outbox_.empty()) idle_since = Clock::now();  // work arrived: answer fast again
    backoff = std::min(backoff * 2, tuning_.max_backoff);
  }
}

}  // namespace raympi::detail
