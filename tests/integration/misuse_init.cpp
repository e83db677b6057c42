// Misuse of init that must end in a clear raympi::Error on every rank, never
// an MPI abort or a hang (reliability matrix, docs/reliability.md).
//
//   misuse_init again        init, shutdown, init again: the second init throws
//                            (MPI is finalized) before touching MPI
//   misuse_init spill        init with the spill directory from the environment
//                            (RAYMPI_SPILL_DIR): throws on every rank when unusable,
//                            else runs a task and checks the folder exists
// Every rank that saw what it should prints "MISUSE_OK <rank> <what>".
#define OMPI_SKIP_MPICXX 1  // the C API only (the C++ bindings need libmpi_cxx)
#include <mpi.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <raympi/raympi.hpp>

namespace {
int twice(int x) { return 2 * x; }
}  // namespace
RAYMPI_REMOTE(twice);

namespace {
int world_rank() {
  int r = -1;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
void finalize_if_needed() {
  int inited = 0, finalized = 0;
  MPI_Initialized(&inited);
  MPI_Finalized(&finalized);
  if (inited && !finalized) MPI_Finalize();
}
}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "again") {
    raympi::init(argc, argv);  // other ranks serve and exit here
    int rank = world_rank();
    bool ok = raympi::get(raympi::task(twice).remote(21)) == 42;
    raympi::shutdown();
    try {
      raympi::init(argc, argv);
      std::printf("MISUSE_FAIL %d: a second init after shutdown did not throw\n", rank);
      return 1;
    } catch (const raympi::Error& e) {
      const bool clear = std::string(e.what()).find("already finalized") != std::string::npos;
      std::printf("%s %d %s\n", ok && clear ? "MISUSE_OK" : "MISUSE_FAIL", rank, e.what());
      return ok && clear ? 0 : 1;
    }
  }
  if (mode == "spill") {
    const char* dir = std::getenv("RAYMPI_SPILL_DIR");
    int provided = 0;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);  // a rank that throws still finalizes
    int rank = world_rank();
    try {
      raympi::init(MPI_COMM_WORLD);  // non-driver ranks serve inside, finalize and exit
      bool ok = raympi::get(raympi::task(twice).remote(1)) == 2 && dir && std::filesystem::is_directory(dir);
      std::printf("%s %d spill directory %s usable\n", ok ? "MISUSE_OK" : "MISUSE_FAIL", rank, dir ? dir : "?");
      raympi::shutdown();
      finalize_if_needed();
      return ok ? 0 : 1;
    } catch (const raympi::Error& e) {
      const bool clear = std::string(e.what()).find("spill directory") != std::string::npos;
      std::printf("%s %d %s\n", clear ? "MISUSE_OK" : "MISUSE_FAIL", rank, e.what());
      finalize_if_needed();
      return 0;
    }
  }
  std::fprintf(stderr, "usage: misuse_init again | spill\n");
  return 2;
}
