#pragma once
// Node ranks that share a host and whose cpusets overlap (plain `mpirun -np 4`
// leaves ranks unbound: every one sees the whole machine) would each plan
// their workers on the same first PUs. They agree instead on disjoint shares
// of the PUs they can all see, each computed the same way on every rank.

#include <string>
#include <vector>

#include "topology/topology.hpp"

namespace raympi::detail {

/// @brief The PUs one co-located node rank may use, and whom it shares them with.
struct HostShare {
  std::vector<unsigned> pus;     // the PUs granted, in topology order
  std::vector<int> shared_with;  // other ranks granted one of these PUs too (too few PUs for the ranks)
};

/// The shares of the node ranks `ranks` of one host, whose cpusets (hwloc list
/// syntax) are `cpusets`. Ranks whose cpusets overlap (directly or through
/// another rank) split the union of their cpusets: whole cores in contiguous
/// blocks (topology order, so a block stays within a socket where the split
/// allows) when there are at least as many cores as ranks; else single PUs;
/// else PUs round-robin, shared. A rank alone in its group keeps its cpuset.
/// `m` supplies the cores (Machine::core_pus).
std::vector<HostShare> share_host(const Machine& m, const std::vector<int>& ranks,
                                  const std::vector<std::string>& cpusets);

/// The warning for ranks that must share PUs ("" when none do): names the
/// ranks, the PUs and the fix.
std::string sharing_warning(const std::vector<int>& ranks, const std::vector<HostShare>& shares, const std::string& host);

}  // namespace raympi::detail
