#include "transport/ucx_plane.hpp"
#include "base/thread_priority.hpp"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "base/fault_injection.hpp"
#include "base/log.hpp"
#include "transport/transport.hpp"
#include "transport/ucx_plane_op.hpp"

namespace raympi::detail {

void ucx_plane_send_done(void* request, ucs_status_t status, void* user) {
  auto* op = static_cast<UcxPlane::Op*>(user);
  ucp_request_free(request);
  op->request = nullptr;
  op->plane->finish(op, status);
}

void ucx_plane_recv_done(void* request, ucs_status_t status, const ucp_tag_recv_info_t* info, void* user) {
  auto* op = static_cast<UcxPlane::Op*>(user);
  ucp_request_free(request);
  op->request = nullptr;
  if (status == UCS_OK && info && info->length != op->expected) status = UCS_ERR_MESSAGE_TRUNCATED;
  op->plane->finish(op, status);
}

void ucx_plane_ep_error(void* arg, ucp_ep_h, ucs_status_t status) {
  auto* a = static_cast<UcxPlane::EpArg*>(arg);
  a->plane->fail_peer(a->rank, std::string("UCX endpoint to rank ") + std::to_string(a->rank) +
                                   " failed: " + ucs_status_string(status));
}

UcxPlane::UcxPlane(int rank, int size)
    : rank_(rank),
      size_(size),
      eps_(std::size_t(size), nullptr),
      watched_(new std::atomic<bool>[std::size_t(size)]()),
      peer_errors_(std::size_t(size)) {
  for (int r = 0; r < size; ++r) ep_args_.push_back(std::make_unique<EpArg>(EpArg{this, r}));
}

std::unique_ptr<UcxPlane> UcxPlane::create(MPI_Comm comm, bool enable, bool peer_errors, bool cma) {
  int rank = comm_rank(comm), size = comm_size(comm);
  std::unique_ptr<UcxPlane> plane(new UcxPlane(rank, size));
  plane->peer_errors_mode_ = peer_errors;
  std::string why;
  int ok = enable && plane->open(why) ? 1 : 0;
  if (enable && !ok) RAYMPI_LOG_WARN("rank {}: UCX data plane not available ({}); objects move over MPI", rank, why);
  int all = 0;
  MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, comm);
  if (!all) return nullptr;
  plane->addresses_ = allgather_strings(comm, plane->addresses_[0]);
  std::string cma_why;
  plane->cma_ = CmaPeers::probe(comm, cma, cma_why);
  plane->description_ += plane->cma_.count() ? ", same-host bytes by cma (process_vm_readv) from " +
                                                   std::to_string(plane->cma_.count()) + " peer(s)"
                                             : ", same-host bytes over UCX (cma: " + cma_why + ")";
  plane->thread_ = std::thread([p = plane.get()] {
    mark_latency_sensitive_thread();
    p->loop();
  });
  return plane;
}

bool UcpWorker::open(std::uint64_t features, bool threads, std::string& why) {
  ucp_config_t* config = nullptr;
  ucs_status_t st = ucp_config_read(nullptr, nullptr, &config);
  if (st != UCS_OK) {
    why = std::string("ucp_config_read: ") + ucs_status_string(st);
    return false;
  }
  ucp_params_t params{};
  params.field_mask = UCP_PARAM_FIELD_FEATURES;
  params.features = features | UCP_FEATURE_WAKEUP;
  st = ucp_init(&params, config, &context_);
  ucp_config_release(config);
  if (st != UCS_OK) {
    why = std::string("ucp_init: ") + ucs_status_string(st);
    return false;
  }
  ucp_worker_params_t wp{};
  wp.field_mask = UCP_WORKER_PARAM_FIELD_THREAD_MODE;
  // Single: only the owner's thread touches the worker after this.
  wp.thread_mode = threads ? UCS_THREAD_MODE_MULTI : UCS_THREAD_MODE_SINGLE;
  st = ucp_worker_create(context_, &wp, &worker_);
  if (st == UCS_OK) st = ucp_worker_get_efd(worker_, &efd_);
  if (st != UCS_OK) {
    why = std::string("ucp_worker_create/get_efd: ") + ucs_status_string(st);
    return false;
  }
  ucp_address_t* addr = nullptr;
  std::size_t len = 0;
  st = ucp_worker_get_address(worker_, &addr, &len);
  if (st != UCS_OK) {
    why = std::string("ucp_worker_get_address: ") + ucs_status_string(st);
    return false;
  }
  address_.assign(reinterpret_cast<const char*>(addr), len);
  ucp_worker_release_address(worker_, addr);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (wake_fd_ < 0 || epoll_fd_ < 0) {
    why = std::string("eventfd/epoll: ") + std::strerror(errno);
    return false;
  }
  for (int fd : {efd_, wake_fd_}) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev);
  }
  return true;
}

