// Cancellation, as docs/api-guide.md shows it: a program that builds and runs
// under ctest (`cancel_guide`); the guide quotes this file verbatim.
//
// Run: mpirun --oversubscribe -n 3 ./build/examples/cancel_guide
#include <raympi/raympi.hpp>

#include <chrono>
#include <iostream>
#include <string>
#include <thread>

// A long job that polls for its cancellation and gives up: get throws.
int long_job(int steps) {
  for (int i = 0; i < steps; ++i) {
    if (raympi::cancel_requested()) throw raympi::TaskCancelledError("long_job stopped at step " + std::to_string(i));
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return steps;
}

// A search that returns what it found so far when cancelled: its result stands.
int best_so_far(int steps) {
  int best = 0;
  for (int i = 0; i < steps && !raympi::cancel_requested(); ++i) {
    best = i;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return best;
}

// Submits work of its own: a recursive cancel reaches it too.
int fan_out(int n) {
  int total = 0;
  for (int i = 0; i < n; ++i) total += raympi::get(raympi::task(long_job).remote(100000));
  return total;
}

int twice(int x) { return 2 * x; }

RAYMPI_REMOTE(long_job, best_so_far, fan_out, twice);

int main(int argc, char** argv) {
  raympi::init(argc, argv);
  int failures = 0;
  auto check = [&](bool ok, const std::string& what) {
    std::cout << (ok ? "PASS: " : "FAIL: ") << what << "\n";
    failures += !ok;
  };

  // A task that polls cancel_requested(); and a task that depends on it.
  raympi::ObjectRef<int> job = raympi::task(long_job).remote(100000);
  raympi::ObjectRef<int> doubled = raympi::task(twice).remote(job);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  raympi::cancel(job);
  try {
    raympi::get(job);
    check(false, "long_job was cancelled");
  } catch (const raympi::TaskCancelledError& e) {
    check(true, std::string("long_job was cancelled: ") + e.what());
  }
  try {
    raympi::get(doubled);
    check(false, "its dependant failed too");
  } catch (const raympi::TaskCancelledError&) {
    check(true, "its dependant failed too");
  }

  // A task that returns when cancelled keeps its result (had it not started
  // yet, it would never run, and get would throw TaskCancelledError).
  raympi::ObjectRef<int> search = raympi::task(best_so_far).remote(100000);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  raympi::cancel(search);
  try {
    std::cout << "best so far: " << raympi::get(search) << "\n";
  } catch (const raympi::TaskCancelledError&) {
    std::cout << "the search was cancelled before it started\n";
  }

  // Recursive (the default): the tasks fan_out submitted are cancelled too.
  raympi::ObjectRef<int> tree = raympi::task(fan_out).remote(3);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  raympi::cancel(tree);
  try {
    raympi::get(tree);
    check(false, "fan_out and its children were cancelled");
  } catch (const raympi::TaskCancelledError&) {
    check(true, "fan_out and its children were cancelled");
  }

  // Cancelling a finished task does nothing.
  raympi::ObjectRef<int> done = raympi::task(twice).remote(21);
  check(raympi::get(done) == 42, "twice(21) == 42");
  raympi::cancel(done);
  check(raympi::get(done) == 42, "still 42 after cancel");

  raympi::shutdown();
  return failures == 0 ? 0 : 1;
}
