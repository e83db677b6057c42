// Splitting a host's PUs among the node ranks that share it.
#include "topology/host_share.hpp"

#include <algorithm>
#include <functional>
#include <numeric>
#include <set>

namespace raympi::detail {

namespace {

bool overlap(const std::set<unsigned>& a, const std::set<unsigned>& b) {
  for (unsigned x : a)
    if (b.count(x)) return true;
  return false;
}

// Splits `pool` among `n` ranks: contiguous blocks of whole cores, else of
// PUs, else one PU each round-robin (shared).
std::vector<std::vector<unsigned>> split_pool(const Machine& m, const std::set<unsigned>& pool, std::size_t n) {
  auto cores = cores_in(m, pool);
  std::vector<std::vector<unsigned>> grants(n);
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
  for (auto& c : cpusets) {
    auto pus = parse_pu_list(c);
    sets.emplace_back(pus.begin(), pus.end());
  }
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
    auto grants = split_pool(m, pool, members.size());
    std::vector<std::set<unsigned>> granted(members.size());
    for (std::size_t k = 0; k < members.size(); ++k) {
      HostShare& s = out[members[k]];
      for (unsigned pu : grants[k])
        if (sets[members[k]].count(pu)) s.pus.push_back(pu);
      // Partly overlapping cpusets can leave a rank nothing of its own: it keeps its cpuset.
      if (s.pus.empty()) s.pus.assign(sets[members[k]].begin(), sets[members[k]].end());
      granted[k].insert(s.pus.begin(), s.pus.end());
    }
    for (std::size_t a = 0; a < members.size(); ++a)
      for (std::size_t b = 0; b < members.size(); ++b)
        if (a != b && overlap(granted[a], granted[b])) out[members[a]].shared_with.push_back(ranks[members[b]]);
  }
  return out;
}

std::string sharing_warning(const std::vector<int>& ranks, const std::vector<HostShare>& shares, const std::string& host) {
  std::string pairs;
  for (std::size_t i = 0; i < shares.size(); ++i)
    for (int other : shares[i].shared_with)
      if (other > ranks[i])
        pairs += std::string(pairs.empty() ? "" : ", ") + "ranks " + std::to_string(ranks[i]) + " and " +
                 std::to_string(other) + " on PU " + pu_list(shares[i].pus);
  if (pairs.empty()) return {};
  return "node ranks of host " + host + " must share PUs (" + std::to_string(ranks.size()) +
         " node ranks, fewer PUs than ranks): " + pairs +
         "; their workers compete for those PUs. Run fewer node ranks per host, or give each its own PUs "
         "(mpirun --map-by / srun --cpus-per-task)";
}

}  // namespace raympi::detail
