#pragma once
// Placement groups, the pure part: where a group's bundles go (the global
// scheduler's plan), and how a reserved bundle shows in a node's resources.
//
// A node reserves a bundle by turning its amounts into resources of the
// bundle's own (as Ray does): CPU=2 of bundle 1 of group 7 becomes
// "@pg7/1/CPU"=2 plus "@pg7/*/CPU"=2 (the wildcard that work placed in
// "any bundle" draws on). Work placed in a bundle demands those names
// instead of CPU/GPU/custom, so the local scheduler's ordinary accounting
// keeps it inside the reservation, and the node's own free amounts show the
// reservation as taken.

#include <cstdint>
#include <string>
#include <vector>

#include "raympi/placement_group.hpp"
#include "scheduler/resources.hpp"

namespace raympi::detail {

/// A bundle map as a demand (a missing CPU is 0, not the task default of 1);
/// throws a clear Error for negative, empty or all-zero bundles.
ResourceDemand bundle_demand(const Bundle& b, std::size_t index);

/// @brief A candidate node for a group: what it can still give to groups.
struct PgNode {
  int rank = -1;
  ResourceSet capacity;
};

/// The node rank of each bundle, or empty when `strategy` cannot place them
/// on `nodes` as they are (amounts are taken from a copy). Deterministic:
/// pack and strict_pack fill the node with the least room left that fits,
/// spread and strict_spread prefer the node with the most room.
std::vector<int> plan_bundles(const std::vector<ResourceDemand>& bundles, Strategy strategy,
                              std::vector<PgNode> nodes);

/// The name a bundle's share of `resource` takes on its node ("@pg7/1/CPU"; index -1: "@pg7/*/CPU").
std::string bundle_resource(std::uint64_t group, int index, const std::string& resource);
/// True when `d` draws on a placement group's reservation.
bool is_bundle_demand(const ResourceDemand& d);
/// The group whose reservation `d` draws on (0: none).
std::uint64_t group_of(const ResourceDemand& d);
/// True when `d` draws on group `group`'s reservation.
bool uses_group(const ResourceDemand& d, std::uint64_t group);
/// True for the names bundle_resource makes (hidden from nodes() and available_resources()).
bool is_bundle_resource(const std::string& name);
/// `d` as work in bundle `index` (-1: any bundle) of `group` demands it: its
/// CPU, GPU and custom amounts become the bundle's names. Names already of a
/// bundle stay (placing a retried task again changes nothing).
ResourceDemand in_bundle(const ResourceDemand& d, std::uint64_t group, int index);
/// What a node adds to its resources when it commits `bundles` (index, amounts) of `group`.
ResourceDemand committed_resources(std::uint64_t group, const std::vector<std::pair<int, ResourceDemand>>& bundles);
/// The bundle CPU names of `d` alone (a task blocked in get/wait lends them
/// to its bundle's other work, as it lends plain CPUs).
ResourceDemand bundle_cpus(const ResourceDemand& d);
/// The GPUs `d` takes ids for: its own plus those of its bundle (work placed in
/// a bundle is given GPU ids from the node's pool like any other).
inline double gpus_of(const ResourceDemand& d) {
  double n = d.gpu;
  for (auto& [k, v] : d.custom)
    if (k.size() > 6 && k[0] == '@' && k.compare(k.size() - 6, 6, "/*/GPU") == 0) n += v;  // the any-bundle name
  return n;
}
/// A released group's reservation back into a node's free resources `avail`:
/// what its running work does not use returns at once and the group's names
/// go; returns the amounts still in use (the debt collect_group takes back).
ResourceDemand give_back_group(ResourceSet& avail, std::uint64_t group, const ResourceDemand& base);
/// Moves what the group's ended work gave back (its names reappear as it
/// ends) into the plain resources, up to `debt`, which shrinks; true when paid
/// (the group's names are gone then).
bool collect_group(ResourceSet& avail, std::uint64_t group, ResourceDemand& debt);
/// The sum of several demands.
ResourceDemand sum_demands(const std::vector<ResourceDemand>& ds);

}  // namespace raympi::detail