UcpWorker::~UcpWorker() {
  if (worker_) ucp_worker_destroy(worker_);
  if (context_) ucp_cleanup(context_);
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
}

void UcpWorker::wake() {
  std::uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(wake_fd_, &one, sizeof one);
}

void UcpWorker::sleep(int timeout_ms) {
  if (ucp_worker_arm(worker_) == UCS_ERR_BUSY) return;  // events came meanwhile: progress again
  epoll_event evs[2];
  epoll_wait(epoll_fd_, evs, 2, timeout_ms);
  std::uint64_t n;
  while (read(wake_fd_, &n, sizeof n) > 0) {
  }
}

ucp_ep_h UcpWorker::connect(const std::string& address, bool peer_errors, ucp_err_handler_cb_t on_error, void* arg,
                            std::string& why) {
  ucp_ep_params_t p{};
  p.field_mask = UCP_EP_PARAM_FIELD_REMOTE_ADDRESS | UCP_EP_PARAM_FIELD_ERR_HANDLING_MODE |
                 UCP_EP_PARAM_FIELD_ERR_HANDLER;
  p.address = reinterpret_cast<const ucp_address_t*>(address.data());
  p.err_mode = peer_errors ? UCP_ERR_HANDLING_MODE_PEER : UCP_ERR_HANDLING_MODE_NONE;
  p.err_handler.cb = on_error;
  p.err_handler.arg = arg;
  ucp_ep_h ep = nullptr;
  ucs_status_t st = ucp_ep_create(worker_, &p, &ep);
  if (st == UCS_OK) return ep;
  why = ucs_status_string(st);
  return nullptr;
}

void UcpWorker::drop(ucp_ep_h& ep) {
  if (!ep) return;
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
  p.flags = UCP_EP_CLOSE_FLAG_FORCE;
  ucs_status_ptr_t req = ucp_ep_close_nbx(ep, &p);
  if (UCS_PTR_IS_PTR(req)) ucp_request_free(req);  // UCX finishes the close on its own
  ep = nullptr;
}

void UcpWorker::close_all(std::vector<ucp_ep_h>& eps) {
  std::vector<void*> closing;
  for (auto& ep : eps) {
    if (!ep) continue;
    ucp_request_param_t p{};
    p.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
    p.flags = UCP_EP_CLOSE_FLAG_FORCE;
    ucs_status_ptr_t req = ucp_ep_close_nbx(ep, &p);
    if (UCS_PTR_IS_PTR(req)) closing.push_back(req);
    ep = nullptr;
  }
  for (void* req : closing) {
    for (int i = 0; i < 10000 && ucp_request_check_status(req) == UCS_INPROGRESS; ++i) ucp_worker_progress(worker_);
    ucp_request_free(req);
  }
}

bool UcxPlane::open(std::string& why) {
  if (!ucp_.open(UCP_FEATURE_TAG, false, why)) return false;
  addresses_.assign(1, ucp_.address());
  // Peer error handling lets a dead peer fail transfers instead of hanging
  // them, but UCX 1.13's shared-memory transports (posix, sysv, cma) have no
  // peer-failure handler, so with it UCX moves bytes over tcp even between
  // ranks of one host (measured: 1-2.5 GB/s against 5+ GB/s over cma).
  // RAYMPI_UCX_PEER_ERRORS=0 trades failure detection for that bandwidth.
  const char* tls = std::getenv("UCX_TLS");
  description_ = std::string("UCX ") + ucp_get_version_string() + ", UCX_TLS=" + (tls ? tls : "(default)") +
                 (peer_errors_mode_ ? ", peer error handling on" : ", peer error handling off (RAYMPI_UCX_PEER_ERRORS=0)");
  return true;
}

UcxPlane::~UcxPlane() { stop(); }

std::uint64_t UcxPlane::next_tag() { return (std::uint64_t(rank_ + 1) << 44) | ++tags_; }

