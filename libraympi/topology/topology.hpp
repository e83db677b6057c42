#pragma once
// What the machine gives this rank, read through hwloc: the PUs of the rank's
// cpuset (cores first, then their hyperthreads), the GPUs on the PCI bus, the
// GPUs the allocation lets the rank use, and the host name.

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace raympi::detail {

/// @brief One GPU as hwloc reports it (a PCI device, whatever OS devices it carries).
struct GpuDevice {
  std::string name;        // "NVIDIA A100-SXM4-40GB" (GPUModel) or the PCI device name
  std::string pci_bus_id;  // "0000:17:00.0"
  std::string vendor;      // "NVIDIA" or "AMD"
  std::string uuid;        // "GPU-…" when NVML or RSMI report one, else empty
  int physical = -1;       // index among the GPUs of the machine (Slurm's and the driver's numbering)
  template <class A>
  void serialize(A& ar) { ar(name, pci_bus_id, vendor, uuid, physical); }
};

/// @brief The machine as this rank sees it.
struct Machine {
  std::string host;
  std::string cpuset;              // the rank's cpuset in hwloc's list syntax ("0-31")
  std::vector<unsigned> pus;       // OS indexes of its PUs: first PU of every core, then second, ...
  int cores = 0;                   // cores with at least one PU in the cpuset
  std::vector<std::vector<unsigned>> core_pus;  // every core of the machine (not only the cpuset): its PUs, topology order
  std::vector<GpuDevice> gpus;     // every GPU found, in PCI order
  bool this_system = true;         // false: a topology from a file or synthetic description (no binding)
};

/// Loads a topology with hwloc's usual sources (HWLOC_XMLFILE, HWLOC_SYNTHETIC,
/// else this machine), or from `xml_file` when given. Throws raympi::Error when
/// HWLOC_XMLFILE names a missing file (hwloc would silently use the real machine).
Machine load_machine(const std::string& xml_file = {});
/// This process's machine, loaded once.
const Machine& local_machine();

/// Environment lookup (tests pass a map; the runtime passes getenv).
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
EnvLookup process_env();
EnvLookup env_from(std::map<std::string, std::string> vars);

/// The GPUs this rank may use, in the order the application numbers them:
/// `found` narrowed by Slurm's allocation (SLURM_STEP_GPUS, else
/// SLURM_JOB_GPUS) and by CUDA_VISIBLE_DEVICES / ROCR_VISIBLE_DEVICES /
/// HIP_VISIBLE_DEVICES / GPU_DEVICE_ORDINAL. `notes` receives one line per
/// entry that named no GPU.
std::vector<GpuDevice> visible_gpus(const std::vector<GpuDevice>& found, const EnvLookup& env,
                                    std::vector<std::string>* notes = nullptr);

/// This rank's GPUs: visible_gpus(local_machine().gpus, process_env()), computed
/// once; entries that named no GPU are logged as warnings.
const std::vector<GpuDevice>& local_visible_gpus();

/// The whole machine of local_machine() in one line: "2 packages, 16 cores,
/// 32 PUs, 2 NUMA nodes, 257536 MiB memory" (raympi info, logs).
std::string topology_summary();

/// The PUs of `core_pus` (one list per core) in binding order: the first PU of
/// every core, then the second, ...
std::vector<unsigned> cores_first(const std::vector<std::vector<unsigned>>& core_pus);

/// PUs in hwloc's list syntax ("0-3,6"), and back (an unreadable list: none).
std::string pu_list(const std::vector<unsigned>& pus);
std::vector<unsigned> parse_pu_list(const std::string& list);

/// The cores of `m` (Machine::core_pus) restricted to `pool`, in topology
/// order; PUs of the pool that no core lists come last, one "core" each.
std::vector<std::vector<unsigned>> cores_in(const Machine& m, const std::set<unsigned>& pool);

/// `m` narrowed to `pus`: cpuset, PUs cores first, and core count recomputed.
Machine narrowed_machine(const Machine& m, const std::vector<unsigned>& pus);

/// Number of PUs in this process's cpuset (local_machine().pus.size(), at least 1).
int cpuset_pu_count();
std::string host_name();

}  // namespace raympi::detail
