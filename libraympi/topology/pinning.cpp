// Binding worker, actor and runtime threads with hwloc.
#include "topology/pinning.hpp"

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "base/log.hpp"
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

std::string list_of(const std::vector<unsigned>& pus) {
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  for (unsigned pu : pus) hwloc_bitmap_set(set, pu);
  std::string s = list_of(set);
  hwloc_bitmap_free(set);
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

Pinning::Pinning(const Machine& m, int worker_slots, bool enabled) : enabled_(enabled && !m.pus.empty()) {
  if (!enabled_) return;
  std::size_t slots = std::size_t(std::max(1, worker_slots));
  std::size_t used = std::min(slots, m.pus.size());
  worker_pus_.assign(m.pus.begin(), m.pus.begin() + long(used));
  all_workers_mask_ = list_of(worker_pus_);
  wraps_ = slots > m.pus.size();
  if (m.pus.size() > slots) runtime_mask_ = list_of(std::vector<unsigned>(m.pus.begin() + long(slots), m.pus.end()));
  if (wraps_)
    RAYMPI_LOG_DEBUG("{} worker slots on {} PU(s) ({}): workers share PUs round-robin; runtime threads stay unbound",
                     slots, m.pus.size(), m.cpuset);
}

std::string Pinning::worker_mask(int slot) const {
  if (!enabled_) return {};
  if (slot < 0) return all_workers_mask_;
  return std::to_string(worker_pus_[std::size_t(slot) % worker_pus_.size()]);
}

void Pinning::bind_worker(int slot) const {
  if (enabled_) bind_thread(worker_mask(slot));
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