void UcxPlane::post(std::function<void()> op) {
  {
    std::lock_guard lk(mu_);
    if (stop_) return;
    ops_.push_back(std::move(op));
  }
  ucp_.wake();
}

ucp_ep_h UcxPlane::endpoint(int rank) {
  auto r = std::size_t(rank);
  if (eps_[r] || !peer_errors_[r].empty()) return eps_[r];
  std::string why;
  eps_[r] = ucp_.connect(addresses_[r], peer_errors_mode_, ucx_plane_ep_error, ep_args_[r].get(), why);
  if (!eps_[r]) peer_errors_[r] = std::string("cannot reach rank ") + std::to_string(rank) + " over UCX: " + why;
  return eps_[r];
}

void UcxPlane::send(int dst, std::uint64_t tag, Buffer bytes, SendDone done) {
  post([this, dst, tag, bytes = std::move(bytes), done = std::move(done)]() mutable {
    auto* op = new Op(this, dst, std::move(bytes));
    op->send_done = std::move(done);
    ucp_ep_h ep = endpoint(dst);
    if (!ep) {
      op->send_done(peer_errors_[std::size_t(dst)]);
      delete op;
      return;
    }
    if (cma_.usable(dst)) return send_by_cma(op, ep, tag);
    ucp_request_param_t p{};
    p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
    p.cb.send = ucx_plane_send_done;
    p.user_data = op;
    sent_.fetch_add(op->bytes.size, std::memory_order_relaxed);
    ucs_status_ptr_t r = ucp_tag_send_nbx(ep, op->bytes.data, op->bytes.size, tag, &p);
    if (r == nullptr) return finish(op, UCS_OK);
    if (UCS_PTR_IS_ERR(r)) return finish(op, UCS_PTR_STATUS(r));
    op->request = r;
    inflight_.push_back(op);
  });
}

void UcxPlane::recv(int src, std::uint64_t tag, std::size_t size, RecvDone done) {
  post([this, src, tag, size, done = std::move(done)]() mutable {
    char* mem = nullptr;
    Buffer b = allocate_buffer(size, mem);
    auto* op = new Op(this, src, std::move(b), size);
    op->recv_done = std::move(done);
    op->mem = mem;
    endpoint(src);  // its error handler fails this receive if the peer goes away
    if (!peer_errors_[std::size_t(src)].empty()) return finish(op, UCS_ERR_UNREACHABLE);
    if (cma_.usable(src)) return recv_by_cma(op, tag);
    ucp_request_param_t p{};
    p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA;
    p.cb.recv = ucx_plane_recv_done;
    p.user_data = op;
    ucs_status_ptr_t r = ucp_tag_recv_nbx(ucp_.get(), mem, size, tag, ~std::uint64_t(0), &p);
    if (r == nullptr) return finish(op, UCS_OK);
    if (UCS_PTR_IS_ERR(r)) return finish(op, UCS_PTR_STATUS(r));
    op->request = r;
    inflight_.push_back(op);
  });
}

void UcxPlane::finish(Op* op, ucs_status_t status) {
  for (auto it = inflight_.begin(); it != inflight_.end(); ++it)
    if (*it == op) {
      inflight_.erase(it);
      break;
    }
  std::string error = op->error;  // a failure UCX does not know of (a CMA read)
  if (status != UCS_OK && error.empty()) {
    error = peer_errors_[std::size_t(op->peer)];
    if (error.empty())
      error = std::string("UCX transfer with rank ") + std::to_string(op->peer) + " failed: " +
              ucs_status_string(status);
  }
  if (op->recv_done && status == UCS_OK) received_.fetch_add(op->bytes.size, std::memory_order_relaxed);
  // Called from inside UCX (ucp_worker_progress): nothing may escape. A
  // callback that fails is called again with the error, so that whoever
  // waits for the transfer learns it failed.
  try {
    maybe_inject_fault("ucx_transfer");
    if (op->send_done) op->send_done(error);
    if (op->recv_done) op->recv_done(status == UCS_OK ? std::move(op->bytes) : Buffer{}, error);
  } catch (const std::exception& e) {
    const std::string why = std::string("the transfer's completion failed on rank ") + std::to_string(rank_) + ": " +
                            e.what();
    RAYMPI_LOG_ERROR("rank {}: UCX transfer with rank {}: {}", rank_, op->peer, why);
    try {
      if (op->send_done) op->send_done(why);
      if (op->recv_done) op->recv_done(Buffer{}, why);
    } catch (const std::exception& again) {
      RAYMPI_LOG_ERROR("rank {}: UCX transfer with rank {}: reporting the failure failed too: {}", rank_, op->peer,
                       again.what());
    }
  }
  delete op;
}

