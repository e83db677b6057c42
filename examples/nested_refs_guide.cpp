// The nested-refs example of docs/api-guide.md, as a program that builds and
// runs under ctest (`nested_refs_guide`): the page quotes this file verbatim.
//
// Run: mpirun --oversubscribe -n 4 ./build/examples/nested_refs_guide
#include <raympi/raympi.hpp>

#include <iostream>
#include <numeric>
#include <string>
#include <vector>

using Shard = std::vector<double>;

// Made on some node; the shard stays in that node's store.
Shard load_shard(int i) { return Shard(100'000, double(i)); }

// Publishes a shard by reference: the result is a ref to the shard's ref,
// cheap to pass around, and it keeps the shard alive.
raympi::ObjectRef<Shard> publish(int i) { return raympi::task(load_shard).remote(i); }

// Takes a handle: passed an ObjectRef<ObjectRef<Shard>>, it receives the
// inner ObjectRef<Shard> (the outer ref was a dependency) and reads the
// shard only when it needs it.
double shard_sum(raympi::ObjectRef<Shard> shard) {
  Shard s = raympi::get(shard);
  return std::accumulate(s.begin(), s.end(), 0.0);
}

RAYMPI_REMOTE(load_shard, publish, shard_sum);

int main(int argc, char** argv) {
  raympi::init(argc, argv);
  int failures = 0;
  auto check = [&](bool ok, const std::string& what) {
    std::cout << (ok ? "PASS: " : "FAIL: ") << what << "\n";
    failures += !ok;
  };

  // put of a ref stores the ref itself: ObjectRef<ObjectRef<T>>.
  raympi::ObjectRef<Shard> shard = raympi::task(load_shard).remote(3);
  raympi::ObjectRef<raympi::ObjectRef<Shard>> catalog = raympi::put(shard);
  check(raympi::get(catalog) == shard, "get of the outer ref gives the inner ref");

  // The inner object lives as long as the outer one: drop our handle on the
  // shard, the catalog entry still reaches it.
  shard = {};
  check(raympi::get(raympi::get(catalog)).size() == 100'000, "the shard outlives its first ref");

  // Passed where the parameter is ObjectRef<Shard>, the outer ref is a
  // dependency and the task receives the inner ref.
  check(raympi::get(raympi::task(shard_sum).remote(catalog)) == 300'000.0, "shard_sum gets the inner ref");

  // A task returning a ref gives the same nesting.
  raympi::ObjectRef<raympi::ObjectRef<Shard>> published = raympi::task(publish).remote(2);
  check(raympi::get(raympi::task(shard_sum).remote(published)) == 200'000.0, "a returned ref feeds shard_sum");

  raympi::shutdown();
  return failures == 0 ? 0 : 1;
}
