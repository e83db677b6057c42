// Liveness during the shutdown handshake. The heartbeats stop when the
// shutdown begins (ranks stop at different times, so a missing heartbeat
// would prove nothing), yet a rank may still die: while it finishes its
// running tasks, after it acknowledged, or the driver itself. Each side
// tells the other it lives every heartbeat period, and a side unheard for
// the heartbeat timeout is dead:
//
//   driver                                  every other rank
//   shutdown ------------------------------> finishes its running tasks
//            <-- shutdown_alive, each period (a rank silent for the timeout:
//                                           dead, the job ends without it)
//   shutdown_alive, each period ----------> (a driver silent for the timeout:
//                                           the rank leaves, exit status 1)
//            <----------------------------- shutdown_ack
//   all acknowledged (or dead): shutdown_final, naming the dead ranks
//   closing barrier (skipped when a rank died; a rank dying after
//   shutdown_final is caught by the barrier's own limit, Transport::Tuning)
#include <algorithm>
#include <cstdlib>

#include "base/log.hpp"
#include "core/runtime.hpp"

namespace raympi::detail {

void Runtime::await_acknowledgements(std::vector<int> skipped) {
  const auto start = Clock::now();
  auto last_warning = start;
  std::unique_lock lk(life_mu_);
  while (!life_cv_.wait_for(lk, cx_.cfg.heartbeat_period, [&] { return unacked_ranks_locked(skipped).empty(); })) {
    const auto now = Clock::now();
    for (int r = 0; r < cx_.roles.size; ++r)
      if (r != cx_.rank && std::find(skipped.begin(), skipped.end(), r) == skipped.end() && !membership_->dead(r))
        cx_.send(r, encode_msg(MsgType::shutdown_alive, ShutdownMsg{}));
    for (int r : unacked_ranks_locked(skipped)) {
      auto heard = finishing_heard_.find(r);
      auto last = heard == finishing_heard_.end() ? start : std::max(start, heard->second);
      if (now - last <= cx_.cfg.heartbeat_timeout) continue;
      RAYMPI_LOG_ERROR("shutdown: {} went silent for {} ms (the heartbeat timeout) without acknowledging the "
                       "shutdown: it died; the job ends without it",
                       membership_->describe(r), cx_.cfg.heartbeat_timeout.count());
      silent_ranks_.push_back(r);
      skipped.push_back(r);
    }
    if (now - last_warning >= std::chrono::seconds(10) && !unacked_ranks_locked(skipped).empty()) {
      RAYMPI_LOG_WARN("shutdown: waiting for {} to finish their running tasks",
                      describe_ranks(unacked_ranks_locked(skipped)));
      last_warning = now;
    }
  }
  // Everyone still here is done: all go on to the closing barrier together,
  // skipping it when a rank died (it would never complete).
  ShutdownMsg final_msg;
  final_msg.failed_ranks.assign(skipped.begin(), skipped.end());
  for (int r : membership_->dead_ranks())
    if (std::find(skipped.begin(), skipped.end(), r) == skipped.end()) final_msg.failed_ranks.push_back(r);
  for (int r : acked_) cx_.send(r, encode_msg(MsgType::shutdown_final, final_msg));
}

void Runtime::await_final() {
  // No time limit here: shutdown_tick ends the process if the driver goes silent.
  std::unique_lock lk(life_mu_);
  life_cv_.wait(lk, [&] { return final_received_; });
}

void Runtime::shutdown_tick(Clock::time_point now) {
  if (finishing_.load(std::memory_order_relaxed) && now - last_alive_sent_ >= cx_.cfg.heartbeat_period) {
    cx_.send(cx_.roles.first_node, encode_msg(MsgType::shutdown_alive, ShutdownMsg{}));
    last_alive_sent_ = now;
  }
  std::lock_guard lk(life_mu_);
  if (final_received_ || now - driver_heard_ <= cx_.cfg.heartbeat_timeout) return;
  // The driver died during the shutdown: nobody will collect this rank's
  // results or say when to stop. Leave now, as after any fatal loss (tasks
  // still running here are not waited for: the runtime never interrupts
  // user code, and they could run for hours).
  RAYMPI_LOG_ERROR("rank {}: the driver ({}) went silent for {} ms (the heartbeat timeout) during the shutdown: "
                   "it died; the job failed; leaving it with exit status 1",
                   cx_.rank, membership_->describe(cx_.roles.first_node), cx_.cfg.heartbeat_timeout.count());
  std::_Exit(1);
}

}  // namespace raympi::detail
