// `raympi info`: the local machine as raympi sees it.
//
// The topology, CPUs and GPUs come from the topology module
// (libraympi/topology/), the same code a node rank runs, so what this prints
// is what the runtime gets.

#include "machine_info.hpp"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <sstream>
#include <string>
#include <vector>

#include "base/heap_pages.hpp"
#include "topology/topology.hpp"

extern char** environ;

namespace raympi::launcher {

namespace {

// Where GPU `g` of the machine sits among this process's visible GPUs (its GPU id), or -1.
int visible_index(const raympi::detail::GpuDevice& g, const std::vector<raympi::detail::GpuDevice>& visible) {
  for (std::size_t i = 0; i < visible.size(); ++i)
    if (visible[i].pci_bus_id == g.pci_bus_id) return int(i);
  return -1;
}

void machine_section(std::ostream& o, const raympi::detail::Machine& m) {
  namespace d = raympi::detail;
  // What local_visible_gpus() computes, with the entries that named no GPU
  // kept for the report instead of logged.
  std::vector<std::string> notes;
  const auto visible = d::visible_gpus(m.gpus, d::process_env(), &notes);

  o << "CPUs of this process: PUs " << m.cpuset << " (" << m.cores << " core" << (m.cores == 1 ? "" : "s") << ", "
    << m.pus.size() << " PU" << (m.pus.size() == 1 ? "" : "s") << ")"
    << (m.this_system ? "" : " [topology from a file or synthetic description: not this machine, no binding]")
    << " -> a node rank started like this gets num_cpus = " << d::cpuset_pu_count()
    << " (unless RAYMPI_NUM_CPUS is set)\n";

  o << "GPUs (hwloc): ";
  if (m.gpus.empty()) o << "none found\n";
  else o << m.gpus.size() << " found, " << visible.size() << " visible to this process\n";
  for (auto& g : m.gpus) {
    o << "  [" << g.physical << "] " << g.name << ", PCI " << g.pci_bus_id;
    if (!g.uuid.empty()) o << ", UUID " << g.uuid;
    const int v = visible_index(g, visible);
    if (v >= 0) o << "  -> visible, GPU id " << v << '\n';
    else o << "  -> not visible\n";
  }
  for (auto& n : notes) o << "  note: " << n << '\n';
  o << "  -> a node rank started like this gets num_gpus = " << visible.size()
    << " (unless RAYMPI_NUM_GPUS is set)\n";
}

bool shown(const std::string& name) {
  return name.rfind("RAYMPI_", 0) == 0 || name.rfind("SLURM_", 0) == 0 || name == "CUDA_VISIBLE_DEVICES" ||
         name == "ROCR_VISIBLE_DEVICES" || name == "HIP_VISIBLE_DEVICES" || name == "GPU_DEVICE_ORDINAL" ||
         name == "HWLOC_XMLFILE" || name == "HWLOC_SYNTHETIC" || name == "TMPDIR" ||
         name.rfind("OMPI_COMM_WORLD_", 0) == 0;
}

}  // namespace

std::string machine_info() {
  std::ostringstream o;
  o << "host: " << raympi::detail::host_name() << '\n';
  try {
    // Throws when HWLOC_XMLFILE names a missing file (hwloc alone would
    // silently describe this machine instead).
    const raympi::detail::Machine& m = raympi::detail::local_machine();
    o << "hwloc topology: " << raympi::detail::topology_summary() << '\n';
    machine_section(o, m);
  } catch (const std::exception& e) {  // the rest of the report still helps
    o << "hwloc topology: cannot read it: " << e.what() << '\n';
  }
  const bool slurm = std::getenv("SLURM_JOB_ID") != nullptr;
  const char* forced = std::getenv("RAYMPI_LAUNCHER");
  o << "raympi run would start the job with: "
    << (forced && *forced ? std::string(forced) + " (RAYMPI_LAUNCHER)"
                          : slurm ? std::string("srun --mpi=pmix (inside Slurm job ") + std::getenv("SLURM_JOB_ID") + ")"
                                  : std::string("mpirun (no Slurm allocation)"))
    << '\n';
  const raympi::detail::HeapPages pages = raympi::detail::heap_pages();
  o << "malloc heap pages: transparent huge pages '" << (pages.thp_mode.empty() ? "unknown" : pages.thp_mode)
    << "', GLIBC_TUNABLES " << (pages.glibc_hugetlb ? "asks for them" : "does not ask for them")
    << " (raympi run sets it for the ranks)\n";
  std::vector<std::string> vars;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    if (shown(kv.substr(0, kv.find('=')))) vars.push_back(kv);
  }
  std::sort(vars.begin(), vars.end());
  o << "environment in force:"
    << (vars.empty() ? " none of RAYMPI_*, SLURM_*, CUDA_VISIBLE_DEVICES, ROCR_VISIBLE_DEVICES, "
                       "HIP_VISIBLE_DEVICES, GPU_DEVICE_ORDINAL, HWLOC_XMLFILE, HWLOC_SYNTHETIC, TMPDIR"
                     : "")
    << '\n';
  for (auto& v : vars) o << "  " << v << '\n';
  return o.str();
}

}  // namespace raympi::launcher
