// Which of the machine's GPUs this rank may use: Slurm's allocation, then the
// device-list variables of CUDA, ROCm and HIP.
#include <cstdlib>
#include <set>

#include "base/log.hpp"
#include "topology/topology.hpp"

namespace raympi::detail {

namespace {

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(pos, comma - pos);
    auto first = item.find_first_not_of(" \t"), last = item.find_last_not_of(" \t");
    if (first != std::string::npos) out.push_back(item.substr(first, last - first + 1));
    pos = comma + 1;
  }
  return out;
}

std::optional<int> as_index(const std::string& s) {
  if (s.empty() || s.size() > 6 || s.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  return std::stoi(s);
}

// Narrows `from` by one device list. Integers are positions in `from` (the
// devices the variable's consumer sees) or, with `physical_ok`, the machine's
// device numbers when every one of them names a device of `from` (Slurm
// without device cgroups writes its own numbers into CUDA_VISIBLE_DEVICES;
// with cgroups the devices are renumbered from 0). Other entries are UUIDs or
// unique UUID prefixes, as CUDA accepts them.
std::vector<GpuDevice> narrow(const std::vector<GpuDevice>& from, const std::string& var, const std::string& value,
                              bool physical_ok, std::vector<std::string>* notes) {
  auto entries = split_list(value);
  auto by_physical = [&](int n) -> const GpuDevice* {
    for (auto& g : from)
      if (g.physical == n) return &g;
    return nullptr;
  };
  bool physical = physical_ok && !entries.empty();
  for (auto& e : entries) {
    auto n = as_index(e);
    if (n && !by_physical(*n)) physical = false;
  }
  std::vector<GpuDevice> out;
  std::set<std::string> taken;
  for (auto& e : entries) {
    const GpuDevice* g = nullptr;
    if (auto n = as_index(e)) {
      g = physical ? by_physical(*n) : (*n < int(from.size()) ? &from[std::size_t(*n)] : nullptr);
    } else {
      for (auto& cand : from)
        if (!cand.uuid.empty() && cand.uuid.compare(0, e.size(), e) == 0) {
          if (g) { g = nullptr; break; }  // an ambiguous prefix names nothing
          g = &cand;
        }
    }
    if (!g) {
      if (notes) notes->push_back(var + ": entry '" + e + "' names none of the " + std::to_string(from.size()) +
                                  " GPU(s) left to it; ignored");
      continue;
    }
    if (taken.insert(g->pci_bus_id).second) out.push_back(*g);
  }
  return out;
}

// Applies the first variable of `vars` that is set (set but empty: no device).
std::vector<GpuDevice> narrow_first_set(const std::vector<GpuDevice>& from, const EnvLookup& env,
                                        std::initializer_list<const char*> vars, bool physical_ok, bool& applied,
                                        std::vector<std::string>* notes) {
  applied = false;
  for (const char* var : vars)
    if (auto v = env(var)) {
      applied = true;
      return from.empty() ? from : narrow(from, var, *v, physical_ok, notes);  // no GPU of that kind: nothing to say
    }
  return from;
}

}  // namespace

EnvLookup process_env() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  };
}

EnvLookup env_from(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::vector<GpuDevice> visible_gpus(const std::vector<GpuDevice>& found, const EnvLookup& env,
                                    std::vector<std::string>* notes) {
  bool slurm = false;
  // Slurm's lists hold the machine's device numbers: positions in `found`.
  std::vector<GpuDevice> allocated =
      narrow_first_set(found, env, {"SLURM_STEP_GPUS", "SLURM_JOB_GPUS"}, false, slurm, notes);
  std::vector<GpuDevice> nvidia, amd;
  for (auto& g : allocated) (g.vendor == "AMD" ? amd : nvidia).push_back(g);
  bool applied = false;
  // NVIDIA: CUDA_VISIBLE_DEVICES, else GPU_DEVICE_ORDINAL (Slurm sets both).
  nvidia = narrow_first_set(nvidia, env, {"CUDA_VISIBLE_DEVICES", "GPU_DEVICE_ORDINAL"}, slurm, applied, notes);
  // AMD: ROCR_VISIBLE_DEVICES first (the ROCm runtime), then HIP's list on
  // what ROCR left (HIP also honours CUDA_VISIBLE_DEVICES).
  bool rocr = false;
  amd = narrow_first_set(amd, env, {"ROCR_VISIBLE_DEVICES"}, slurm, rocr, notes);
  amd = narrow_first_set(amd, env, {"HIP_VISIBLE_DEVICES", "CUDA_VISIBLE_DEVICES"}, slurm && !rocr, applied, notes);
  if (!rocr && !applied) amd = narrow_first_set(amd, env, {"GPU_DEVICE_ORDINAL"}, slurm, applied, notes);
  // NVIDIA devices first, then AMD ones (a node rarely has both); each in its list's order.
  nvidia.insert(nvidia.end(), amd.begin(), amd.end());
  return nvidia;
}

const std::vector<GpuDevice>& local_visible_gpus() {
  static const std::vector<GpuDevice> gpus = [] {
    std::vector<std::string> notes;
    auto v = visible_gpus(local_machine().gpus, process_env(), &notes);
    for (auto& n : notes) RAYMPI_LOG_WARN("GPU discovery: {}", n);
    return v;
  }();
  return gpus;
}

}  // namespace raympi::detail
