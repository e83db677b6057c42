// The raympi job the HPC tests (tests/hpc/*.sh, tests/slurm/*.sh) start and
// inspect from outside.
//
//   hpc_probe nodes                 prints one line per node: rank, host, CPU, GPU, others
//   hpc_probe hold SECONDS [MIB]    every rank prints "PROBE_PID <pid>"; the
//                                   driver puts MIB MiB (in 8 MiB objects, so
//                                   that they spill past a small
//                                   RAYMPI_OBJECT_STORE_MEMORY), prints
//                                   "PROBE_SPILL <folder>" and "PROBE_READY",
//                                   holds for SECONDS, shuts down, "PROBE_DONE"
//   hpc_probe tasks N               runs N tasks `probe_square` over the nodes,
//                                   prints "PROBE_TASKS <N> <sum>"
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include <raympi/raympi.hpp>

namespace {
long probe_square(long x) { return x * x; }
}  // namespace
RAYMPI_REMOTE(probe_square);

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode != "nodes" && mode != "hold" && mode != "tasks") {
    std::fprintf(stderr, "usage: hpc_probe nodes | hpc_probe hold SECONDS [MIB] | hpc_probe tasks N\n");
    return 2;
  }
  if (mode == "hold") {
    std::printf("PROBE_PID %d\n", int(getpid()));
    std::fflush(stdout);
  }
  raympi::init(argc, argv);  // returns on the driver only
  if (mode == "nodes") {
    for (const raympi::NodeInfo& n : raympi::nodes()) {
      std::printf("PROBE_NODE rank=%d host=%s", n.rank, n.host.c_str());
      for (const char* k : {"CPU", "GPU"}) std::printf(" %s=%g", k, n.resources.count(k) ? n.resources.at(k) : 0.0);
      for (auto& [k, v] : n.resources)
        if (k != "CPU" && k != "GPU") std::printf(" %s=%g", k.c_str(), v);
      std::printf("\n");
    }
  } else if (mode == "tasks") {
    const long n = argc > 2 ? std::atol(argv[2]) : 100;
    std::vector<raympi::ObjectRef<long>> refs;
    for (long i = 0; i < n; ++i) refs.push_back(raympi::task(probe_square).remote(i));
    long sum = 0;
    for (long v : raympi::get(refs)) sum += v;
    std::printf("PROBE_TASKS %ld %ld\n", n, sum);
  } else {
    const double seconds = argc > 2 ? std::atof(argv[2]) : 5.0;
    const int mib = argc > 3 ? std::atoi(argv[3]) : 0;
    std::vector<raympi::ObjectRef<std::vector<std::uint8_t>>> held;
    for (int i = 0; i < mib / 8; ++i) held.push_back(raympi::put(std::vector<std::uint8_t>(8u << 20, std::uint8_t(i))));
    std::printf("PROBE_SPILL %s\n", raympi::detail::local_stats().spill_folder.c_str());
    std::printf("PROBE_READY\n");
    std::fflush(stdout);
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    held.clear();
  }
  raympi::shutdown();
  std::printf("PROBE_DONE\n");
  return 0;
}
