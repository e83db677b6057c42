#include "scheduler/resources.hpp"

#include <algorithm>
#include <cstdio>

namespace raympi::detail {

namespace {
constexpr double kEps = 1e-9;
}

void ResourceDemand::set(const std::string& name, double amount) {
  if (name == "CPU") { cpu = amount; return; }
  if (name == "GPU") { gpu = amount; return; }
  auto it = std::lower_bound(custom.begin(), custom.end(), name,
                             [](const auto& p, const std::string& n) { return p.first < n; });
  if (it != custom.end() && it->first == name) it->second = amount;
  else custom.insert(it, {name, amount});
}

bool ResourceSet::fits(const ResourceDemand& d) const {
  if (d.cpu > cpu + kEps || d.gpu > gpu + kEps) return false;
  for (auto& [name, amount] : d.custom) {
    if (amount <= 0) continue;
    auto it = custom.find(name);
    if (it == custom.end() || amount > it->second + kEps) return false;
  }
  return true;
}

void ResourceSet::take(const ResourceDemand& d) {
  cpu -= d.cpu;
  gpu -= d.gpu;
  for (auto& [name, amount] : d.custom) custom[name] -= amount;
}

void ResourceSet::give(const ResourceDemand& d) {
  cpu += d.cpu;
  gpu += d.gpu;
  for (auto& [name, amount] : d.custom) custom[name] += amount;
}

std::map<std::string, double> ResourceSet::as_map() const {
  std::map<std::string, double> m = custom;
  m["CPU"] = cpu;
  m["GPU"] = gpu;
  return m;
}

ResourceSet ResourceSet::from_map(const std::map<std::string, double>& m) {
  ResourceSet r;
  for (auto& [k, v] : m) {
    if (k == "CPU") r.cpu = v;
    else if (k == "GPU") r.gpu = v;
    else r.custom[k] = v;
  }
  return r;
}

std::string describe(const ResourceDemand& d) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "CPU=%g", d.cpu);
  std::string s = buf;
  if (d.gpu > 0) {
    std::snprintf(buf, sizeof buf, ", GPU=%g", d.gpu);
    s += buf;
  }
  for (auto& [k, v] : d.custom) {
    std::snprintf(buf, sizeof buf, "=%g", v);
    s += ", " + k + buf;
  }
  return s;
}

}  // namespace raympi::detail
