#pragma once
// Which GPU ids of a node are in use: whole GPUs go to one task or actor at a
// time; fractional demands share one GPU while their fractions fit in it.

#include <vector>

namespace raympi::detail {

/// @brief The GPU ids 0..n-1 of a node (positions in its visible-device order) and their use.
class GpuPool {
 public:
  /// `total`: the node's GPU amount; ids are 0..ceil(total)-1.
  explicit GpuPool(double total);
  /// Whether `take(amount)` would succeed now (0 always fits).
  bool can_take(double amount) const;
  /// Whole amounts (1, 2, ...): that many distinct free ids, lowest first.
  /// A fraction below 1: one id, shared with other fractions where they fit.
  /// Empty when it does not fit (or amount is 0).
  std::vector<int> take(double amount);
  /// Returns what take(amount) gave.
  void give(double amount, const std::vector<int>& ids);

 private:
  int whole(double amount) const;
  int fraction_slot(double amount) const;
  std::vector<double> used_;  // per id: 0 free ... 1 fully used
};

}  // namespace raympi::detail
