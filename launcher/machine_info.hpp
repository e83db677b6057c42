#pragma once
// `raympi info`: hwloc's view of this machine, the CPUs and GPUs a node rank
// would get (the topology module's cpuset, every GPU found and which of them
// are visible), and the RAYMPI_* / SLURM_* / GPU / hwloc variables in force.

#include <string>

namespace raympi::launcher {

/// The report `raympi info` prints.
std::string machine_info();

}  // namespace raympi::launcher
