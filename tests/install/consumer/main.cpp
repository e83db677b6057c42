// Uses an installed raympi: submits one task and checks its result.
// Run: mpiexec -n 3 ./app  (exit status 0 on success)
#include <raympi/raympi.hpp>

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  raympi::init(argc, argv);  // returns on the driver rank only
  int status = 0;
  try {
    auto ref = raympi::task([](int x) { return x + 1; }).remote(41);
    const int value = raympi::get(ref);
    if (value == 42) {
      std::printf("consumer: task(x + 1).remote(41) == 42: ok\n");
    } else {
      std::fprintf(stderr, "consumer: expected 42, got %d\n", value);
      status = 1;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "consumer: failed: %s\n", e.what());
    status = 1;
  }
  raympi::shutdown();
  return status;
}
