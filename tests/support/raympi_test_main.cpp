// main() of every raympi GoogleTest executable (gtest_main is not linked).
//
// raympi::init is collective and returns on the driver rank only: every other
// rank serves its role (global scheduler, GCS, node) inside init and exits 0
// when the driver calls shutdown. So only the driver runs the tests, and the
// job's exit status is the driver's RUN_ALL_TESTS result.
//
// The Config is the default one: tests set resources through the RAYMPI_*
// environment variables (RAYMPI_NUM_CPUS, RAYMPI_RESOURCES, ...) given in
// the ENV of add_raympi_test, which is also what init's env handling tests.
#include <gtest/gtest.h>

#include <cstdio>
#include <exception>

#include <raympi/raympi.hpp>

int main(int argc, char** argv) {
  try {
    raympi::init(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "raympi test main: raympi::init failed: %s\n", e.what());
    return 2;
  }
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  raympi::shutdown();
  return rc;
}
