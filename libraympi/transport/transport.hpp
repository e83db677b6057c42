#pragma once
// The control plane: ordered messages between ranks, delivered on one
// progress thread per rank. The loop polls briefly after activity, then
// blocks with a growing timeout (or until a local send wakes it): idle ranks
// cost next to no CPU, busy ranks see microsecond latencies.

// raympi uses MPI's C API only; skip the deprecated C++ bindings (they need libmpi_cxx).
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#ifndef MPICH_SKIP_MPICXX
#define MPICH_SKIP_MPICXX 1
#endif
#include <mpi.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "raympi/detail/buffer.hpp"

namespace raympi::detail {

using Clock = std::chrono::steady_clock;

/// @brief Moves control messages between ranks. The MPI implementation and the
/// in-process one (a single rank, no MPI traffic) share the progress loop.
class Transport {
 public:
  struct Hooks {
    std::function<void(int src, Buffer msg)> on_message;
    /// Periodic work; returns when it next wants to run.
    std::function<Clock::time_point(Clock::time_point now)> on_tick;
  };
  struct Tuning {
    std::chrono::microseconds spin{50};
    std::chrono::microseconds max_backoff{1000};
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
  void stop();
  bool on_progress_thread() const { return std::this_thread::get_id() == thread_.get_id(); }

 protected:
  /// Starts sending to another rank. Called on the progress thread only.
  virtual void send_remote(int dst, Buffer msg) = 0;
  /// Delivers arrived messages through deliver(); true if anything happened.
  virtual bool poll_remote() = 0;
  /// True while sends are in flight (the loop then naps briefly only).
  virtual bool sends_pending() = 0;
  void deliver(int src, Buffer msg) { hooks_.on_message(src, std::move(msg)); }

 private:
  void loop();

  int rank_, size_;
  Tuning tuning_;
  Hooks hooks_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::pair<int, Buffer>> outbox_;
  bool sleeping_ = false;
  bool stop_ = false;
  std::atomic<bool> closed_{false};
  std::thread thread_;
};

/// @brief One rank holds every role: messages go straight to the local handlers.
class LoopbackTransport final : public Transport {
 public:
  explicit LoopbackTransport(Tuning t) : Transport(0, 1, t) {}

 protected:
  void send_remote(int, Buffer) override {}
  bool poll_remote() override { return false; }
  bool sends_pending() override { return false; }
};

/// @brief Control messages over MPI point-to-point on raympi's own communicator.
class MpiTransport final : public Transport {
 public:
  MpiTransport(MPI_Comm comm, Tuning t);
  ~MpiTransport() override;

 protected:
  void send_remote(int dst, Buffer msg) override;
  bool poll_remote() override;
  bool sends_pending() override { return !pending_.empty(); }

 private:
  MPI_Comm comm_;
  std::vector<MPI_Request> requests_;
  std::vector<Buffer> pending_;
  std::vector<int> indices_;
};

int comm_rank(MPI_Comm c);
int comm_size(MPI_Comm c);

}  // namespace raympi::detail
