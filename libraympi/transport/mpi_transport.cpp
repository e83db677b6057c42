#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <string>

#include "base/log.hpp"
#include "raympi/errors.hpp"
#include "transport/batch_frames.hpp"
#include "transport/transport.hpp"
#include "transport/ucx_plane.hpp"

namespace raympi::detail {

namespace {
constexpr int kControlTag = 7331;
constexpr std::size_t kBatchLimit = 64 * 1024;  // bigger messages travel alone (no copy)
// Posted by the sending thread when nothing else is queued: small enough to go
// eagerly (the receiver needs no further progress from us to get it).
constexpr std::size_t kDirectLimit = 4 * 1024;
// The first re-ring of a peer on another host, at the earliest: after a ring
// the receiver polls for a spin window, which catches bytes a little behind it.
constexpr auto kMinRering = std::chrono::microseconds(100);

long futex(std::atomic<std::uint32_t>* addr, int op, std::uint32_t val, const timespec* timeout) {
  // Not FUTEX_PRIVATE: the word lives in memory shared between processes.
  return syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(addr), op, val, timeout, nullptr, 0);
}
}  // namespace

int comm_rank(MPI_Comm c) {
  int r = 0;
  MPI_Comm_rank(c, &r);
  return r;
}
int comm_size(MPI_Comm c) {
  int s = 0;
  MPI_Comm_size(c, &s);
  return s;
}

std::vector<std::string> allgather_strings(MPI_Comm comm, const std::string& mine) {
  int size = comm_size(comm);
  int len = int(mine.size());
  std::vector<int> lens(size), displs(size);
  MPI_Allgather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, comm);
  std::partial_sum(lens.begin(), lens.end() - 1, displs.begin() + 1);
  std::string all(std::size_t(displs.back() + lens.back()), '\0');
  MPI_Allgatherv(mine.data(), len, MPI_CHAR, all.data(), lens.data(), displs.data(), MPI_CHAR, comm);
  std::vector<std::string> out;
  for (int r = 0; r < size; ++r) out.push_back(all.substr(std::size_t(displs[r]), std::size_t(lens[r])));
  return out;
}

MpiTransport::MpiTransport(MPI_Comm comm, Tuning t)
    : Transport(comm_rank(comm), comm_size(comm), t), comm_(comm), bells_(std::size_t(size()), nullptr),
      ringing_(std::size_t(size())), staged_(std::size_t(size())) {
  // One doorbell per rank in memory shared by the ranks of this host.
  MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank(), MPI_INFO_NULL, &shm_comm_);
  int shm_size = comm_size(shm_comm_);
  void* mine = nullptr;
  MPI_Win_allocate_shared(sizeof(Doorbell), 64, MPI_INFO_NULL, shm_comm_, &mine, &win_);
  new (mine) Doorbell();
  MPI_Group world_group, shm_group;
  MPI_Comm_group(comm_, &world_group);
  MPI_Comm_group(shm_comm_, &shm_group);
  std::size_t n = std::size_t(shm_size);
  std::vector<int> shm_ranks(n), world_ranks(n);
  for (int i = 0; i < shm_size; ++i) shm_ranks[std::size_t(i)] = i;
  MPI_Group_translate_ranks(shm_group, shm_size, shm_ranks.data(), world_group, world_ranks.data());
  for (int i = 0; i < shm_size; ++i) {
    MPI_Aint sz;
    int disp;
    void* p = nullptr;
    MPI_Win_shared_query(win_, i, &sz, &disp, &p);
    bells_[std::size_t(world_ranks[std::size_t(i)])] = static_cast<Doorbell*>(p);
  }
  MPI_Group_free(&world_group);
  MPI_Group_free(&shm_group);
  MPI_Barrier(shm_comm_);  // every doorbell is constructed before anyone rings
  all_local_ = shm_size == size();
  // Peers on other hosts get doorbells over UCX (collective; the same answer
  // on every rank): an idle rank then blocks as on one host.
  if (!all_local_)
    remote_ = UcxBell::create(comm_, t.remote_bells, [me = bells_[std::size_t(rank())]] { ring(me); });
  int provided = MPI_THREAD_SINGLE;
  MPI_Query_thread(&provided);
  thread_multiple_ = provided == MPI_THREAD_MULTIPLE && t.direct_send;
}

