// raympi::init(MPI_Comm): the application owns MPI (MPI_Init_thread before,
// MPI_Finalize after, its own traffic before init untouched); raympi works on
// a duplicate of the communicator.
#include <raympi/raympi.hpp>

#include <cstdio>

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int one = 1, sum = 0;
  MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);  // the application's own traffic

  raympi::init(MPI_COMM_WORLD);  // returns on the driver only
  int v = raympi::get(raympi::task([](int x) { return x * 2; }).remote(21));
  raympi::shutdown();
  int finalized = 0;
  MPI_Finalized(&finalized);  // raympi must leave MPI to the application
  bool ok = v == 42 && sum == size && !finalized;
  std::printf("lifecycle_comm: driver rank %d: task %d, allreduce %d/%d, MPI finalized by raympi: %d -> %s\n", rank, v,
              sum, size, finalized, ok ? "OK" : "FAIL");
  MPI_Finalize();
  return ok ? 0 : 1;
}
