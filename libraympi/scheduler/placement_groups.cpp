#include "scheduler/placement_groups.hpp"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <numeric>

namespace raympi::detail {

namespace {

constexpr const char* kPrefix = "@pg";
// strict_spread searches assignments; beyond this many steps it gives up for
// now (the group waits and is tried again), so a plan never stalls the GS.
constexpr int kSearchSteps = 100000;

// How much a node or bundle holds, to order them: GPUs weigh more than CPUs.
double size_of(const ResourceSet& r) {
  double s = r.cpu + 8 * r.gpu;
  for (auto& [k, v] : r.custom) s += 0.001 * v;
  return s;
}
double size_of(const ResourceDemand& d) {
  double s = d.cpu + 8 * d.gpu;
  for (auto& [k, v] : d.custom) s += 0.001 * v;
  return s;
}

// Each resource of `d` with its amount, CPU and GPU first (zero amounts left out).
template <class F>
void each_amount(const ResourceDemand& d, F f) {
  if (d.cpu > 0) f(std::string("CPU"), d.cpu);
  if (d.gpu > 0) f(std::string("GPU"), d.gpu);
  for (auto& [k, v] : d.custom)
    if (v > 0) f(k, v);
}

void add(ResourceDemand& to, const std::string& name, double amount) {
  double have = 0;
  if (name == "CPU") have = to.cpu;
  else if (name == "GPU") have = to.gpu;
  else
    for (auto& [k, v] : to.custom)
      if (k == name) have = v;
  to.set(name, have + amount);
}

// Bundle indices, largest first (ties: in order): the hard ones are placed first.
std::vector<std::size_t> largest_first(const std::vector<ResourceDemand>& bundles) {
  std::vector<std::size_t> order(bundles.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return size_of(bundles[a]) > size_of(bundles[b]); });
  return order;
}

std::vector<int> strict_pack(const std::vector<ResourceDemand>& bundles, const std::vector<PgNode>& nodes) {
  ResourceDemand all = sum_demands(bundles);
  const PgNode* best = nullptr;
  for (auto& n : nodes)
    if (n.capacity.fits(all) && (!best || size_of(n.capacity) < size_of(best->capacity))) best = &n;
  if (!best) return {};
  return std::vector<int>(bundles.size(), best->rank);
}

// pack (prefer_used) or spread: one bundle at a time, largest first.
std::vector<int> greedy(const std::vector<ResourceDemand>& bundles, std::vector<PgNode>& nodes, bool pack) {
  std::vector<int> out(bundles.size(), -1);
  std::vector<int> count(nodes.size(), 0);  // bundles placed per node
  for (std::size_t b : largest_first(bundles)) {
    int best = -1;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
      if (!nodes[i].capacity.fits(bundles[b])) continue;
      if (best < 0) { best = int(i); continue; }
      const double room = size_of(nodes[i].capacity), best_room = size_of(nodes[best].capacity);
      bool better = pack ? (count[i] > 0) != (count[best] > 0) ? count[i] > 0 : room < best_room
                         : count[i] != count[best] ? count[i] < count[best] : room > best_room;
      if (better) best = int(i);
    }
    if (best < 0) return {};
    nodes[best].capacity.take(bundles[b]);
    ++count[best];
    out[b] = nodes[best].rank;
  }
  return out;
}

bool spread_search(const std::vector<ResourceDemand>& bundles, const std::vector<std::size_t>& order, std::size_t k,
                   std::vector<PgNode>& nodes, std::vector<char>& used, std::vector<int>& out, int& steps) {
  if (k == order.size()) return true;
  if (++steps > kSearchSteps) return false;
  const ResourceDemand& b = bundles[order[k]];
  // Roomiest first: the first full assignment found leaves small nodes for small bundles.
  std::vector<std::size_t> cand;
  for (std::size_t i = 0; i < nodes.size(); ++i)
    if (!used[i] && nodes[i].capacity.fits(b)) cand.push_back(i);
  std::stable_sort(cand.begin(), cand.end(), [&](std::size_t x, std::size_t y) {
    return size_of(nodes[x].capacity) > size_of(nodes[y].capacity);
  });
  for (std::size_t i : cand) {
    used[i] = 1;
    out[order[k]] = nodes[i].rank;
    if (spread_search(bundles, order, k + 1, nodes, used, out, steps)) return true;
    used[i] = 0;
  }
  return false;
}

double amount_of(const ResourceDemand& d, const std::string& name) {
  if (name == "CPU") return d.cpu;
  if (name == "GPU") return d.gpu;
  for (auto& [k, v] : d.custom)
    if (k == name) return v;
  return 0;
}

double& slot_of(ResourceSet& s, const std::string& name) {
  if (name == "CPU") return s.cpu;
  if (name == "GPU") return s.gpu;
  return s.custom[name];
}

void erase_names(ResourceSet& s, std::uint64_t group) {
  const std::string prefix = kPrefix + std::to_string(group) + "/";
  std::erase_if(s.custom, [&](auto& kv) { return kv.first.rfind(prefix, 0) == 0; });
}

}  // namespace

