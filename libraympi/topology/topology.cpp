// Loading the machine with hwloc: the rank's cpuset, its PUs in binding
// order, and the GPUs on the PCI bus.
#include "topology/topology.hpp"

#include <hwloc.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <set>

#include "raympi/errors.hpp"
#include "topology/hwloc_handle.hpp"

namespace raympi::detail {

namespace {

constexpr unsigned kNvidia = 0x10de, kAmd = 0x1002;

// An OS device a GPU compute backend adds: CUDA, OpenCL (CoProc), NVML, RSMI
// (GPU). DRM's card<N>/renderD<N> carry no subtype and say nothing about compute.
bool compute_osdev(hwloc_obj_t o) {
  if (o->type != HWLOC_OBJ_OS_DEVICE) return false;
  for (const char* kind : {"CUDA", "NVML", "OpenCL", "RSMI", "LevelZero"}) {
    if (o->subtype && strcasecmp(o->subtype, kind) == 0) return true;
    if (o->name && strncasecmp(o->name, kind, std::char_traits<char>::length(kind)) == 0) return true;
  }
  return false;
}

// Display/3D (0x0300, 0x0302), AMD Instinct's display-other (0x0380) and
// processing-accelerator (0x1200, MI300) classes from NVIDIA or AMD. A BMC's
// display chip (ASPEED, Matrox) and NVIDIA's NVSwitch bridges (0x0680) are not GPUs.
bool gpu_pci_class(const hwloc_obj_attr_u::hwloc_pcidev_attr_s& p) {
  if (p.vendor_id != kNvidia && p.vendor_id != kAmd) return false;
  return p.class_id == 0x0300 || p.class_id == 0x0302 || p.class_id == 0x0380 || p.class_id == 0x1200;
}

const char* info(hwloc_obj_t o, const char* name) {
  const char* v = hwloc_obj_get_info_by_name(o, name);
  return v && *v ? v : nullptr;
}

GpuDevice describe_gpu(hwloc_obj_t pci, int physical) {
  const auto& p = pci->attr->pcidev;
  GpuDevice g;
  g.physical = physical;
  g.vendor = p.vendor_id == kNvidia ? "NVIDIA" : p.vendor_id == kAmd ? "AMD" : "other";
  char bus[32];
  std::snprintf(bus, sizeof bus, "%04x:%02x:%02x.%01x", p.domain, p.bus, p.dev, p.func);
  g.pci_bus_id = bus;
  for (hwloc_obj_t c = pci->io_first_child; c; c = c->next_sibling) {
    if (c->type != HWLOC_OBJ_OS_DEVICE) continue;
    if (g.name.empty())
      if (const char* model = info(c, "GPUModel")) g.name = model;
    for (unsigned i = 0; i < c->infos_count && g.uuid.empty(); ++i) {
      std::string key = c->infos[i].name ? c->infos[i].name : "";
      if (key.size() >= 4 && key.compare(key.size() - 4, 4, "UUID") == 0 && c->infos[i].value) g.uuid = c->infos[i].value;
    }
  }
  if (g.name.empty()) {
    if (const char* dev = info(pci, "PCIDevice")) g.name = dev;
    else {
      char id[48];
      std::snprintf(id, sizeof id, "%s [%04x:%04x]", g.vendor.c_str(), p.vendor_id, p.device_id);
      g.name = id;
    }
  }
  return g;
}

std::vector<GpuDevice> find_gpus(hwloc_topology_t topo) {
  std::vector<GpuDevice> gpus;
  for (hwloc_obj_t pci = hwloc_get_next_pcidev(topo, nullptr); pci; pci = hwloc_get_next_pcidev(topo, pci)) {
    bool gpu = gpu_pci_class(pci->attr->pcidev);
    for (hwloc_obj_t c = pci->io_first_child; c && !gpu; c = c->next_sibling) gpu = compute_osdev(c);
    if (gpu) gpus.push_back(describe_gpu(pci, int(gpus.size())));  // one per PCI device, not per OS device
  }
  return gpus;
}

// Every core's PUs within `set`, in topology order (a socket's cores are
// contiguous); PUs no core level covers come last, one "core" each.
std::vector<std::vector<unsigned>> cores_within(hwloc_topology_t topo, hwloc_const_bitmap_t set) {
  std::vector<std::vector<unsigned>> per_core;
  hwloc_bitmap_t left = hwloc_bitmap_dup(set);
  int ncores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
  for (int i = 0; i < ncores; ++i) {
    hwloc_obj_t core = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, unsigned(i));
    std::vector<unsigned> pus;
    int pu;
    hwloc_bitmap_foreach_begin(pu, core->cpuset) {
      if (hwloc_bitmap_isset(set, unsigned(pu))) pus.push_back(unsigned(pu));
    }
    hwloc_bitmap_foreach_end();
    hwloc_bitmap_andnot(left, left, core->cpuset);
    if (!pus.empty()) per_core.push_back(std::move(pus));
  }
  int pu;
  hwloc_bitmap_foreach_begin(pu, left) { per_core.push_back({unsigned(pu)}); }
  hwloc_bitmap_foreach_end();
  hwloc_bitmap_free(left);
  return per_core;
}

bool file_exists(const char* path) {
  struct stat st;
  return ::stat(path, &st) == 0;
}

}  // namespace

