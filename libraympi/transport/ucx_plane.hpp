#pragma once
// UCX beside the MPI control plane, in two parts that each own a UCP context,
// a worker and one thread sleeping on the worker's event file descriptor:
// * UcxPlane, the data plane: object bytes rank to rank (UCP tag messages).
//   The control plane says what moves (a pull, the size, a tag); the bytes
//   go over UCX's shared-memory or network transports without MPI.
// * UcxBell, the doorbells between hosts: a peer on another host wakes a
//   rank's blocked progress thread with an empty UCP active message, as peers
//   on the same host do with a futex in shared memory. A worker of its own,
//   so that a ring never waits behind object bytes on a shared connection.

// raympi uses MPI's C API only.
#ifndef OMPI_SKIP_MPICXX
#define OMPI_SKIP_MPICXX 1
#endif
#include <mpi.h>
#include <ucp/api/ucp.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "raympi/detail/buffer.hpp"
#include "transport/cma.hpp"

namespace raympi::detail {

/// @brief A UCP context and worker, and the file descriptors that the one
/// thread driving them sleeps on (internal to UcxPlane and UcxBell).
class UcpWorker {
 public:
  UcpWorker() = default;
  ~UcpWorker();
  UcpWorker(const UcpWorker&) = delete;
  UcpWorker& operator=(const UcpWorker&) = delete;
  /// Creates the context (with `features` and wake-up), the worker (for use
  /// by several threads: `threads`) and the fds; false with the failing step in `why`.
  bool open(std::uint64_t features, bool threads, std::string& why);
  ucp_worker_h get() const { return worker_; }
  /// This worker's address, for the start-up exchange.
  const std::string& address() const { return address_; }
  /// Any thread: wakes the thread sleeping in sleep().
  void wake();
  /// The driving thread, with nothing to progress: arms the worker and sleeps
  /// until a network event, wake() or `timeout_ms` (-1: none). Returns at once
  /// when events are already pending.
  void sleep(int timeout_ms);
  /// Opens an endpoint to `address` with peer error handling (`peer_errors`)
  /// reported to `on_error(arg)`; null on failure, with the status in `why`.
  ucp_ep_h connect(const std::string& address, bool peer_errors, ucp_err_handler_cb_t on_error, void* arg,
                   std::string& why);
  /// Closes `eps` (forcibly: peers may be gone) and waits briefly for the closes.
  void close_all(std::vector<ucp_ep_h>& eps);
  /// Closes `ep` forcibly without waiting (its peer failed) and nulls it.
  /// Forgets the worker and context without destroying them (the process
  /// is ending): see UcxBell::~UcxBell.
  void abandon() { worker_ = nullptr; context_ = nullptr; }
  static void drop(ucp_ep_h& ep);

 private:
  ucp_context_h context_ = nullptr;
  ucp_worker_h worker_ = nullptr;
  std::string address_;
  int efd_ = -1, wake_fd_ = -1, epoll_fd_ = -1;
};

/// @brief Object transfers over UCP between the ranks of one communicator.
class UcxPlane {
 public:
  /// `error` is empty on success.
  using SendDone = std::function<void(const std::string& error)>;
  using RecvDone = std::function<void(Buffer bytes, const std::string& error)>;

  /// Collective over `comm` (every rank calls it with the same `enable`):
  /// creates the context and worker and exchanges worker addresses. Returns
  /// null on every rank when `enable` is false or any rank could not start
  /// UCX (each rank logs its own reason); the caller then moves bytes over MPI.
  /// `peer_errors`: endpoints with peer error handling (failure detection;
  /// forces tcp between ranks of one host with UCX 1.13).
  /// `cma`: same-host peers copy object bytes by process_vm_readv (CmaPeers),
  /// UCX carrying only a descriptor and the release.
  static std::unique_ptr<UcxPlane> create(MPI_Comm comm, bool enable, bool peer_errors, bool cma = true);
  ~UcxPlane();
  UcxPlane(const UcxPlane&) = delete;
  UcxPlane& operator=(const UcxPlane&) = delete;

  /// Sends `bytes` to `dst` as the message `tag`; `bytes` stays alive until done.
  void send(int dst, std::uint64_t tag, Buffer bytes, SendDone done);
  /// Receives the message `tag` of `size` bytes from `src` into a fresh buffer.
  /// Fails (never hangs) when the peer's endpoint fails.
  void recv(int src, std::uint64_t tag, std::size_t size, RecvDone done);
  /// Called (on the plane's thread) once per peer whose endpoint failed: the
  /// data plane is where a dead peer shows first.
  void on_peer_failed(std::function<void(int rank)> hook);
  /// Opens the endpoint to `rank` now (if not yet), so that its failure is
  /// noticed (and reported to on_peer_failed) even before a transfer starts.
  void watch(int rank);
  /// A tag no other transfer from this rank uses.
  std::uint64_t next_tag();
  /// Stops the progress thread; transfers still in flight fail.
  void stop();
  /// Bytes received so far.
  std::uint64_t received() const { return received_.load(std::memory_order_relaxed); }
  /// Of received(): bytes copied from same-host peers by cma.
  std::uint64_t cma_received() const { return cma_received_.load(std::memory_order_relaxed); }
  /// Bytes handed to UCX for sending so far (posted, not necessarily delivered).
  std::uint64_t sent() const { return sent_.load(std::memory_order_relaxed); }
  /// The transports UCX selected, for logs ("posix, sysv, cma, tcp ...").
  const std::string& description() const { return description_; }