void UcxPlane::watch(int rank) {
  if (rank == rank_ || watched_[std::size_t(rank)].exchange(true, std::memory_order_relaxed)) return;
  post([this, rank] { endpoint(rank); });
}

void UcxPlane::on_peer_failed(std::function<void(int)> hook) {
  std::lock_guard lk(mu_);
  peer_failed_ = std::move(hook);
}

void UcxPlane::fail_peer(int rank, const std::string& why) {
  auto r = std::size_t(rank);
  if (!peer_errors_[r].empty()) return;
  peer_errors_[r] = why;
  RAYMPI_LOG_WARN("rank {}: {}", rank_, why);
  std::function<void(int)> hook;
  {
    std::lock_guard lk(mu_);
    hook = peer_failed_;
  }
  if (hook) hook(rank);
  std::vector<Op*> theirs;
  for (Op* op : inflight_)
    if (op->peer == rank && op->request) theirs.push_back(op);
  for (Op* op : theirs) ucp_request_cancel(ucp_.get(), op->request);  // callbacks report the error
  UcpWorker::drop(eps_[r]);
}

void UcxPlane::loop() {
  std::vector<std::function<void()>> batch;
  for (;;) {
    bool stopping;
    {
      std::lock_guard lk(mu_);
      batch.swap(ops_);
      stopping = stop_;
    }
    for (auto& f : batch) f();
    batch.clear();
    if (stopping) break;
    if (ucp_worker_progress(ucp_.get()) != 0) continue;
    ucp_.sleep(inflight_.empty() ? 1000 : 1);
  }
  // Stopping: what is in flight fails; endpoints close.
  for (Op* op : std::vector<Op*>(inflight_))
    if (op->request) ucp_request_cancel(ucp_.get(), op->request);
  for (int i = 0; i < 10000 && !inflight_.empty(); ++i) ucp_worker_progress(ucp_.get());
  ucp_.close_all(eps_);
}

void UcxPlane::stop() {
  {
    std::lock_guard lk(mu_);
    if (stop_) return;
    stop_ = true;
  }
  ucp_.wake();
  if (thread_.joinable()) thread_.join();
}

// ---- UcxBell: doorbells between hosts ----
//
// ring() queues the peer and wakes the bell's thread, which sends the ring,
// and which, sleeping on the worker's event fd, hears peers' rings. (Sending
// from the ringing thread on a multi-thread worker instead measured twice as
// slow a round trip across hosts.)

namespace {
constexpr unsigned kRingMessage = 1;  // the active-message id of a ring
// A sleeping bell thread wakes this often even with nothing to do: a
// safeguard only (UCX signals the worker's fd for every event it needs).
constexpr int kBellNapMs = 10000;
}  // namespace

struct UcxBell::EpArg {
  UcxBell* bell;
  int rank;
};

ucs_status_t ucx_bell_heard(void* arg, const void*, size_t, void*, size_t, const ucp_am_recv_param_t*) {
  auto* bell = static_cast<UcxBell*>(arg);
  bell->heard_.fetch_add(1, std::memory_order_relaxed);
  bell->on_ring_();
  return UCS_OK;  // nothing to keep: a ring carries no data
}

void ucx_bell_ep_error(void* arg, ucp_ep_h, ucs_status_t status) {
  // The peer is gone (or going: endpoints close at the end of the job). Not
  // reported from here: the data plane and the heartbeats judge failures.
  auto* a = static_cast<UcxBell::EpArg*>(arg);
  RAYMPI_LOG_DEBUG("doorbell endpoint to rank {} closed: {}", a->rank, ucs_status_string(status));
  a->bell->unreachable_[std::size_t(a->rank)] = true;
  UcpWorker::drop(a->bell->eps_[std::size_t(a->rank)]);
}

UcxBell::UcxBell(int size, std::function<void()> on_ring)
    : on_ring_(std::move(on_ring)),
      eps_(std::size_t(size), nullptr),
      unreachable_(std::size_t(size), false),
      queued_(new std::atomic<bool>[std::size_t(size)]()) {
  for (int r = 0; r < size; ++r) ep_args_.push_back(std::make_unique<EpArg>(EpArg{this, r}));
}

