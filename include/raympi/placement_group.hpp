#pragma once
/// @file placement_group.hpp
/// @brief Placement groups: reserve resources on several nodes at once, all
/// or nothing (gang scheduling), then run tasks and actors in the reservation.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "raympi/errors.hpp"

namespace raympi {

/// @brief Where the bundles of a placement group go.
enum class Strategy : std::uint8_t {
  pack,          ///< as few nodes as possible (one when it fits)
  spread,        ///< as many nodes as possible (bundles may share a node when there are too few)
  strict_pack,   ///< every bundle on one node, else the group waits (or is infeasible)
  strict_spread  ///< every bundle on a different node, else the group waits (or is infeasible)
};

/// @brief Where a placement group stands.
enum class PlacementGroupState : std::uint8_t {
  pending,     ///< not placed yet: waits for resources (no partial reservation is held)
  created,     ///< every bundle is reserved on its node
  infeasible,  ///< no set of nodes of this job can ever hold it
  removed      ///< remove_placement_group was called
};

/// @brief A bundle: amounts of resources reserved together on one node, e.g. `{{"CPU", 2}, {"GPU", 1}}`.
using Bundle = std::map<std::string, double>;

/// @brief One bundle of a listed placement group.
struct BundleInfo {
  Bundle resources;
  int node_rank = -1;  ///< -1 until the group is created
};

/// @brief What `raympi::placement_groups()` lists for one group.
///
/// @code
/// for (const raympi::PlacementGroupInfo& g : raympi::placement_groups())
///   std::cout << g.name << ": bundle 0 on rank " << g.bundles[0].node_rank << '\n';
/// @endcode
struct PlacementGroupInfo {
  std::uint64_t id = 0;
  std::string name;
  Strategy strategy = Strategy::pack;
  PlacementGroupState state = PlacementGroupState::pending;
  std::vector<BundleInfo> bundles;
};

namespace detail {
std::uint64_t create_placement_group(const std::vector<Bundle>& bundles, Strategy strategy, const std::string& name);
/// True once created; false at the timeout; throws InfeasibleError / Error (removed).
bool wait_placement_group(std::uint64_t id, std::chrono::nanoseconds timeout);
void remove_placement_group(std::uint64_t id);
std::vector<PlacementGroupInfo> list_placement_groups();
}  // namespace detail

/// @brief A handle to a placement group: cheap, copyable, and serialisable
/// (a task may receive one and place its own children in it).
///
/// @code
/// raympi::PlacementGroup pg = raympi::placement_group({{{"CPU", 2}}, {{"CPU", 2}}}, raympi::Strategy::strict_spread);
/// if (!pg.wait(std::chrono::seconds(30))) std::cerr << "still waiting for resources\n";
/// auto r = raympi::task(step).placement_group(pg, 1).remote(x);   // runs in bundle 1, on its node
/// @endcode
class PlacementGroup {
 public:
  PlacementGroup() = default;
  PlacementGroup(std::uint64_t id, int bundle_count, std::string name)
      : id_(id), bundles_(bundle_count), name_(std::move(name)) {}

  /// Waits until every bundle is reserved: true, or false when `timeout`
  /// runs out first (a negative timeout waits forever). Throws
  /// `InfeasibleError` when no set of nodes of the job can ever hold the
  /// group, and `Error` when it was removed.
  template <class Rep, class Period>
  bool wait(std::chrono::duration<Rep, Period> timeout) const {
    return detail::wait_placement_group(checked_id("wait"),
                                        std::chrono::duration_cast<std::chrono::nanoseconds>(timeout));
  }
  /// Waits without a timeout.
  bool wait() const { return wait(std::chrono::nanoseconds(-1)); }
  /// The group's id (unique in the job; 0: an empty handle).
  std::uint64_t id() const { return id_; }
  int bundle_count() const { return bundles_; }
  const std::string& name() const { return name_; }
  bool valid() const { return id_ != 0; }
  /// Throws a clear Error unless `index` is -1 (any bundle) or a bundle of this group.
  void check_bundle(int index, const char* what) const {
    checked_id(what);
    if (index < -1 || index >= bundles_)
      throw Error(std::string("raympi: ") + what + ": bundle index " + std::to_string(index) +
                  " is not a bundle of placement group '" + name_ + "', which has " + std::to_string(bundles_) +
                  " bundles (0.." + std::to_string(bundles_ - 1) + "; -1: any bundle)");
  }
  template <class Archive>
  void serialize(Archive& ar) { ar(id_, bundles_, name_); }

 private:
  std::uint64_t checked_id(const char* what) const {
    if (id_ == 0)
      throw Error(std::string("raympi: ") + what +
                  ": an empty PlacementGroup handle; create one with raympi::placement_group(bundles, strategy)");
    return id_;
  }
  std::uint64_t id_ = 0;
  int bundles_ = 0;
  std::string name_;
};

/// @brief Asks the global scheduler to reserve every bundle at once (all or
/// nothing); returns at once. Use `wait` to know when the group is placed.
/// A bundle amount must be positive; resources are "CPU", "GPU" or custom names.
///
/// @code
/// raympi::PlacementGroup pg = raympi::placement_group(
///     {{{"CPU", 2}}, {{"CPU", 2}, {"GPU", 1}}}, raympi::Strategy::strict_spread, "train");
/// bool ready = pg.wait(std::chrono::seconds(30));
/// @endcode
inline PlacementGroup placement_group(const std::vector<Bundle>& bundles, Strategy strategy = Strategy::pack,
                                      const std::string& name = "") {
  std::uint64_t id = detail::create_placement_group(bundles, strategy, name);
  return PlacementGroup(id, int(bundles.size()), name.empty() ? "pg-" + std::to_string(id) : name);
}

/// @brief Frees the group's reservation on every node. Work still waiting
/// for it (queued, or submitted before it was placed) fails with an Error
/// naming the group; running work is not interrupted, and what it uses
/// returns to its node when it ends.
///
/// @code
/// raympi::remove_placement_group(pg);
/// @endcode
inline void remove_placement_group(const PlacementGroup& pg) {
  if (!pg.valid()) throw Error("raympi::remove_placement_group: an empty PlacementGroup handle");
  detail::remove_placement_group(pg.id());
}

/// @brief Every placement group of the job this rank knows (all of them,
/// once the global scheduler's news arrived), with their bundles' nodes.
///
/// @code
/// for (auto& g : raympi::placement_groups()) std::cout << g.name << ' ' << int(g.state) << '\n';
/// @endcode
inline std::vector<PlacementGroupInfo> placement_groups() { return detail::list_placement_groups(); }

}  // namespace raympi
