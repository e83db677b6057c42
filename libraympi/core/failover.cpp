// A rank of the job died: the verdict (core/membership) and what every rank
// does about it. A node rank's loss fails over: its queued and running tasks
// are retried elsewhere when their max_retries allow, else fail with
// NodeDiedError; objects only it held fail with ObjectLostError; actors on it
// are ActorDiedError; new work avoids it; shutdown skips it. Losing the GS,
// the GCS or the driver ends the job: every waiting call throws the reason.
#include <algorithm>
#include <cstdlib>

#include "base/log.hpp"
#include "core/runtime.hpp"

namespace raympi::detail {

void Runtime::peer_failed(int rank) {
  {
    std::lock_guard lk(life_mu_);
    // Once shutdown began, peers closing their endpoints is expected.
    if (shutdown_requested_) return;
    // Known at once here, before the GCS's verdict comes back: a shutdown
    // that starts meanwhile must not wait for this rank.
    if (std::find(failed_ranks_.begin(), failed_ranks_.end(), rank) == failed_ranks_.end())
      failed_ranks_.push_back(rank);
  }
  RAYMPI_LOG_ERROR("rank {}: the data-plane endpoint of rank {} broke; objects only it held are lost", cx_.rank, rank);
  fetcher_.fail_fetches_involving(rank);
  // The GCS decides for the whole job (this loops back when this rank is it).
  NodeDiedMsg m{rank, "its data-plane endpoint broke (seen by rank " + std::to_string(cx_.rank) + ")"};
  cx_.send(cx_.roles.gcs, encode_msg(MsgType::node_died, m));
}

void Runtime::declare_dead(int rank, const std::string& reason) {
  if (membership_->dead(rank)) return;
  NodeDiedMsg m{rank, reason};
  Buffer b = encode_msg(MsgType::node_died, m);
  for (int r = 0; r < cx_.roles.size; ++r)
    if (r != cx_.rank && r != rank && !membership_->dead(r)) cx_.send(r, b);
  on_node_died(rank, reason);
}

void Runtime::on_node_died(int rank, const std::string& reason) {
  if (rank == cx_.rank) {
    // The others failed over this rank's work already: running on would only
    // duplicate it. Leave (a false verdict comes from a rank stalled longer
    // than the heartbeat timeout).
    RAYMPI_LOG_ERROR("rank {}: the GCS declared this rank dead ({}); leaving the job", cx_.rank, reason);
    std::_Exit(1);
  }
  if (!membership_->mark_dead(rank)) return;
  {
    std::lock_guard lk(life_mu_);
    if (!shutdown_requested_ && std::find(failed_ranks_.begin(), failed_ranks_.end(), rank) == failed_ranks_.end())
      failed_ranks_.push_back(rank);
    life_cv_.notify_all();  // a shutdown waiting for its acknowledgement stops waiting
  }
  const std::string who = membership_->describe(rank);
  const bool essential = rank == cx_.roles.gcs || rank == cx_.roles.gs || rank == cx_.roles.first_node;
  if (essential) {
    // describe() names the GS and GCS roles; the driver is a node with a host.
    membership_->set_fatal("raympi: " + who + (rank == cx_.roles.first_node ? " (the driver)" : "") + " died (" +
                           reason +
                           "); the job cannot continue without it. Rerun the job (and look at that rank's "
                           "output and the batch system's log for why it ended)");
    RAYMPI_LOG_ERROR("rank {}: {}", cx_.rank, membership_->fatal_reason());
    waiters_.cancel_all();  // every blocked get/wait throws the reason
    std::lock_guard lk(life_mu_);
    life_cv_.notify_all();  // serve() leaves
    return;
  }
  RAYMPI_LOG_ERROR("rank {}: node {} died ({}); its tasks fail over and the objects only it held are lost", cx_.rank,
                   who, reason);
  const std::string why = who + ", which died (" + reason + ")";
  if (gs_) gs_->mark_dead(rank);
  if (gcs_server_) gcs_server_->mark_dead(rank, why);
  fetcher_.fail_fetches_involving(rank);
  router_.on_node_died(rank, why);
  owners_.on_node_died(rank, why);
  tasks_.on_node_died(rank, why);
}

std::vector<int> Runtime::unacked_ranks_locked(const std::vector<int>& skipped) {
  std::vector<int> out;
  for (int r = 0; r < cx_.roles.size; ++r) {
    if (r == cx_.rank || membership_->dead(r) || std::find(acked_.begin(), acked_.end(), r) != acked_.end()) continue;
    if (std::find(skipped.begin(), skipped.end(), r) == skipped.end()) out.push_back(r);
  }
  return out;
}

std::string Runtime::describe_ranks(const std::vector<int>& ranks) {
  std::string out;
  for (int r : ranks) out += (out.empty() ? "" : ", ") + membership_->describe(r);
  return out;
}

}  // namespace raympi::detail