std::unique_ptr<UcxBell> UcxBell::create(MPI_Comm comm, bool enable, std::function<void()> on_ring) {
  int rank = comm_rank(comm);
  std::unique_ptr<UcxBell> bell(new UcxBell(comm_size(comm), std::move(on_ring)));
  std::string why;
  bool ok = enable && bell->ucp_.open(UCP_FEATURE_AM, false, why);
  if (ok) {
    ucp_am_handler_param_t p{};
    p.field_mask = UCP_AM_HANDLER_PARAM_FIELD_ID | UCP_AM_HANDLER_PARAM_FIELD_CB | UCP_AM_HANDLER_PARAM_FIELD_ARG;
    p.id = kRingMessage;
    p.cb = ucx_bell_heard;
    p.arg = bell.get();
    ucs_status_t st = ucp_worker_set_am_recv_handler(bell->ucp_.get(), &p);
    if (st != UCS_OK) why = std::string("ucp_worker_set_am_recv_handler: ") + ucs_status_string(st);
    ok = st == UCS_OK;
  }
  if (enable && !ok)
    RAYMPI_LOG_WARN("rank {}: UCX doorbells not available ({}); ranks on other hosts are polled", rank, why);
  int mine = ok ? 1 : 0, all = 0;
  MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, comm);
  if (!all) return nullptr;
  bell->addresses_ = allgather_strings(comm, bell->ucp_.address());
  bell->thread_ = std::thread([b = bell.get()] {
    mark_latency_sensitive_thread();  // a ring's whole point is to be answered at once
    b->loop();
  });
  return bell;
}

UcxBell::~UcxBell() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  ucp_.wake();
  if (thread_.joinable()) thread_.join();
  RAYMPI_LOG_DEBUG("doorbells across hosts: {} rings sent, {} heard", rung(), heard());
  // The bell's worker is not destroyed: UCX 1.13 aborts the process
  // (ucp_request.c:684, "got REP message") when a worker is destroyed, or an
  // endpoint fails, while the wire-up of an endpoint that a peer opened to
  // ring us is still pending -- seen in about 1 of 10 multi-host jobs, since
  // peers ring each other up to the end. The bell lives as long as the job,
  // so this is the end of the process: its sockets close with it.
  ucp_.abandon();
}

void UcxBell::ring(int rank) {
  if (queued_[std::size_t(rank)].exchange(true, std::memory_order_acq_rel)) return;
  {
    std::lock_guard lk(mu_);
    to_ring_.push_back(rank);
  }
  ucp_.wake();
}

void UcxBell::send_ring(int rank) {
  auto r = std::size_t(rank);
  if (unreachable_[r]) return;
  if (!eps_[r]) {
    std::string why;
    eps_[r] = ucp_.connect(addresses_[r], true, ucx_bell_ep_error, ep_args_[r].get(), why);
    if (!eps_[r]) {
      RAYMPI_LOG_DEBUG("no doorbell endpoint to rank {}: {}", rank, why);
      unreachable_[r] = true;
      return;
    }
  }
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_FLAGS;
  p.flags = UCP_AM_SEND_FLAG_EAGER;
  ucs_status_ptr_t req = ucp_am_send_nbx(eps_[r], kRingMessage, nullptr, 0, nullptr, 0, &p);
  if (UCS_PTR_IS_PTR(req)) ucp_request_free(req);  // nothing to keep alive: the message is empty
  if (!UCS_PTR_IS_ERR(req)) rung_.fetch_add(1, std::memory_order_relaxed);
}

void UcxBell::loop() {
  std::vector<int> batch;
  for (;;) {
    {
      std::lock_guard lk(mu_);
      if (stop_) break;
      batch.swap(to_ring_);
    }
    for (int r : batch) {
      queued_[std::size_t(r)].store(false, std::memory_order_release);  // a later ring queues again
      send_ring(r);
    }
    batch.clear();
    if (ucp_worker_progress(ucp_.get()) != 0) continue;
    ucp_.sleep(kBellNapMs);
  }
  // No close: closing endpoints runs the same purge (see ~UcxBell); the
  // worker is left as it is once this thread stops progressing it.
}

}  // namespace raympi::detail