ResourceDemand give_back_group(ResourceSet& avail, std::uint64_t group, const ResourceDemand& base) {
  ResourceDemand debt(0);
  each_amount(base, [&](const std::string& name, double amount) {
    // The any-bundle name holds the sum of the node's bundles: what it lacks is in use.
    auto it = avail.custom.find(bundle_resource(group, -1, name));
    const double free = it == avail.custom.end() ? 0 : it->second;
    const double in_use = std::clamp(amount - free, 0.0, amount);
    slot_of(avail, name) += amount - in_use;
    if (in_use > 0) debt.set(name, in_use);
  });
  erase_names(avail, group);
  return debt;
}

bool collect_group(ResourceSet& avail, std::uint64_t group, ResourceDemand& debt) {
  bool paid = true;
  ResourceDemand left(0);
  each_amount(debt, [&](const std::string& name, double owed) {
    auto it = avail.custom.find(bundle_resource(group, -1, name));
    const double back = it == avail.custom.end() ? 0 : std::clamp(it->second, 0.0, owed);
    if (back > 0) {
      it->second -= back;
      slot_of(avail, name) += back;
    }
    if (owed - back > 1e-9) {
      left.set(name, owed - back);
      paid = false;
    }
  });
  debt = left;
  if (paid) erase_names(avail, group);
  return paid;
}

ResourceDemand bundle_demand(const Bundle& b, std::size_t index) {
  ResourceDemand d(0);
  bool any = false;
  for (auto& [name, amount] : b) {
    if (name.empty() || is_bundle_resource(name))
      throw Error("raympi::placement_group: bundle " + std::to_string(index) + " names a resource '" + name +
                  "'; use \"CPU\", \"GPU\" or a custom resource name");
    if (!(amount >= 0))
      throw Error("raympi::placement_group: bundle " + std::to_string(index) + " asks for " + name + "=" +
                  std::to_string(amount) + "; amounts must be >= 0");
    any |= amount > 0;
    d.set(name, amount);
  }
  if (!any)
    throw Error("raympi::placement_group: bundle " + std::to_string(index) +
                " reserves nothing; give every bundle a positive amount, e.g. {{\"CPU\", 1}}");
  return d;
}

ResourceDemand sum_demands(const std::vector<ResourceDemand>& ds) {
  ResourceDemand all(0);
  for (auto& d : ds) each_amount(d, [&](const std::string& k, double v) { add(all, k, v); });
  return all;
}

std::vector<int> plan_bundles(const std::vector<ResourceDemand>& bundles, Strategy strategy,
                              std::vector<PgNode> nodes) {
  if (bundles.empty()) return {};
  switch (strategy) {
    case Strategy::strict_pack: return strict_pack(bundles, nodes);
    case Strategy::pack: {
      std::vector<int> one = strict_pack(bundles, nodes);
      return one.empty() ? greedy(bundles, nodes, true) : one;
    }
    case Strategy::spread: return greedy(bundles, nodes, false);
    case Strategy::strict_spread: {
      if (bundles.size() > nodes.size()) return {};
      std::vector<char> used(nodes.size(), 0);
      std::vector<int> out(bundles.size(), -1);
      int steps = 0;
      if (!spread_search(bundles, largest_first(bundles), 0, nodes, used, out, steps)) return {};
      return out;
    }
  }
  return {};
}

std::string bundle_resource(std::uint64_t group, int index, const std::string& resource) {
  return kPrefix + std::to_string(group) + "/" + (index < 0 ? std::string("*") : std::to_string(index)) + "/" +
         resource;
}

bool is_bundle_resource(const std::string& name) { return name.rfind(kPrefix, 0) == 0; }

ResourceDemand bundle_cpus(const ResourceDemand& d) {
  ResourceDemand out(0);
  for (auto& [k, v] : d.custom)
    if (is_bundle_resource(k) && k.size() > 4 && k.compare(k.size() - 4, 4, "/CPU") == 0) out.set(k, v);
  return out;
}

bool is_bundle_demand(const ResourceDemand& d) {
  for (auto& [k, v] : d.custom)
    if (is_bundle_resource(k)) return true;
  return false;
}

std::uint64_t group_of(const ResourceDemand& d) {
  for (auto& [k, v] : d.custom)
    if (is_bundle_resource(k)) return std::strtoull(k.c_str() + std::strlen(kPrefix), nullptr, 10);
  return 0;
}

bool uses_group(const ResourceDemand& d, std::uint64_t group) {
  const std::string prefix = kPrefix + std::to_string(group) + "/";
  for (auto& [k, v] : d.custom)
    if (k.rfind(prefix, 0) == 0) return true;
  return false;
}

ResourceDemand in_bundle(const ResourceDemand& d, std::uint64_t group, int index) {
  ResourceDemand out(0);
  each_amount(d, [&](const std::string& name, double amount) {
    if (is_bundle_resource(name)) {
      out.set(name, amount);
      return;
    }
    if (index >= 0) out.set(bundle_resource(group, index, name), amount);
    out.set(bundle_resource(group, -1, name), amount);
  });
  return out;
}

ResourceDemand committed_resources(std::uint64_t group, const std::vector<std::pair<int, ResourceDemand>>& bundles) {
  ResourceDemand out(0);
  for (auto& [index, b] : bundles)
    each_amount(b, [&](const std::string& name, double amount) {
      add(out, bundle_resource(group, index, name), amount);
      add(out, bundle_resource(group, -1, name), amount);
    });
  return out;
}

}  // namespace raympi::detail
