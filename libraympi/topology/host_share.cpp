// Splitting a host's PUs among the node ranks that share it.
#include "topology/host_share.hpp"

#include <hwloc.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <numeric>
#include <set>

namespace raympi::detail {

namespace {

std::set<unsigned> parse_list(const std::string& list) {
  std::set<unsigned> out;
  hwloc_bitmap_t b = hwloc_bitmap_alloc();
  if (hwloc_bitmap_list_sscanf(b, list.c_str()) == 0) {
    int pu;
    hwloc_bitmap_foreach_begin(pu, b) { out.insert(unsigned(pu)); }
    hwloc_bitmap_foreach_end();
  }
  hwloc_bitmap_free(b);
  return out;
}

std::string list_of(const std::vector<unsigned>& pus) {
  hwloc_bitmap_t b = hwloc_bitmap_alloc();
  for (unsigned pu : pus) hwloc_bitmap_set(b, pu);
  char* text = nullptr;
  hwloc_bitmap_list_asprintf(&text, b);
  std::string s = text ? text : "";
  std::free(text);
  hwloc_bitmap_free(b);
  return s;
}

bool overlap(const std::set<unsigned>& a, const std::set<unsigned>& b) {
  for (unsigned x : a)
    if (b.count(x)) return true;
  return false;
}

// The cores of `m` restricted to `pool`, in topology order; PUs of the pool no
// core lists come last, one "core" each.
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

// Splits `pool` among `n` ranks: contiguous blocks of whole cores, else of
// PUs, else one PU each round-robin (then `shared` is set).
std::vector<std::vector<unsigned>> split_pool(const Machine& m, const std::set<unsigned>& pool, std::size_t n,
                                              bool& shared) {
  auto cores = cores_in(m, pool);
  std::vector<std::vector<unsigned>> grants(n);
  shared = false;
  if (cores.size() >= n) {
    for (std::size_t k = 0; k < n; ++k)
      for (std::size_t c = k * cores.size() / n; c < (k + 1) * cores.size() / n; ++c)
        grants[k].insert(grants[k].end(), cores[c].begin(), cores[c].end());
  } else {
    std::vector<unsigned> flat;  // core-major: a core's hyperthreads stay together
    for (auto& c : cores) flat.insert(flat.end(), c.begin(), c.end());
    if (flat.size() >= n) {
      for (std::size_t k = 0; k < n; ++k)
        grants[k].assign(flat.begin() + long(k * flat.size() / n), flat.begin() + long((k + 1) * flat.size() / n));
    } else {
      shared = true;
      for (std::size_t k = 0; k < n; ++k) grants[k] = {flat[k % flat.size()]};
    }
  }
  for (auto& g : grants) std::sort(g.begin(), g.end());
  return grants;
}

}  // namespace

std::vector<HostShare> share_host(const Machine& m, const std::vector<int>& ranks,
                                  const std::vector<std::string>& cpusets) {
  const std::size_t n = ranks.size();
  std::vector<std::set<unsigned>> sets;
  for (auto& c : cpusets) sets.push_back(parse_list(c));
  // Groups of ranks whose cpusets overlap, directly or through another rank.
  std::vector<std::size_t> group(n);
  std::iota(group.begin(), group.end(), 0);
  std::function<std::size_t(std::size_t)> root = [&](std::size_t i) { return group[i] == i ? i : group[i] = root(group[i]); };
  for (std::size_t i = 0; i < n; ++i)
    for (std::size_t j = i + 1; j < n; ++j)
      if (overlap(sets[i], sets[j])) group[root(j)] = root(i);
  std::vector<HostShare> out(n);
  for (std::size_t g = 0; g < n; ++g) {
    std::vector<std::size_t> members;
    std::set<unsigned> pool;
    for (std::size_t i = 0; i < n; ++i)
      if (root(i) == g) members.push_back(i), pool.insert(sets[i].begin(), sets[i].end());
    if (members.empty()) continue;
    bool shared = false;
    auto grants = split_pool(m, pool, members.size(), shared);
    for (std::size_t k = 0; k < members.size(); ++k) {
      HostShare& s = out[members[k]];
      for (unsigned pu : grants[k])
        if (sets[members[k]].count(pu)) s.pus.push_back(pu);
      // Partly overlapping cpusets can leave a rank nothing of its own: it keeps its cpuset.
      if (s.pus.empty()) s.pus.assign(sets[members[k]].begin(), sets[members[k]].end());
    }
    for (std::size_t a : members)
      for (std::size_t b : members)
        if (a != b && overlap(std::set<unsigned>(out[a].pus.begin(), out[a].pus.end()),
                              std::set<unsigned>(out[b].pus.begin(), out[b].pus.end())))
          out[a].shared_with.push_back(ranks[b]);
  }
  return out;
}

Machine narrowed_machine(const Machine& m, const std::vector<unsigned>& pus) {
  Machine n = m;
  auto cores = cores_in(m, std::set<unsigned>(pus.begin(), pus.end()));
  n.pus = cores_first(cores);
  n.cores = int(cores.size());
  n.cpuset = list_of(pus);
  return n;
}

std::string sharing_warning(const std::vector<int>& ranks, const std::vector<HostShare>& shares, const std::string& host) {
  std::string pairs;
  for (std::size_t i = 0; i < shares.size(); ++i)
    for (int other : shares[i].shared_with)
      if (other > ranks[i])
        pairs += std::string(pairs.empty() ? "" : ", ") + "ranks " + std::to_string(ranks[i]) + " and " +
                 std::to_string(other) + " on PU " + list_of(shares[i].pus);
  if (pairs.empty()) return {};
  return "node ranks of host " + host + " must share PUs (" + std::to_string(ranks.size()) +
         " node ranks, fewer PUs than ranks): " + pairs +
         "; their workers compete for those PUs. Run fewer node ranks per host, or give each its own PUs "
         "(mpirun --map-by / srun --cpus-per-task)";
}

}  // namespace raympi::detail
