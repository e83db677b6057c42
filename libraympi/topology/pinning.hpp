#pragma once
// Where a node's threads run: worker slot i on one PU of the rank's cpuset
// (cores first, then hyperthreads, wrapping round when there are more slots
// than PUs), actor threads on the worker PUs, and the runtime's own threads
// (progress, data plane) on the PUs no worker uses, when there are some.

#include <memory>
#include <string>
#include <vector>

#include "topology/topology.hpp"

namespace raympi::detail {

/// @brief The binding plan of one node rank, and the calls that apply it.
class Pinning {
 public:
  /// `worker_slots`: the node's CPU slots (its base worker threads).
  Pinning(const Machine& m, int worker_slots, bool enabled);

  bool enabled() const { return enabled_; }
  /// The PUs (hwloc list syntax) of worker `slot`; slot < 0: every worker PU
  /// (an actor's thread, an extra worker standing in for a blocked task).
  std::string worker_mask(int slot) const;
  /// The PUs of the runtime's own threads; empty when they stay unbound
  /// (fewer PUs than worker slots + 1, or pinning off).
  const std::string& runtime_mask() const { return runtime_mask_; }
  /// More slots than PUs: workers share PUs.
  bool wraps() const { return wraps_; }

  /// Binds the calling thread as worker `slot` (slot < 0: an actor's thread).
  /// A failed binding is a warning; the intended mask is recorded either way.
  void bind_worker(int slot) const;

 private:
  friend class ScopedRuntimeBinding;
  bool enabled_;
  bool wraps_ = false;
  std::vector<unsigned> worker_pus_;  // slot i -> worker_pus_[i % size]
  std::string all_workers_mask_, runtime_mask_;
};

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
