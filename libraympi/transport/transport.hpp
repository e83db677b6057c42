#pragma once
// The control plane: ordered messages between ranks, delivered on one
// progress thread per rank. The loop polls briefly after activity, then
// blocks with a growing timeout (or until a local send wakes it): idle ranks
// cost next to no CPU, busy ranks see microsecond latencies.

#include "base/mpi.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "raympi/detail/buffer.hpp"

namespace raympi::detail {

using Clock = std::chrono::steady_clock;
class UcxBell;

/// @brief Moves control messages between ranks. The MPI implementation and the
/// in-process one (a single rank, no MPI traffic) share the progress loop.
class Transport {
 public:
  struct Hooks {
    std::function<void(int src, Buffer msg)> on_message;
    /// Periodic work; returns when it next wants to run.
    std::function<Clock::time_point(Clock::time_point now)> on_tick;
    /// Whether polling through the spin window costs nobody CPU now (empty:
    /// always). A node whose every worker PU runs a task says no: the
    /// progress thread then blocks at once and preempts a worker when woken.
    std::function<bool()> may_spin;
  };
  struct Tuning {
    std::chrono::microseconds spin{50};
    std::chrono::microseconds max_backoff{1000};
    /// A sending thread may post a small message itself when nothing is queued
    /// ahead of it (RAYMPI_DIRECT_SEND, resolved in core/config.cpp).
    bool direct_send = true;
    /// Ranks on other hosts ring each other's doorbells over UCX (RAYMPI_UCX);
    /// false: they poll each other with backoff.
    bool remote_bells = true;
    /// At stop, the longest wait for every rank to reach the closing barrier
    /// (the heartbeat timeout): a rank that died after acknowledging the
    /// shutdown never gets there, and waiting on would hang the job.
    std::chrono::milliseconds quiesce_limit{10000};
  };

  Transport(int rank, int size, Tuning tuning) : rank_(rank), size_(size), tuning_(tuning) {}
  virtual ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }

  /// Thread-safe and non-blocking; messages from one rank to another arrive in order.
  void send(int dst, Buffer msg);
  void start(Hooks hooks);
  /// Sends what is queued, then stops the progress thread. Later sends are dropped.
  /// `peers_failed`: some rank died, so the closing barrier (collective) is
  /// skipped and sends it never matches are abandoned after a short grace.
  void stop(bool peers_failed = false);
  bool on_progress_thread() const { return std::this_thread::get_id() == progress_id_.load(std::memory_order_acquire); }
  /// After stop(): true when the closing barrier did not complete within
  /// Tuning::quiesce_limit (a rank is gone; MPI_Finalize would hang too).
  bool quiesce_failed() const { return quiesce_failed_.load(std::memory_order_acquire); }

 protected:
  /// Every implementation's destructor calls this first: the progress thread
  /// calls the implementation's virtuals, so it must end before that part goes.
  void stop_if_running() {
    if (thread_.joinable()) stop();
  }

 protected:
  /// Starts sending to another rank. Called on the progress thread only.
  virtual void send_remote(int dst, Buffer msg) = 0;
  /// End of a loop turn's sends: post what send_remote staged.
  virtual void flush_remote() {}
  /// At stop, once this rank has nothing left to send: true when every rank
  /// got there (so no message to or from us is still in flight).
  virtual bool quiesced() { return true; }
  /// Delivers arrived messages through deliver(); true if anything happened.
  virtual bool poll_remote() = 0;
  /// True while sends are in flight (the loop then naps briefly only).
  virtual bool sends_pending() = 0;
  /// True when every peer rings this rank's doorbell: idle may then block until woken.
  virtual bool peers_ring() const { return size_ == 1; }
  /// True when some peers ring from other hosts (slower than a local ring).
  virtual bool remote_rings() const { return false; }
  /// Idle: block until woken (notify/ring) or `until`; true when woken. Default: a condition variable.
  virtual bool block_until(Clock::time_point until);
  /// Wakes the progress thread if it is blocked.
  virtual void notify();
  const Tuning& tuning() const { return tuning_; }
  /// Called by send() on a thread other than the progress thread, under mu_,
  /// when nothing of ours waits in the outbox or is being flushed: may post
  /// `msg` right away (true) so that a latency-bound message skips the
  /// hand-off to the progress thread. Order to each peer is kept because no
  /// earlier message can still be unposted.
  virtual bool post_direct_locked(int /*dst*/, Buffer& /*msg*/) { return false; }
  /// Progress thread, under mu_: completes direct posts.
  virtual void reap_direct_locked() {}
  void deliver(int src, Buffer msg) {
    if (!draining_) hooks_.on_message(src, std::move(msg));  // after stop: drained, not handled
  }

 private:
  void loop();

  int rank_, size_;
  Tuning tuning_;
  Hooks hooks_;
  std::condition_variable cv_;
  bool sleeping_ = false;