  struct Op;     // one transfer in flight (internal)
  struct EpArg;  // what an endpoint's error handler gets (internal)

 private:
  UcxPlane(int rank, int size);
  bool open(std::string& why);
  void loop();
  void post(std::function<void()> op);
  ucp_ep_h endpoint(int rank);
  void fail_peer(int rank, const std::string& why);
  void finish(Op* op, ucs_status_t status);
  // Same-host transfers by cross-memory attach (ucx_plane_cma.cpp).
  void send_by_cma(Op* op, ucp_ep_h ep, std::uint64_t tag);
  void recv_by_cma(Op* op, std::uint64_t tag);

  int rank_, size_;
  UcpWorker ucp_;
  std::vector<std::string> addresses_;  // every rank's worker address
  std::vector<ucp_ep_h> eps_;           // progress thread only
  std::unique_ptr<std::atomic<bool>[]> watched_;  // watch() asked for the endpoint already
  std::vector<std::string> peer_errors_;
  std::vector<std::unique_ptr<EpArg>> ep_args_;
  std::vector<Op*> inflight_;           // progress thread only
  bool peer_errors_mode_ = true;  // UCP_ERR_HANDLING_MODE_PEER on endpoints
  std::mutex mu_;
  std::vector<std::function<void()>> ops_;
  std::function<void(int)> peer_failed_;  // under mu_
  bool stop_ = false;
  std::atomic<std::uint64_t> tags_{0}, received_{0}, sent_{0}, cma_received_{0};
  std::thread thread_;
  std::string description_;
  CmaPeers cma_;

  friend void ucx_plane_send_done(void*, ucs_status_t, void*);
  friend void ucx_plane_cma_descriptor_arrived(void*, ucs_status_t, const ucp_tag_recv_info_t*, void*);
  friend void ucx_plane_recv_done(void*, ucs_status_t, const ucp_tag_recv_info_t*, void*);
  friend void ucx_plane_ep_error(void*, ucp_ep_h, ucs_status_t);
};

/// @brief Doorbells between ranks on different hosts (see the top of this
/// file): ring(rank) makes `rank`'s thread call its `on_ring`. A ring is a
/// wake-up hint, never data: the control plane re-rings until its MPI send
/// is matched, so a ring that comes early, or is lost, costs latency only.
class UcxBell {
 public:
  /// Collective over `comm`: null on every rank when `enable` is false or any
  /// rank could not start UCX (each logs why; peers are then polled).
  /// `on_ring` runs on the bell's thread and must not block.
  static std::unique_ptr<UcxBell> create(MPI_Comm comm, bool enable, std::function<void()> on_ring);
  ~UcxBell();
  UcxBell(const UcxBell&) = delete;
  UcxBell& operator=(const UcxBell&) = delete;

  /// Any thread, never blocks: rings `rank` once (a ring already queued for
  /// it and not yet sent covers this one).
  void ring(int rank);
  /// Rings sent and received so far (for tests and logs).
  std::uint64_t rung() const { return rung_.load(std::memory_order_relaxed); }
  std::uint64_t heard() const { return heard_.load(std::memory_order_relaxed); }

  struct EpArg;  // what an endpoint's error handler gets (internal)

 private:
  explicit UcxBell(int size, std::function<void()> on_ring);
  void loop();
  void send_ring(int rank);

  UcpWorker ucp_;
  std::function<void()> on_ring_;
  std::vector<std::string> addresses_;  // every rank's bell address
  std::vector<ucp_ep_h> eps_;           // bell thread only
  std::vector<bool> unreachable_;       // bell thread only: no endpoint, or it failed
  std::vector<std::unique_ptr<EpArg>> ep_args_;
  std::unique_ptr<std::atomic<bool>[]> queued_;  // a ring to that rank waits in to_ring_
  std::mutex mu_;
  std::vector<int> to_ring_;  // under mu_
  bool stop_ = false;         // under mu_
  std::atomic<std::uint64_t> rung_{0}, heard_{0};
  std::thread thread_;

  friend ucs_status_t ucx_bell_heard(void*, const void*, size_t, void*, size_t, const ucp_am_recv_param_t*);
  friend void ucx_bell_ep_error(void*, ucp_ep_h, ucs_status_t);
};

}  // namespace raympi::detail
