#pragma once
// The data plane: object bytes rank to rank over UCX (UCP tag messages),
// beside the MPI control plane. The control plane says what moves (a pull,
// the size, a tag); the bytes go over UCX's shared-memory or network
// transports without passing through MPI. One thread per rank drives the UCP
// worker and sleeps on its event file descriptor when nothing is in flight.

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

namespace raympi::detail {

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
  static std::unique_ptr<UcxPlane> create(MPI_Comm comm, bool enable, bool peer_errors);
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

  int rank_, size_;
  ucp_context_h context_ = nullptr;
  ucp_worker_h worker_ = nullptr;
  std::vector<std::string> addresses_;  // every rank's worker address
  std::vector<ucp_ep_h> eps_;           // progress thread only
  std::unique_ptr<std::atomic<bool>[]> watched_;  // watch() asked for the endpoint already
  std::vector<std::string> peer_errors_;
  std::vector<std::unique_ptr<EpArg>> ep_args_;
  std::vector<Op*> inflight_;           // progress thread only
  int efd_ = -1, wake_fd_ = -1, epoll_fd_ = -1;
  bool peer_errors_mode_ = true;  // UCP_ERR_HANDLING_MODE_PEER on endpoints
  std::mutex mu_;
  std::vector<std::function<void()>> ops_;
  std::function<void(int)> peer_failed_;  // under mu_
  bool stop_ = false;
  std::atomic<std::uint64_t> tags_{0}, received_{0}, sent_{0};
  std::thread thread_;
  std::string description_;

  friend void ucx_plane_send_done(void*, ucs_status_t, void*);
  friend void ucx_plane_recv_done(void*, ucs_status_t, const ucp_tag_recv_info_t*, void*);
  friend void ucx_plane_ep_error(void*, ucp_ep_h, ucs_status_t);
};

}  // namespace raympi::detail
