#pragma once
// `raympi info`: hwloc's view of this machine, the CPUs and GPUs a node rank
// would get, and the RAYMPI_* / SLURM_* / CUDA_VISIBLE_DEVICES variables in force.

#include <string>

namespace raympi::launcher {

/// The report `raympi info` prints.
std::string machine_info();

}  // namespace raympi::launcher
