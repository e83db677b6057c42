// raympi-startup-bench: what raympi adds to a job's start-up (issue 6, HPC
// pain point 4: Ray needs a head node, its address and a second command;
// raympi's start-up is mpirun/srun and raympi::init).
//
//   raympi-startup-bench [--runs N] [--np NP] [--check]   (run it directly, not under mpirun)
//
// It launches itself RUNS times as an NP-rank job under mpirun (default 5 runs
// of 4 ranks) in two forms:
//   plain:  MPI_Init_thread + MPI_Barrier + MPI_Finalize
//   raympi: MPI_Init_thread + MPI_Barrier, then raympi::init(MPI_COMM_WORLD)
//           + raympi::shutdown
// and prints medians: MPI_Init as the driver measures it, raympi::init on top
// of it (the target: < 0.5 s for 4 ranks), and each whole job's wall time as
// seen from outside (mpirun start to exit). With --check it exits 1 when the
// median of raympi::init misses its target (the test hpc_startup_bench).
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <raympi/raympi.hpp>

namespace {

using Clock = std::chrono::steady_clock;
// raympi::init on top of MPI_Init, median, 4-rank jobs (docs/launching.md).
constexpr double kInitTargetSeconds = 0.5;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// One rank of a measured job; the driver (rank 2, or 0 in the plain form) prints the figures.
int child(int argc, char** argv, bool plain) {
  const auto t0 = Clock::now();
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  MPI_Barrier(MPI_COMM_WORLD);
  const double mpi_init = since(t0);
  if (plain) {
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (rank == 0) std::printf("STARTUP %.6f 0\n", mpi_init);
  } else {
    MPI_Barrier(MPI_COMM_WORLD);
    const auto t1 = Clock::now();
    raympi::init(MPI_COMM_WORLD);  // returns on the driver only
    std::printf("STARTUP %.6f %.6f\n", mpi_init, since(t1));
    std::fflush(stdout);
    raympi::shutdown();
  }
  MPI_Finalize();
  return 0;
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

struct Runs {
  std::vector<double> mpi_init, raympi_init, wall;
};

// Launches `self` RUNS times; false when a run fails.
bool measure(const std::string& self, int np, int runs, bool plain, Runs& out) {
  std::string cmd = "mpirun -n " + std::to_string(np) + " --oversubscribe" +
                    (geteuid() == 0 ? " --allow-run-as-root" : "") + " '" + self + "' --child" +
                    (plain ? " --plain" : "") + " 2>&1";
  for (int i = 0; i < runs; ++i) {
    const auto t = Clock::now();
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return false;
    char line[512];
    bool seen = false;
    while (std::fgets(line, sizeof line, p)) {
      double a = 0, b = 0;
      if (std::sscanf(line, "STARTUP %lf %lf", &a, &b) == 2) {
        out.mpi_init.push_back(a);
        out.raympi_init.push_back(b);
        seen = true;
      } else {
        std::fputs(line, stderr);
      }
    }
    const int rc = ::pclose(p);
    out.wall.push_back(since(t));
    if (rc != 0 || !seen) {
      std::fprintf(stderr, "raympi-startup-bench: run failed: %s\n", cmd.c_str());
      return false;
    }
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 5, np = 4;
  bool is_child = false, plain = false, check = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--child") is_child = true;
    else if (a == "--plain") plain = true;
    else if (a == "--check") check = true;
    else if (a == "--runs" && i + 1 < argc) runs = std::atoi(argv[++i]);
    else if (a == "--np" && i + 1 < argc) np = std::atoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: raympi-startup-bench [--runs N] [--np NP] [--check]\n");
      return 2;
    }
  }
  if (is_child) return child(argc, argv, plain);
  if (runs < 1 || np < 1) {
    std::fprintf(stderr, "raympi-startup-bench: --runs and --np must be positive\n");
    return 2;
  }
  char self[4096] = {};
  if (::readlink("/proc/self/exe", self, sizeof self - 1) <= 0) std::strncpy(self, argv[0], sizeof self - 1);

  Runs p, r;
  if (!measure(self, np, runs, true, p) || !measure(self, np, runs, false, r)) return 1;
  const double overhead = median(r.raympi_init);
  const bool met = overhead < kInitTargetSeconds;
  std::printf("raympi-startup-bench: %d runs of %d-rank jobs under mpirun (medians)\n", runs, np);
  std::printf("  MPI_Init_thread + barrier, plain job        %8.3f s\n", median(p.mpi_init));
  std::printf("  MPI_Init_thread + barrier, raympi job       %8.3f s\n", median(r.mpi_init));
  std::printf("  raympi::init over MPI_Init                  %8.3f s   target < %.1f s: %s\n", overhead,
              kInitTargetSeconds, met ? "OK" : "MISS");
  std::printf("  whole job, plain (mpirun to exit)           %8.3f s\n", median(p.wall));
  std::printf("  whole job, raympi init + shutdown           %8.3f s   (+%.3f s)\n", median(r.wall),
              median(r.wall) - median(p.wall));
  std::fflush(stdout);
  if (check && !met) {
    std::fprintf(stderr,
                 "raympi-startup-bench: raympi::init over MPI_Init took %.3f s (median of %d runs of %d ranks), "
                 "missing its target of < %.1f s\n",
                 overhead, runs, np, kInitTargetSeconds);
    return 1;
  }
  return 0;
}
