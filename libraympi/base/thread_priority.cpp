// sched_setattr with a custom slice for SCHED_OTHER threads (Linux 6.12+).
#include "base/thread_priority.hpp"

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdint>

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
}  // namespace

bool mark_latency_sensitive_thread() {
#ifdef SYS_sched_setattr
  SchedAttr attr{};
  attr.size = sizeof attr;
  attr.sched_policy = SCHED_OTHER;
  attr.sched_runtime = 100'000;  // ns: EEVDF's custom slice (clamped by the kernel to 0.1-100 ms)
  attr.sched_nice = 0;  // sched_setattr sets the nice value too: the runtime's threads keep 0
  return syscall(SYS_sched_setattr, 0, &attr, 0) == 0;
#else
  return false;
#endif
}

}  // namespace raympi::detail
