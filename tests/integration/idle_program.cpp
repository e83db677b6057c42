// Idle CPU check, raympi side: every rank prints its pid, the job starts, the
// driver prints IDLE_READY and sleeps; the other ranks serve inside init,
// idle. tests/integration/idle_cpu.sh samples the processes' CPU time while
// the driver sleeps. Usage: idle_program [seconds, default 5]
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include <raympi/raympi.hpp>

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 5.0;
  std::printf("IDLE_PID %d\n", int(getpid()));
  std::fflush(stdout);
  raympi::init(argc, argv);  // returns on the driver only
  std::printf("IDLE_READY\n");
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  raympi::shutdown();
  return 0;
}
