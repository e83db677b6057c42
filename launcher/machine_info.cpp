// `raympi info`: the local machine as raympi sees it.
//
// The hwloc code here is deliberately small and kept in this one file: the
// topology module (libraympi/topology/) is growing its own GPU discovery, and
// list_gpus() is meant to be replaced by it then.

#include "machine_info.hpp"

#include <hwloc.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include "topology/topology.hpp"

extern char** environ;

namespace raympi::launcher {

namespace {

struct Gpu {
  std::string name;     // "cuda0", "rsmi0", "card0" or a PCI address
  std::string details;  // model / vendor as hwloc knows it
};

// GPUs hwloc sees: GPU and co-processor OS devices, else PCI devices of the
// display class (0x03xx) when no OS-device backend named them.
std::vector<Gpu> list_gpus() {
  std::vector<Gpu> out;
  hwloc_topology_t topo;
  if (hwloc_topology_init(&topo) != 0) return out;
  hwloc_topology_set_io_types_filter(topo, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
  if (hwloc_topology_load(topo) == 0) {
    for (hwloc_obj_t o = nullptr; (o = hwloc_get_next_osdev(topo, o));) {
      if (o->attr->osdev.type != HWLOC_OBJ_OSDEV_GPU && o->attr->osdev.type != HWLOC_OBJ_OSDEV_COPROC) continue;
      const char* model = hwloc_obj_get_info_by_name(o, "GPUModel");
      const char* backend = hwloc_obj_get_info_by_name(o, "Backend");
      std::string d = model ? model : "";
      if (backend) d += std::string(d.empty() ? "" : ", ") + "backend " + backend;
      out.push_back({o->name ? o->name : "?", d});
    }
    if (out.empty())
      for (hwloc_obj_t o = nullptr; (o = hwloc_get_next_pcidev(topo, o));) {
        if ((o->attr->pcidev.class_id >> 8) != 0x03) continue;
        char addr[32];
        std::snprintf(addr, sizeof addr, "%04x:%02x:%02x.%01x", o->attr->pcidev.domain, o->attr->pcidev.bus,
                      o->attr->pcidev.dev, o->attr->pcidev.func);
        const char* vendor = hwloc_obj_get_info_by_name(o, "PCIVendor");
        const char* device = hwloc_obj_get_info_by_name(o, "PCIDevice");
        std::string d = std::string(vendor ? vendor : "") + (vendor && device ? " " : "") + (device ? device : "");
        char ids[32];
        std::snprintf(ids, sizeof ids, "pci %04x:%04x", o->attr->pcidev.vendor_id, o->attr->pcidev.device_id);
        out.push_back({addr, d.empty() ? ids : d});
      }
  }
  hwloc_topology_destroy(topo);
  return out;
}

// "1 package, 2 cores, 2 PUs, 1 NUMA node" and this process's binding.
std::string topology_summary(std::string& binding) {
  hwloc_topology_t topo;
  if (hwloc_topology_init(&topo) != 0 || hwloc_topology_load(topo) != 0) return "hwloc could not read the topology";
  auto count = [&](hwloc_obj_type_t t, const char* what) {
    int n = hwloc_get_nbobjs_by_type(topo, t);
    return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
  };
  std::string s = count(HWLOC_OBJ_PACKAGE, "package") + ", " + count(HWLOC_OBJ_CORE, "core") + ", " +
                  count(HWLOC_OBJ_PU, "PU") + ", " + count(HWLOC_OBJ_NUMANODE, "NUMA node");
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  if (hwloc_get_cpubind(topo, set, HWLOC_CPUBIND_PROCESS) == 0) {
    char* list = nullptr;
    hwloc_bitmap_list_asprintf(&list, set);
    binding = list ? list : "?";
    std::free(list);
  }
  hwloc_bitmap_free(set);
  if (hwloc_obj_t root = hwloc_get_root_obj(topo); root && root->total_memory)
    s += ", " + std::to_string(root->total_memory >> 20) + " MiB memory";
  hwloc_topology_destroy(topo);
  return s;
}

bool shown(const std::string& name) {
  return name.rfind("RAYMPI_", 0) == 0 || name.rfind("SLURM_", 0) == 0 || name == "CUDA_VISIBLE_DEVICES" ||
         name == "ROCR_VISIBLE_DEVICES" || name == "TMPDIR" || name.rfind("OMPI_COMM_WORLD_", 0) == 0;
}

}  // namespace

std::string machine_info() {
  std::ostringstream o;
  std::string binding = "?";
  o << "host: " << raympi::detail::host_name() << '\n';
  o << "hwloc topology: " << topology_summary(binding) << '\n';
  const int cpus = raympi::detail::cpuset_pu_count();
  o << "CPU binding of this process: PUs " << binding << " -> a node rank started like this gets num_cpus = "
    << cpus << " (unless RAYMPI_NUM_CPUS is set)\n";
  const auto gpus = list_gpus();
  o << "GPUs (hwloc): " << (gpus.empty() ? "none found" : std::to_string(gpus.size())) << '\n';
  for (auto& g : gpus) o << "  " << g.name << (g.details.empty() ? "" : ": " + g.details) << '\n';
  o << "  (the runtime counts GPUs only through RAYMPI_NUM_GPUS / raympi run --gpus-per-node for now)\n";
  const bool slurm = std::getenv("SLURM_JOB_ID") != nullptr;
  const char* forced = std::getenv("RAYMPI_LAUNCHER");
  o << "raympi run would start the job with: "
    << (forced && *forced ? std::string(forced) + " (RAYMPI_LAUNCHER)"
                          : slurm ? std::string("srun --mpi=pmix (inside Slurm job ") + std::getenv("SLURM_JOB_ID") + ")"
                                  : std::string("mpirun (no Slurm allocation)"))
    << '\n';
  std::vector<std::string> vars;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    if (shown(kv.substr(0, kv.find('=')))) vars.push_back(kv);
  }
  std::sort(vars.begin(), vars.end());
  o << "environment in force:" << (vars.empty() ? " none of RAYMPI_*, SLURM_*, CUDA_VISIBLE_DEVICES, TMPDIR" : "")
    << '\n';
  for (auto& v : vars) o << "  " << v << '\n';
  return o.str();
}

}  // namespace raympi::launcher