HwlocHandle::HwlocHandle(const std::string& xml_file) {
  const char* env_xml = std::getenv("HWLOC_XMLFILE");
  if (xml_file.empty() && env_xml && *env_xml && !file_exists(env_xml))
    throw Error(std::string("raympi: HWLOC_XMLFILE='") + env_xml +
                "' does not exist (hwloc would silently describe this machine instead); fix the path or unset it");
  if (hwloc_topology_init(&topo_) != 0) throw Error("raympi: hwloc_topology_init failed");
  // Without this, hwloc drops bridges, PCI and OS devices, also from XML: no GPU would be seen.
  hwloc_topology_set_io_types_filter(topo_, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
  if (!xml_file.empty() && hwloc_topology_set_xml(topo_, xml_file.c_str()) != 0) {
    hwloc_topology_destroy(topo_);
    throw Error("raympi: hwloc cannot read the topology file '" + xml_file + "'");
  }
  if (hwloc_topology_load(topo_) != 0) {
    hwloc_topology_destroy(topo_);
    throw Error("raympi: hwloc_topology_load failed; check HWLOC_XMLFILE / HWLOC_SYNTHETIC");
  }
}

HwlocHandle::~HwlocHandle() { hwloc_topology_destroy(topo_); }

Machine describe_machine(const HwlocHandle& h) {
  hwloc_topology_t topo = h.get();
  Machine m;
  m.host = host_name();
  m.this_system = hwloc_topology_is_thissystem(topo);
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  // The rank's own binding (mpirun --bind-to, srun --cpus-per-task) where the
  // topology is this machine; a file's machine has no binding: all its PUs.
  bool bound = m.this_system && hwloc_get_cpubind(topo, set, HWLOC_CPUBIND_PROCESS) == 0;
  if (bound) hwloc_bitmap_and(set, set, hwloc_topology_get_allowed_cpuset(topo));
  if (!bound || hwloc_bitmap_iszero(set)) hwloc_bitmap_copy(set, hwloc_topology_get_allowed_cpuset(topo));
  m.core_pus = cores_within(topo, hwloc_topology_get_allowed_cpuset(topo));
  std::vector<unsigned> own;
  int pu;
  hwloc_bitmap_foreach_begin(pu, set) { own.push_back(unsigned(pu)); }
  hwloc_bitmap_foreach_end();
  hwloc_bitmap_free(set);
  m.gpus = find_gpus(topo);
  return narrowed_machine(m, own);  // the rank's cpuset, its PUs cores first, its cores
}

Machine load_machine(const std::string& xml_file) { return describe_machine(HwlocHandle(xml_file)); }

const HwlocHandle& process_topology() {
  static HwlocHandle* handle = new HwlocHandle();  // kept for the process's life: worker threads bind through it
  return *handle;
}

const Machine& local_machine() {
  static const Machine m = describe_machine(process_topology());
  return m;
}

std::string topology_summary() {
  hwloc_topology_t topo = process_topology().get();
  auto count = [&](hwloc_obj_type_t t, const char* what) {
    int n = hwloc_get_nbobjs_by_type(topo, t);
    return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
  };
  std::string s = count(HWLOC_OBJ_PACKAGE, "package") + ", " + count(HWLOC_OBJ_CORE, "core") + ", " +
                  count(HWLOC_OBJ_PU, "PU") + ", " + count(HWLOC_OBJ_NUMANODE, "NUMA node");
  if (hwloc_obj_t root = hwloc_get_root_obj(topo); root && root->total_memory)
    s += ", " + std::to_string(root->total_memory >> 20) + " MiB memory";
  return s;
}

std::string pu_list(const std::vector<unsigned>& pus) {
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  for (unsigned pu : pus) hwloc_bitmap_set(set, pu);
  char* text = nullptr;
  hwloc_bitmap_list_asprintf(&text, set);
  std::string s = text ? text : "";
  std::free(text);
  hwloc_bitmap_free(set);
  return s;
}

std::vector<unsigned> parse_pu_list(const std::string& list) {
  std::vector<unsigned> out;
  hwloc_bitmap_t set = hwloc_bitmap_alloc();
  if (hwloc_bitmap_list_sscanf(set, list.c_str()) == 0) {
    int pu;
    hwloc_bitmap_foreach_begin(pu, set) { out.push_back(unsigned(pu)); }
    hwloc_bitmap_foreach_end();
  }
  hwloc_bitmap_free(set);
  return out;
}

std::vector<std::vector<unsigned>> cores_in(const Machine& m, const std::set<unsigned>& pool) {
  std::vector<std::vector<unsigned>> cores;
  std::set<unsigned> seen;
  for (auto& core : m.core_pus) {
    std::vector<unsigned> in;
    for (unsigned pu : core)
      if (pool.count(pu)) in.push_back(pu), seen.insert(pu);
    if (!in.empty()) cores.push_back(std::move(in));
  }
  for (unsigned pu : pool)
    if (!seen.count(pu)) cores.push_back({pu});
  return cores;
}

Machine narrowed_machine(const Machine& m, const std::vector<unsigned>& pus) {
  Machine n = m;
  auto cores = cores_in(m, std::set<unsigned>(pus.begin(), pus.end()));
  n.pus = cores_first(cores);
  n.cores = int(cores.size());
  n.cpuset = pu_list(pus);
  return n;
}

// First PU of every core, then the second of every core, ...: workers fill
// cores before they share one with a hyperthread sibling.
std::vector<unsigned> cores_first(const std::vector<std::vector<unsigned>>& core_pus) {
  std::vector<unsigned> order;
  for (std::size_t level = 0;; ++level) {
    std::size_t before = order.size();
    for (auto& c : core_pus)
      if (level < c.size()) order.push_back(c[level]);
    if (order.size() == before) break;
  }
  return order;
}

int cpuset_pu_count() { return std::max<int>(1, int(local_machine().pus.size())); }

std::string host_name() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof buf - 1) != 0) return "unknown";
  return buf;
}

}  // namespace raympi::detail