bool MpiTransport::post_direct_locked(int dst, Buffer& msg) {
  if (!thread_multiple_ || msg.size > kDirectLimit) return false;
  reap_direct_locked();
  // One direct send per peer at a time: a stream of messages queues behind it
  // and the progress thread batches them.
  for (auto& d : direct_)
    if (d.dst == dst) return false;
  MPI_Request req;
  MPI_Issend(msg.data, int(msg.size), MPI_BYTE, dst, kControlTag, comm_, &req);
  direct_.push_back(DirectSend{req, std::move(msg), dst});
  direct_count_.fetch_add(1, std::memory_order_relaxed);
  if (Doorbell* b = bells_[std::size_t(dst)]) {
    ring(b);
  } else if (remote_) {
    // Across hosts the send may need this side's MPI progress too (tcp: a
    // connection being set up, a partial write), and only the progress thread
    // re-rings the peer until it is matched: wake it, it may be blocked.
    remote_->ring(dst);
    ring(bells_[std::size_t(rank())]);
  }
  return true;
}

void MpiTransport::reap_direct_locked() {
  std::size_t keep = 0;
  for (std::size_t i = 0; i < direct_.size(); ++i) {
    int done = 0;
    MPI_Test(&direct_[i].request, &done, MPI_STATUS_IGNORE);
    if (done) continue;  // the buffer goes with the entry
    // Unmatched: ring again (see poll_remote); a sending thread leaves peers
    // on other hosts to the progress thread, which keeps their backoff.
    if (Doorbell* b = bells_[std::size_t(direct_[i].dst)]) ring(b);
    else if (remote_ && on_progress_thread()) ring_unmatched(direct_[i].dst, Clock::now());
    if (keep != i) direct_[keep] = std::move(direct_[i]);
    ++keep;
  }
  direct_.resize(keep);
  direct_count_.store(int(keep), std::memory_order_relaxed);
}

MpiTransport::~MpiTransport() {
  stop_if_running();
  remote_.reset();  // its thread rings this rank's doorbell, which goes with the window
  // Freeing the window and communicator is collective: with a dead rank it
  // would never return, so they are left to MPI_Finalize's clean-up.
  if (stopped_with_failed_peers()) return;
  if (win_ != MPI_WIN_NULL) MPI_Win_free(&win_);
  if (shm_comm_ != MPI_COMM_NULL) MPI_Comm_free(&shm_comm_);
}

void MpiTransport::ring(Doorbell* bell) {
  bell->seq.fetch_add(1, std::memory_order_seq_cst);
  if (bell->sleeping.load(std::memory_order_seq_cst)) futex(&bell->seq, FUTEX_WAKE, 1, nullptr);
}

void MpiTransport::notify() { ring(bells_[std::size_t(rank())]); }

void MpiTransport::ring_posted(int dst, Clock::time_point now) {
  if (Doorbell* b = bells_[std::size_t(dst)]) return ring(b);
  if (!remote_) return;
  auto& r = ringing_[std::size_t(dst)];
  // With a send to it unmatched since an earlier poll, its re-rings go on
  // (this send is matched with that one); else ring now.
  if (r.poll + 1 < polls_) {
    remote_->ring(dst);
    r.gap = std::max<Clock::duration>(2 * tuning().spin, kMinRering);
    r.next = now + r.gap;
  }
}

void MpiTransport::ring_unmatched(int dst, Clock::time_point now) {
  auto& r = ringing_[std::size_t(dst)];
  if (r.poll + 1 < polls_) {
    // First seen unmatched: a sending thread posted and rang it (post_direct_locked).
    r.gap = std::max<Clock::duration>(2 * tuning().spin, kMinRering);
    r.next = now + r.gap;
  } else if (now >= r.next) {
    // The ring came before the bytes, or while the receiver was awake and
    // about to sleep: ring again, less often the longer it takes.
    remote_->ring(dst);
    r.gap = std::min<Clock::duration>(2 * r.gap, std::max<Clock::duration>(tuning().max_backoff, kMinRering));
    r.next = now + r.gap;
  }
  r.poll = polls_;
}

bool MpiTransport::block_until(Clock::time_point until) {
  Doorbell* me = bells_[std::size_t(rank())];
  me->sleeping.store(1, std::memory_order_seq_cst);
  std::uint32_t seen = me->seq.load(std::memory_order_seq_cst);
  bool work;
  {
    std::lock_guard lk(mu_);
    work = !outbox_.empty();
  }
  // A peer may have posted before it saw us asleep: look once more, then sleep.
  if (!work && !poll_remote()) {
    auto left = until - Clock::now();
    if (left > Clock::duration::zero()) {
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
      timespec ts{time_t(ns / 1000000000), long(ns % 1000000000)};
      futex(&me->seq, FUTEX_WAIT, seen, &ts);
    }
    work = me->seq.load(std::memory_order_relaxed) != seen;
  } else {
    work = true;
  }
  me->sleeping.store(0, std::memory_order_relaxed);
  return work;
}

