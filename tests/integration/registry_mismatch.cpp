// Registry mismatch: built twice, as registry_mismatch_a and (with
// -DEXTRA_FUNCTION) registry_mismatch_b, which registers one more function,
// extra_fn. Run MPMD (`mpiexec -n 2 a : -n 1 b`), init must fail on EVERY
// rank — never a silent mis-dispatch — and the message must name extra_fn.
//
// Each rank catches init's raympi::Error (MPI is up by then), prints it, and
// the ranks compare notes over MPI_COMM_WORLD. Rank 0 prints the verdict:
//   "registry_mismatch: OK ..."   every rank failed init with a raympi::Error
//                                 whose message names extra_fn;
//   "registry_mismatch: FAIL ..." otherwise.
// ctest passes on the OK line (PASS_REGULAR_EXPRESSION) and fails on FAIL.
// MPI's C API only (the C++ bindings need libmpi_cxx).
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <raympi/raympi.hpp>

int base_fn(int x) { return x + 1; }
RAYMPI_REMOTE(base_fn);

#ifdef EXTRA_FUNCTION
int extra_fn(int x) { return x * 2; }
RAYMPI_REMOTE(extra_fn);
constexpr int kHasExtra = 1;
#else
constexpr int kHasExtra = 0;
#endif

int main(int argc, char** argv) {
  int failed = 0, named = 0;
  std::string message;
  try {
    raympi::init(argc, argv);
    // Only the driver gets here, and only if the mismatch went unnoticed.
    message = "init succeeded on the driver";
    std::printf("registry_mismatch: FAIL: raympi::init succeeded despite different registries\n");
    std::fflush(stdout);
    raympi::shutdown();
    return 1;
  } catch (const raympi::Error& e) {
    failed = 1;
    message = e.what();
    named = message.find("extra_fn") != std::string::npos ? 1 : 0;
  } catch (const std::exception& e) {
    message = std::string("unexpected exception type: ") + e.what();
  }
  int rank = 0, size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  std::printf("rank %d (%s): init failed=%d names extra_fn=%d: %s\n", rank,
              kHasExtra ? "with extra_fn" : "without extra_fn", failed, named, message.c_str());
  std::fflush(stdout);

  int mine[3] = {failed, named, kHasExtra};
  std::vector<int> all(std::size_t(size) * 3);
  MPI_Gather(mine, 3, MPI_INT, all.data(), 3, MPI_INT, 0, MPI_COMM_WORLD);
  int ok = 1;
  if (rank == 0) {
    std::string report;
    int failures = 0, with_extra = 0;
    for (int r = 0; r < size; ++r) {
      int f = all[std::size_t(r) * 3], n = all[std::size_t(r) * 3 + 1], x = all[std::size_t(r) * 3 + 2];
      failures += f;
      with_extra += x;
      if (!f) { ok = 0; report += " rank " + std::to_string(r) + " did not fail init;"; }
      if (!n) { ok = 0; report += " rank " + std::to_string(r) + " did not name extra_fn;"; }
    }
    if (with_extra == 0 || with_extra == size) { ok = 0; report += " the job is not mixed (launch it MPMD);"; }
    if (ok)
      std::printf("registry_mismatch: OK: init failed on all %d ranks; the message names extra_fn\n", size);
    else
      std::printf("registry_mismatch: FAIL:%s\n", report.c_str());
    std::fflush(stdout);
  }
  MPI_Bcast(&ok, 1, MPI_INT, 0, MPI_COMM_WORLD);
  MPI_Finalize();
  return 0;  // the verdict is in the output (ctest matches it)
}
