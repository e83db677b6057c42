#include "topology/topology.hpp"

#include <hwloc.h>
#include <unistd.h>

namespace raympi::detail {

int cpuset_pu_count() {
  hwloc_topology_t topo;
  if (hwloc_topology_init(&topo) != 0) return 1;
  int n = 0;
  if (hwloc_topology_load(topo) == 0) {
    hwloc_bitmap_t set = hwloc_bitmap_alloc();
    if (hwloc_get_cpubind(topo, set, HWLOC_CPUBIND_PROCESS) == 0) {
      hwloc_bitmap_and(set, set, hwloc_topology_get_allowed_cpuset(topo));
      n = hwloc_bitmap_weight(set);
    }
    if (n <= 0) n = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU);
    hwloc_bitmap_free(set);
  }
  hwloc_topology_destroy(topo);
  return n > 0 ? n : 1;
}

std::string host_name() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace raympi::detail
