#pragma once
// What the machine gives this rank (hwloc): CPU slots and host name.

#include <string>

namespace raympi::detail {

/// Number of PUs in this process's current binding (its cpuset); falls back to all PUs.
int cpuset_pu_count();
std::string host_name();

}  // namespace raympi::detail
