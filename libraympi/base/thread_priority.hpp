#pragma once
// The runtime's own threads (progress, data plane) must run the moment they
// wake, also on a PU where a worker computes: every cross-rank message passes
// through them. Linux's EEVDF scheduler (6.6+) lets a running thread finish
// its time slice before a woken one of equal weight runs (up to a scheduler
// tick, ~4 ms), unless the woken thread asks for a shorter slice (6.12+): then
// it preempts at once. Older kernels (CFS) preempt for a waking sleeper anyway.

namespace raympi::detail {

/// Gives the calling thread a short scheduler slice (100 µs) so that it
/// preempts a computing thread when it wakes. Returns false where the kernel
/// has no custom slices (then the default applies; nothing else changes).
bool mark_latency_sensitive_thread();

}  // namespace raympi::detail
