// raympi::run: driver_main runs on the driver rank only, every other rank
// serves, and every rank gets the driver's exit status back.
#include <raympi/raympi.hpp>

#include <cstdio>
#include <cstdlib>

int main(int argc, char** argv) {
  int world_rank = -1;
  constexpr int kDriverStatus = 7;
  int driver_ran = 0;
  int rc = raympi::run(argc, argv, [&] {
    driver_ran = 1;
    if (!raympi::is_initialized()) return 1;
    int v = raympi::get(raympi::task([](int x) { return x + 1; }).remote(41));
    return v == 42 ? kDriverStatus : 2;
  });
  // MPI is finalised by now (raympi::run owned it): the launcher's variable names the rank.
  if (const char* r = std::getenv("OMPI_COMM_WORLD_RANK")) world_rank = std::atoi(r);
  bool ok = rc == kDriverStatus && !raympi::is_initialized();
  std::printf("lifecycle_run: rank %d returned %d (driver_main ran here: %d) -> %s\n", world_rank, rc, driver_ran,
              ok ? "OK" : "FAIL");
  return ok ? 0 : 1;
}
