#pragma once
// Resource accounting of one node: CPU and GPU slots plus custom resources.

#include <map>
#include <string>

#include "raympi/detail/runtime_api.hpp"

namespace raympi::detail {

/// @brief Amounts of every resource a node has (total) or has free (available).
struct ResourceSet {
  double cpu = 0;
  double gpu = 0;
  std::map<std::string, double> custom;

  bool fits(const ResourceDemand& d) const;
  void take(const ResourceDemand& d);
  void give(const ResourceDemand& d);
  std::map<std::string, double> as_map() const;
  static ResourceSet from_map(const std::map<std::string, double>& m);
  template <class A>
  void serialize(A& ar) { ar(cpu, gpu, custom); }
};

std::string describe(const ResourceDemand& d);

}  // namespace raympi::detail
