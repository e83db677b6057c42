#pragma once
// The loaded hwloc topology (internal to topology/): who owns it, and the one
// every binding of this process goes through.

#include <hwloc.h>

#include <string>

#include "topology/topology.hpp"

namespace raympi::detail {

/// @brief A loaded topology with I/O devices (bridges, PCI and OS devices kept).
/// From `xml_file` when given, else from hwloc's usual sources.
class HwlocHandle {
 public:
  explicit HwlocHandle(const std::string& xml_file = {});
  ~HwlocHandle();
  HwlocHandle(const HwlocHandle&) = delete;
  HwlocHandle& operator=(const HwlocHandle&) = delete;
  hwloc_topology_t get() const { return topo_; }

 private:
  hwloc_topology_t topo_ = nullptr;
};

/// The machine as `h` describes it (cpuset from the binding where it is this system).
Machine describe_machine(const HwlocHandle& h);
/// This process's topology, loaded once and never unloaded.
const HwlocHandle& process_topology();

}  // namespace raympi::detail
