// Binding worker, actor and runtime threads with hwloc.
#include "topology/pinning.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <pthread.h>
#include <sched.h>

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "base/log.hpp"
#include "raympi/errors.hpp"
#include "topology/hwloc_handle.hpp"

namespace raympi::detail {

namespace {

thread_local std::string t_intended;

std::string list_of(hwloc_const_bitmap_t set) {
  char* text = nullptr;
  hwloc_bitmap_list_asprintf(&text, set);
  std::string s = text ? text : "";
  std::free(text);
  return s;
}

// Binds the calling thread to the PUs of `mask` (list syntax). On a topology
// that is not this system (an XML file) hwloc does nothing; with PUs this
// machine lacks (a file with HWLOC_THISSYSTEM=1) it refuses: say so once per
// process and go on unbound.
void bind_thread(const std::string& mask) {
  t_intended = mask;
  hwloc_topology_t topo = process_topology().get();
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  hwloc_bitmap_list_sscanf(set, mask.c_str());
  if (hwloc_set_cpubind(topo, set, HWLOC_CPUBIND_THREAD) != 0) {
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true))
      RAYMPI_LOG_WARN("cannot bind threads to PUs {} ({}); threads run unbound{}", mask, std::strerror(errno),
                      hwloc_topology_is_thissystem(topo) ? "" : " (the topology is not this machine's: HWLOC_XMLFILE?)");
  }
  hwloc_bitmap_free(set);
}

}  // namespace

int worker_pu_count(const Machine& m, int reserve) {
  int pus = int(m.pus.size());
  return std::max(1, pus > reserve ? pus - reserve : pus);
}

WorkerPriority WorkerPriority::parse(const std::string& text) {
  if (text == "idle") return {Policy::idle, 0};
  if (text == "normal") return {Policy::normal, 0};
  if (text.rfind("nice:", 0) == 0) {
    try {
      std::size_t used = 0;
      int n = std::stoi(text.substr(5), &used);
      if (used == text.size() - 5 && n >= 1 && n <= 19) return {Policy::nice, n};
    } catch (const std::exception&) {
    }
  }
  throw Error("raympi: worker priority '" + text +
              "' (RAYMPI_WORKER_PRIORITY / Config::worker_priority) is not one of idle, normal, nice:N with N in 1..19");
}

bool WorkerPriority::apply_to_this_thread() const {
  const id_t tid = id_t(syscall(SYS_gettid));
  switch (policy) {
    case Policy::normal: return true;
    case Policy::nice: {
      errno = 0;
      int now = getpriority(PRIO_PROCESS, tid);
      return errno != 0 || setpriority(PRIO_PROCESS, tid, std::min(19, now + nice)) == 0;
    }
    case Policy::idle: {
      sched_param none{};
      int err = pthread_setschedparam(pthread_self(), SCHED_IDLE, &none);
      errno = err;
      return err == 0;
    }
  }
  return true;
}

Pinning::Pinning(const Machine& m, int worker_slots, bool enabled, int reserve, WorkerPriority priority)
    : enabled_(enabled && !m.pus.empty()), priority_(priority) {
  const std::size_t workers_pus = std::size_t(detail::worker_pu_count(m, reserve));
  const std::size_t slots = std::size_t(std::max(1, worker_slots));
  const std::size_t used = std::min(slots, workers_pus);
  worker_pu_count_ = int(used);
  if (!enabled_) return;
  if (reserve > 0 && m.pus.size() <= std::size_t(reserve))
    RAYMPI_LOG_WARN("cannot reserve {} PU(s) for the runtime: this rank has {} PU(s) ({}); nothing reserved",
                    reserve, m.pus.size(), m.cpuset);
  worker_pus_.assign(m.pus.begin(), m.pus.begin() + long(used));
  all_workers_mask_ = pu_list(worker_pus_);
  wraps_ = slots > workers_pus;
  if (m.pus.size() > used) runtime_mask_ = pu_list(std::vector<unsigned>(m.pus.begin() + long(used), m.pus.end()));
  if (wraps_)
    RAYMPI_LOG_DEBUG("{} worker slots on {} PU(s) ({}): workers share PUs round-robin", slots, workers_pus, m.cpuset);
}

std::string Pinning::worker_mask(int slot) const {
  if (!enabled_) return {};
  if (slot < 0) return all_workers_mask_;
  return std::to_string(worker_pu(slot));
}

int Pinning::worker_pu(int slot) const {
  if (!enabled_ || slot < 0) return -1;
  return int(worker_pus_[std::size_t(slot) % worker_pus_.size()]);
}

void Pinning::place_worker(int slot) const {
  if (enabled_) bind_thread(worker_mask(slot));
  if (!priority_.apply_to_this_thread()) {
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true))
      RAYMPI_LOG_WARN("cannot lower the priority of worker threads ({}); they run at the runtime's priority",
                      std::strerror(errno));
  }
}

ScopedRuntimeBinding::ScopedRuntimeBinding(const Pinning* p) {
  if (!p || !p->enabled() || p->runtime_mask().empty()) return;
  hwloc_topology_t topo = process_topology().get();
  hwloc_bitmap_t saved = hwloc_bitmap_alloc();
  if (hwloc_get_cpubind(topo, saved, HWLOC_CPUBIND_THREAD) != 0) hwloc_bitmap_copy(saved, hwloc_topology_get_allowed_cpuset(topo));
  saved_ = saved;
  saved_record_ = t_intended;
  bind_thread(p->runtime_mask());
}

ScopedRuntimeBinding::~ScopedRuntimeBinding() {
  if (!saved_) return;
  auto saved = static_cast<hwloc_bitmap_t>(saved_);
  hwloc_set_cpubind(process_topology().get(), saved, HWLOC_CPUBIND_THREAD);
  hwloc_bitmap_free(saved);
  t_intended = saved_record_;
}

std::string this_thread_binding() { return t_intended; }

std::string this_thread_actual_binding() {
  hwloc_topology_t topo = process_topology().get();
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  std::string s = hwloc_get_cpubind(topo, set, HWLOC_CPUBIND_THREAD) == 0 ? list_of(set) : std::string();
  hwloc_bitmap_free(set);
  return s;
}

}  // namespace raympi::detail
