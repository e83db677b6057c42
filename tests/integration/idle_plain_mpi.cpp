// Idle CPU check, reference side: a plain MPI program that does what the MPI
// library itself costs while a job sleeps (MPI_Init_thread with the thread
// level raympi asks for, then sleep). Same output protocol as idle_program.
// Usage: idle_plain_mpi [seconds, default 5]
// MPI's C API only (the C++ bindings need libmpi_cxx).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 5.0;
  std::printf("IDLE_PID %d\n", int(getpid()));
  std::fflush(stdout);
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  MPI_Barrier(MPI_COMM_WORLD);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank == 0) {
    std::printf("IDLE_READY\n");
    std::fflush(stdout);
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  MPI_Finalize();
  return 0;
}
