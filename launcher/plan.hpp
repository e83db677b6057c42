#pragma once
// The launch plan of `raympi run`: which launcher (mpirun or srun), its
// command line, the RAYMPI_* variables, the rank layout file and the role
// map. Built from the options and what the launcher found around it (Site),
// without starting anything, so that --dry-run and the tests see exactly
// what a real run executes.

#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace raympi::launcher {

/// A mistaken command line or environment: main prints it with the usage, exit 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The options of `raympi run`.
struct RunOptions {
  int nodes = 0;                    ///< node ranks; 0: one per host
  double cpus_per_node = -1;        ///< RAYMPI_NUM_CPUS; -1: the rank's binding decides
  double gpus_per_node = -1;        ///< RAYMPI_NUM_GPUS; -1: the Slurm allocation, else the runtime
  std::string resources;            ///< RAYMPI_RESOURCES, "K=V,..."
  std::string object_store_memory;  ///< RAYMPI_OBJECT_STORE_MEMORY, "4G"
  std::string timeline;             ///< RAYMPI_TIMELINE
  std::vector<std::string> hosts;   ///< mpirun only: hosts to use (default: this one)
  bool verbose = false;             ///< print the role map first
  bool dry_run = false;             ///< print the plan, start nothing
  std::vector<std::string> command; ///< the application and its arguments
};

/// What the launcher finds around it.
struct Site {
  std::string launcher;            ///< "mpirun" or "srun" (RAYMPI_LAUNCHER, else Slurm or not)
  std::string why;                 ///< why that launcher, for -v
  std::string here;                ///< this host
  std::vector<std::string> hosts;  ///< hosts of the job; ranks 0-2 go to the first
  int cpus_per_host = 1;           ///< CPUs the job may use on each host
  int gpus_per_host = -1;          ///< GPUs Slurm gave the job per host; -1: unknown
  bool root = false;
};

/// Reads RAYMPI_LAUNCHER, SLURM_* (running `scontrol show hostnames` for the
/// node list) and the process's CPU binding. Throws UsageError for a bad
/// RAYMPI_LAUNCHER.
Site discover_site(const RunOptions& opt);

/// One rank of the job, as -v prints it.
struct RankRole {
  int rank;
  std::string role;
  std::string host;
  std::string cpus;
  std::string gpus;
};

struct Plan {
  std::string launcher;                   ///< "mpirun" or "srun"
  std::vector<std::string> argv;          ///< the command to run
  /// Environment changes for the launcher's child: value set, or nullopt: unset.
  std::vector<std::pair<std::string, std::optional<std::string>>> env;
  std::string layout_path;                ///< rank file (mpirun) or SLURM_HOSTFILE (srun)
  std::string layout_text;                ///< its contents
  std::vector<RankRole> roles;
};

/// Checks the options (UsageError) and lays the job out; @p job_dir is the
/// per-job folder the layout file goes to.
Plan make_plan(const RunOptions& opt, const Site& site, const std::string& job_dir);

/// The role map: one line per rank.
std::string role_map(const Plan& plan);
/// The whole plan (environment, layout file, command), for --dry-run.
std::string describe(const Plan& plan);

}  // namespace raympi::launcher
