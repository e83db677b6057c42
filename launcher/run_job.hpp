#pragma once
// Runs a launch plan: creates the per-job folder, writes the layout file,
// starts mpirun/srun, forwards SIGINT/SIGTERM/SIGHUP to it, removes the
// folder and returns the job's exit status.

#include "plan.hpp"

#include <string>

namespace raympi::launcher {

/// A fresh per-job, per-user folder (mode 0700) under RAYMPI_SPILL_DIR, else
/// TMPDIR, else /tmp: raympi-launch-<user>-XXXXXX. Throws std::runtime_error.
std::string make_job_dir();

/// Starts the plan's command and waits for it and for every rank it leaves
/// behind on this host (the launcher is their subreaper). Returns its exit
/// status, or 128 + signal when a signal ended it or a forwarded signal
/// stopped it; 127 when it could not be started. Removes @p job_dir before
/// returning.
int run_plan(const Plan& plan, const std::string& job_dir);

}  // namespace raympi::launcher
