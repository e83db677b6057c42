#pragma once
// Where and how a node's threads run: worker slot i on one PU of the rank's
// share of its host (cores first, then hyperthreads, wrapping round when there
// are more slots than PUs), actor threads on the worker PUs, the runtime's own
// threads (progress, data plane) on the PUs no worker uses (the reserved ones
// and those left over), when there are some. Worker and actor threads may run
// at a lower priority than the runtime's threads (WorkerPriority).

#include <memory>
#include <string>
#include <vector>

#include "topology/topology.hpp"

namespace raympi::detail {

/// @brief How worker and actor threads run next to the runtime's threads.
/// "normal" (the default): unchanged; the runtime's threads preempt them through
/// their short slice (base/thread_priority.hpp). "idle": SCHED_IDLE, preempted
/// at once by any other thread; starves while runtime threads poll, so it suits
/// nodes shared with other work, not latency. "nice:N": nice value raised by N
/// (EEVDF still lets a running worker finish its slice first).
struct WorkerPriority {
  enum class Policy { normal, nice, idle };
  Policy policy = Policy::normal;
  int nice = 0;
  /// Parses "idle", "normal", "nice:N" (N in 1..19); throws raympi::Error naming the fix.
  static WorkerPriority parse(const std::string& text);
  /// Applies it to the calling thread; false (errno set) if the kernel refused.
  bool apply_to_this_thread() const;
};

/// @brief The binding plan of one node rank, and the calls that apply it.
class Pinning {
 public:
  /// `worker_slots`: the node's CPU slots (its base worker threads);
  /// `reserve`: PUs kept off workers for the runtime (when there are more
  /// than that); `priority`: how worker and actor threads run.
  Pinning(const Machine& m, int worker_slots, bool enabled, int reserve = 0,
          WorkerPriority priority = {WorkerPriority::Policy::normal, 0});

  bool enabled() const { return enabled_; }
  /// The PUs (hwloc list syntax) of worker `slot`; slot < 0: every worker PU
  /// (an actor's thread, an extra worker standing in for a blocked task).
  std::string worker_mask(int slot) const;
  /// The one PU worker `slot` is bound to; -1 when unpinned or for slot -1 (floating).
  int worker_pu(int slot) const;
  /// The PUs of the runtime's own threads; empty when they stay unbound
  /// (fewer PUs than worker slots + 1, or pinning off).
  const std::string& runtime_mask() const { return runtime_mask_; }
  /// More slots than PUs: workers share PUs.
  bool wraps() const { return wraps_; }
  /// PUs worker threads run on (the rank's PUs when pinning is off).
  int worker_pu_count() const { return worker_pu_count_; }

  /// Places the calling thread as worker `slot` (slot < 0: an actor's
  /// thread): binds it (when enabled) and lowers its priority. A failure is a
  /// warning, logged once; the intended mask is recorded either way.
  void place_worker(int slot) const;

 private:
  friend class ScopedRuntimeBinding;
  bool enabled_;
  bool wraps_ = false;
  WorkerPriority priority_;
  int worker_pu_count_ = 1;
  std::vector<unsigned> worker_pus_;  // slot i -> worker_pus_[i % size]
  std::string all_workers_mask_, runtime_mask_;
};

/// PUs of `m` that workers may use: all but `reserve` of them (all when there
/// are no more than `reserve`); at least 1. The default num_cpus.
int worker_pu_count(const Machine& m, int reserve);

/// @brief Binds the calling thread to the runtime's PUs while the runtime
/// starts its threads (they inherit it), then restores the thread's binding.
class ScopedRuntimeBinding {
 public:
  explicit ScopedRuntimeBinding(const Pinning* p);
  ~ScopedRuntimeBinding();
  ScopedRuntimeBinding(const ScopedRuntimeBinding&) = delete;
  ScopedRuntimeBinding& operator=(const ScopedRuntimeBinding&) = delete;

 private:
  void* saved_ = nullptr;  // hwloc_bitmap_t of the binding to restore; null: nothing to restore
  std::string saved_record_;
};

/// The mask the runtime meant the calling thread to run on ("" if it never bound it).
std::string this_thread_binding();
/// The calling thread's binding as the OS reports it ("" where hwloc cannot tell).
std::string this_thread_actual_binding();

}  // namespace raympi::detail