 protected:
  std::mutex mu_;  // guards outbox_, flushing_, stop_ (and the direct posts of implementations)
  std::vector<std::pair<int, Buffer>> outbox_;
  bool flushing_ = false;  // the progress thread posts a batch it took from the outbox
  /// After stop(true), or a closing barrier that timed out: collectives on
  /// the communicator would never complete.
  bool stopped_with_failed_peers() const { return peers_failed_ || quiesce_failed(); }

 private:
  bool stop_ = false;
  bool peers_failed_ = false;          // stop without the closing barrier (a rank is gone)
  Clock::time_point stop_deadline_{};  // with peers_failed_: give up on unmatched sends then
  std::atomic<bool> quiesce_failed_{false};
  std::atomic<bool> closed_{false};
  bool draining_ = false;  // progress thread only
  // Set by the progress thread itself as it starts: reading thread_ there
  // would race with start() still assigning it (found by TSan).
  std::atomic<std::thread::id> progress_id_{};
  std::thread thread_;
};

/// @brief One rank holds every role: messages go straight to the local handlers.
class LoopbackTransport final : public Transport {
 public:
  explicit LoopbackTransport(Tuning t) : Transport(0, 1, t) {}
  ~LoopbackTransport() override { stop_if_running(); }

 protected:
  void send_remote(int, Buffer) override {}
  bool poll_remote() override { return false; }
  bool sends_pending() override { return false; }
};

/// @brief Control messages over MPI point-to-point on raympi's own communicator.
/// Messages to one rank are batched into one MPI message per loop turn. Ranks
/// on one host share a page of doorbells (an MPI shared-memory window): a
/// sender rings the receiver's futex after posting, so an idle receiver
/// blocks instead of polling and still wakes within microseconds. Peers on
/// other hosts ring through UCX (UcxBell) to the same effect; without UCX
/// they are polled with backoff.
class MpiTransport final : public Transport {
 public:
  MpiTransport(MPI_Comm comm, Tuning t);
  ~MpiTransport() override;

 protected:
  void send_remote(int dst, Buffer msg) override;
  bool poll_remote() override;
  bool sends_pending() override { return !pending_.empty() || direct_count_.load(std::memory_order_relaxed) > 0; }
  bool peers_ring() const override { return all_local_ || remote_ != nullptr; }
  bool remote_rings() const override { return remote_ != nullptr; }
  bool post_direct_locked(int dst, Buffer& msg) override;
  void reap_direct_locked() override;
  bool block_until(Clock::time_point until) override;
  void notify() override;
  void flush_remote() override;
  bool quiesced() override;

 private:
  // Padded to a cache line against false sharing, but not alignas(64): the
  // shared window only guarantees ordinary alignment for each rank's part.
  struct Doorbell {
    std::atomic<std::uint32_t> seq{0};
    std::atomic<std::uint32_t> sleeping{0};
    char pad[56] = {};
  };
  static void ring(Doorbell* bell);
  void post(int dst, Buffer msg);
  /// Progress thread, after posting to `dst`: rings its doorbell.
  void ring_posted(int dst, Clock::time_point now);
  /// Progress thread: a send to `dst` (on another host) is still unmatched;
  /// rings it again when its backoff says so.
  void ring_unmatched(int dst, Clock::time_point now);

  MPI_Comm comm_;
  MPI_Comm shm_comm_ = MPI_COMM_NULL;
  MPI_Win win_ = MPI_WIN_NULL;
  std::vector<Doorbell*> bells_;  // by rank; nullptr for ranks on other hosts
  bool all_local_ = false;
  std::unique_ptr<UcxBell> remote_;  // doorbells across hosts; null: peers there are polled
  // Re-ringing a peer on another host while a send to it is unmatched: a
  // ring there costs a network message and a wake-up, so it backs off.
  struct Ringing {
    Clock::time_point next{};
    Clock::duration gap{};
    std::uint64_t poll = 0;  // the last poll that saw a send to it unmatched
  };
  std::vector<Ringing> ringing_;  // by rank; progress thread only
  std::uint64_t polls_ = 2;       // poll_remote calls (progress thread)
  std::vector<std::vector<Buffer>> staged_;  // per destination, this loop turn
  MPI_Request barrier_ = MPI_REQUEST_NULL;
  bool barrier_posted_ = false;
  std::vector<MPI_Request> requests_;
  std::vector<Buffer> pending_;
  std::vector<int> pending_dst_;
  std::vector<int> indices_;
  // Sends posted by the sending thread itself (MPI_THREAD_MULTIPLE only), guarded by mu_.
  struct DirectSend {
    MPI_Request request;
    Buffer bytes;
    int dst;
  };
  bool thread_multiple_ = false;
  std::vector<DirectSend> direct_;
  std::atomic<int> direct_count_{0};
};

int comm_rank(MPI_Comm c);
int comm_size(MPI_Comm c);
/// Collective: every rank's string, by rank.
std::vector<std::string> allgather_strings(MPI_Comm comm, const std::string& mine);

}  // namespace raympi::detail
