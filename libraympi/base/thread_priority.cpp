// sched_setattr with a custom slice for SCHED_OTHER threads (Linux 6.12+).
#include "base/thread_priority.hpp"

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>
#include <thread>

namespace raympi::detail {

namespace {
// The kernel's struct sched_attr (linux/sched/types.h clashes with <sched.h>).
struct SchedAttr {
  std::uint32_t size, sched_policy;
  std::uint64_t sched_flags;
  std::int32_t sched_nice;
  std::uint32_t sched_priority;
  std::uint64_t sched_runtime, sched_deadline, sched_period;
  std::uint32_t sched_util_min, sched_util_max;
};

bool set_slice(std::uint64_t ns) {
#ifdef SYS_sched_setattr
  SchedAttr attr{};
  attr.size = sizeof attr;
  attr.sched_policy = SCHED_OTHER;
  attr.sched_runtime = ns;
  attr.sched_nice = 0;  // sched_setattr sets the nice value too: the runtime's threads keep 0
  return syscall(SYS_sched_setattr, 0, &attr, 0) == 0;
#else
  (void)ns;
  return false;
#endif
}
}  // namespace

std::uint64_t thread_slice_ns(int tid) {
#ifdef SYS_sched_getattr
  SchedAttr attr{};
  if (syscall(SYS_sched_getattr, tid, &attr, sizeof attr, 0) != 0) return 0;
  return attr.sched_runtime;
#else
  (void)tid;
  return 0;
#endif
}

bool custom_slices_supported() {
  bool ok = false;
  std::thread([&] { ok = set_slice(kRuntimeSliceNs) && thread_slice_ns(0) == kRuntimeSliceNs; }).join();
  return ok;
}

bool mark_latency_sensitive_thread() { return set_slice(kRuntimeSliceNs); }

}  // namespace raympi::detail
