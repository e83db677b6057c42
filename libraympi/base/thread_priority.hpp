#pragma once
// The runtime's own threads (progress, data plane) must run the moment they
// wake, also on a PU where a worker computes: every cross-rank message passes
// through them. Linux's EEVDF scheduler (6.6+) lets a running thread finish
// its time slice before a woken one of equal weight runs (up to a scheduler
// tick, ~4 ms), unless the woken thread asks for a shorter slice (6.12+): then
// it preempts at once. Older kernels (CFS) preempt for a waking sleeper anyway.

#include <cstdint>

namespace raympi::detail {

/// The runtime threads' slice (EEVDF clamps custom slices to 0.1-100 ms).
inline constexpr std::uint64_t kRuntimeSliceNs = 100'000;

/// Gives the calling thread a short scheduler slice (kRuntimeSliceNs) so that it
/// preempts a computing thread when it wakes. Returns false where the kernel
/// has no custom slices (then the default applies; nothing else changes).
bool mark_latency_sensitive_thread();

/// The custom slice of thread `tid` (0: the calling thread) in ns; 0 when it
/// has none or the kernel cannot tell.
std::uint64_t thread_slice_ns(int tid);

/// Whether this kernel accepts a custom slice for SCHED_OTHER threads (tried
/// on a short-lived thread of its own).
bool custom_slices_supported();

}  // namespace raympi::detail