void MpiTransport::send_remote(int dst, Buffer msg) { staged_[std::size_t(dst)].push_back(std::move(msg)); }

void MpiTransport::post(int dst, Buffer msg) {
  if (msg.size > std::size_t(INT_MAX))
    throw Error("raympi: a control message of " + std::to_string(msg.size) +
                " bytes exceeds MPI's int count; objects over 2 GiB need the UCX data plane");
  // Synchronous mode: the request completes only once the receiver matched the
  // message, so until then the loop keeps driving MPI progress here (a buffered
  // eager send can otherwise sit in our queue while both sides sleep).
  MPI_Request req;
  MPI_Issend(msg.data, int(msg.size), MPI_BYTE, dst, kControlTag, comm_, &req);
  requests_.push_back(req);
  pending_.push_back(std::move(msg));
  pending_dst_.push_back(dst);
}

void MpiTransport::flush_remote() {
  for (std::size_t dst = 0; dst < staged_.size(); ++dst) {
    auto& msgs = staged_[dst];
    if (msgs.empty()) continue;
    std::size_t i = 0;
    while (i < msgs.size()) {
      // Gather a run of small messages into one batch; a big one goes alone.
      std::size_t j = i, bytes = 1;
      while (j < msgs.size() && msgs[j].size < kBatchLimit &&
             bytes + kFrameHeaderBytes + msgs[j].size <= 4 * kBatchLimit)
        bytes += kFrameHeaderBytes + msgs[j++].size;
      if (j - i <= 1) {
        post(int(dst), std::move(msgs[i]));
        i = std::max(j, i + 1);
        continue;
      }
      char* p = nullptr;
      Buffer batch = allocate_buffer(bytes, p);
      write_batch(p, msgs.data() + i, j - i);
      post(int(dst), std::move(batch));
      i = j;
    }
    msgs.clear();
    ring_posted(int(dst), Clock::now());
  }
}

bool MpiTransport::quiesced() {
  if (!barrier_posted_) {
    MPI_Ibarrier(comm_, &barrier_);
    barrier_posted_ = true;
  }
  int done = 0;
  MPI_Test(&barrier_, &done, MPI_STATUS_IGNORE);
  return done != 0;
}

bool MpiTransport::poll_remote() {
  bool active = false;
  if (!requests_.empty()) {
    int outcount = 0;
    indices_.resize(requests_.size());
    MPI_Testsome(int(requests_.size()), requests_.data(), &outcount, indices_.data(), MPI_STATUSES_IGNORE);
    if (outcount > 0 && outcount != MPI_UNDEFINED) {
      std::size_t keep = 0;  // completed requests are MPI_REQUEST_NULL now
      for (std::size_t i = 0; i < requests_.size(); ++i) {
        if (requests_[i] == MPI_REQUEST_NULL) continue;
        requests_[keep] = requests_[i];
        pending_[keep] = std::move(pending_[i]);
        pending_dst_[keep] = pending_dst_[i];
        ++keep;
      }
      requests_.resize(keep);
      pending_.resize(keep);
      pending_dst_.resize(keep);
      active = true;
    }
    // Unmatched sends: the receiver may have looked before the message was
    // visible and gone to sleep. Ring again (an atomic add unless it sleeps;
    // across hosts a message, with backoff).
    auto now = Clock::now();
    for (int dst : pending_dst_)
      if (Doorbell* b = bells_[std::size_t(dst)]) ring(b);
      else if (remote_) ring_unmatched(dst, now);
  }
  ++polls_;
  for (int i = 0; i < 256; ++i) {
    int flag = 0;
    MPI_Message handle;
    MPI_Status st;
    MPI_Improbe(MPI_ANY_SOURCE, kControlTag, comm_, &flag, &handle, &st);
    if (!flag) break;
    int count = 0;
    MPI_Get_count(&st, MPI_BYTE, &count);
    char* p = nullptr;
    Buffer b = allocate_buffer(std::size_t(count > 0 ? count : 0), p);
    MPI_Mrecv(p, count, MPI_BYTE, &handle, MPI_STATUS_IGNORE);
    if (is_batch(b)) {
      try {
        for_each_batched(b, [&](Buffer m) { deliver(st.MPI_SOURCE, std::move(m)); });
      } catch (const Error& e) {  // checked before any delivery: nothing of it was delivered
        RAYMPI_LOG_ERROR("rank {}: dropped a malformed batch from rank {}: {}", rank(), st.MPI_SOURCE, e.what());
      }
    } else {
      deliver(st.MPI_SOURCE, std::move(b));
    }
    active = true;
  }
  return active;
}

}  // namespace raympi::detail
