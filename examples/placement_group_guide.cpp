// Placement groups as in docs/api-guide.md, as a program that builds and runs
// under ctest (`placement_group_guide`): the guide quotes this file verbatim.
//
// Run: RAYMPI_NUM_CPUS=4 mpirun --oversubscribe -n 4 ./build/examples/placement_group_guide
#include <raympi/raympi.hpp>

#include <chrono>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

int shard_sum(int shard) { return shard * 10; }

class ParameterServer {
 public:
  int node() const { return raympi::current_rank(); }
};
std::unique_ptr<ParameterServer> make_ps() { return std::make_unique<ParameterServer>(); }

RAYMPI_REMOTE(shard_sum, make_ps, &ParameterServer::node);

int main(int argc, char** argv) {
  raympi::init(argc, argv);
  int failures = 0;
  auto check = [&](bool ok, const std::string& what) {
    std::cout << (ok ? "PASS: " : "FAIL: ") << what << "\n";
    failures += !ok;
  };

  // Reserve 2 bundles of 1 CPU each, on as many nodes as the job has (spread):
  // the global scheduler reserves both or neither.
  raympi::PlacementGroup pg =
      raympi::placement_group({{{"CPU", 1}}, {{"CPU", 1}}}, raympi::Strategy::spread, "shards");
  check(pg.wait(std::chrono::seconds(30)), "both bundles reserved");

  // Where did they go? Each bundle's node rank.
  int first_node = -1;
  for (const raympi::PlacementGroupInfo& g : raympi::placement_groups())
    for (std::size_t i = 0; i < g.bundles.size(); ++i) {
      std::cout << g.name << " bundle " << i << " on rank " << g.bundles[i].node_rank << "\n";
      if (g.id == pg.id() && i == 0) first_node = g.bundles[i].node_rank;
    }

  // Work in a bundle runs on its node, within its reservation only.
  raympi::ObjectRef<int> a = raympi::task(shard_sum).placement_group(pg, 0).remote(1);
  raympi::ObjectRef<int> b = raympi::task(shard_sum).placement_group(pg, 1).remote(2);
  check(raympi::get(a) + raympi::get(b) == 30, "a task in each bundle");

  auto ps = raympi::actor(make_ps).placement_group(pg, 0).remote();
  check(raympi::get(ps.task(&ParameterServer::node).remote()) == first_node, "the actor lives on bundle 0's node");
  ps.kill();

  // No set of nodes can ever hold 1000 CPUs in one bundle.
  raympi::PlacementGroup huge = raympi::placement_group({{{"CPU", 1000}}});
  try {
    huge.wait(std::chrono::seconds(30));
    check(false, "an infeasible group throws");
  } catch (const raympi::InfeasibleError&) {
    check(true, "InfeasibleError: the group can never be placed");
  }

  // Removing frees the reservation; work still waiting on it fails.
  raympi::remove_placement_group(pg);
  raympi::remove_placement_group(huge);
  try {
    raympi::get(raympi::task(shard_sum).placement_group(pg, 0).remote(3));
    check(false, "work in a removed group fails");
  } catch (const raympi::Error& e) {
    check(std::string(e.what()).find("removed") != std::string::npos, "work in a removed group fails");
  }

  raympi::shutdown();
  return failures == 0 ? 0 : 1;
}
