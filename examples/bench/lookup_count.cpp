// ObjectId hash-table searches per no-op task, by phase, in an embedded job
// (every role in this process, so every table of the job is counted).
// Build with -DRAYMPI_COUNT_ID_HASHES=ON; run `mpirun -n 1 raympi-lookup-count`.
#include <raympi/raympi.hpp>

#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

int nop(int x) { return x; }
RAYMPI_REMOTE(nop);

int main(int argc, char** argv) {
  raympi::init(argc, argv);
  auto& hashes = raympi::detail::id_hash_count();
  const int n = 10000;
  auto caller = raympi::task(nop);
  {
    // Warm-up with as many tasks: workers exist and every table has grown to
    // its size (growing rehashes every entry, which would count too).
    std::vector<raympi::ObjectRef<int>> warm;
    for (int i = 0; i < n; ++i) warm.push_back(caller.remote(i));
    raympi::get(warm);
  }
  auto per_task = [&](std::uint64_t before) { return double(hashes.load() - before) / n; };

  std::uint64_t t0 = hashes.load();
  std::vector<raympi::ObjectRef<int>> refs;
  refs.reserve(n);
  for (int i = 0; i < n; ++i) refs.push_back(caller.remote(i));
  double submit = per_task(t0);
  // Let every task finish (the workers run them) before reading any result.
  while (raympi::detail::local_stats().store_objects < std::size_t(n)) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  double to_finish = per_task(t0);
  std::uint64_t t1 = hashes.load();
  long sum = 0;
  for (int v : raympi::get(refs)) sum += v;
  double get = per_task(t1);
  std::uint64_t t2 = hashes.load();
  refs.clear();
  double drop = per_task(t2);
  std::printf("ObjectId hash-table searches per no-op task (%d tasks, embedded job):\n", n);
  std::printf("  submit:               %.2f\n", submit);
  std::printf("  submit -> finish:     %.2f\n", to_finish);
  std::printf("  get (result ready):   %.2f\n", get);
  std::printf("  drop the ref (free):  %.2f\n", drop);
  std::printf("  whole life:           %.2f\n", to_finish + get + drop);
  raympi::shutdown();
  return sum == long(n) * (n - 1) / 2 ? 0 : 1;
}
