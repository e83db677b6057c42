// Tutorial exercise 9: GPUs.
//
// Set-up (per node): 4 CPUs and 2 GPUs, declared (Config::num_gpus), so the
// exercise runs on a machine without GPUs too. Three tasks each need 1 GPU,
// sleep 0.5 s and return `raympi::gpu_ids()`: two run at once on GPUs 0 and
// 1, the third waits for one of them, so the three take two rounds (> 1 s).
// An actor needing 1 GPU returns its own `gpu_ids()`.
// Checks: each task got exactly 1 id from {0,1}; the two concurrent tasks
// got different ids; duration > 1 s; the actor got 1 id.
//
// On a machine with GPUs, leave num_gpus unset: hwloc counts them, narrowed
// by CUDA_VISIBLE_DEVICES or the Slurm allocation (docs/resources.md), and the
// ids are what the task passes to cudaSetDevice.
//
// Run: mpirun --oversubscribe -n 3 ./build/examples/09_gpus

#include "tutorial_support.hpp"

#include <raympi/raympi.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

/// What a GPU task saw: its ids, where it ran and when (steady clock, seconds).
struct GpuRun {
  std::vector<int> ids;
  int rank = -1;
  double start = 0, end = 0;
  template <class A>
  void serialize(A& ar) { ar(ids, rank, start, end); }
};

double now() { return std::chrono::duration<double>(tutorial::Clock::now().time_since_epoch()).count(); }

GpuRun use_gpu() {
  GpuRun r;
  r.start = now();
  r.ids = raympi::gpu_ids();
  r.rank = raympi::current_rank();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  r.end = now();
  return r;
}

struct GpuActor {
  std::vector<int> ids() { return raympi::gpu_ids(); }
};

std::unique_ptr<GpuActor> make_gpu_actor() { return std::make_unique<GpuActor>(); }

}  // namespace

RAYMPI_REMOTE(use_gpu, make_gpu_actor, &GpuActor::ids);

namespace {

void exercise() {
  const bool timing = tutorial::timing_applies();
  tutorial::warm(4);

  const auto start = tutorial::Clock::now();
  std::vector<raympi::ObjectRef<GpuRun>> refs;
  for (int i = 0; i < 3; ++i) refs.push_back(raympi::task(use_gpu).num_gpus(1).remote());
  const std::vector<GpuRun> runs = raympi::get(refs);
  const double d = tutorial::since(start);

  for (std::size_t i = 0; i < runs.size(); ++i) {
    const bool one_id = runs[i].ids.size() == 1 && (runs[i].ids[0] == 0 || runs[i].ids[0] == 1);
    tutorial::check(one_id, "task " + std::to_string(i) + " got exactly 1 id from {0,1}", tutorial::braced(runs[i].ids));
  }
  // Tasks that ran at the same time on one node never share a GPU.
  int concurrent = 0;
  bool distinct = true;
  std::string pairs;
  for (std::size_t i = 0; i < runs.size(); ++i)
    for (std::size_t j = i + 1; j < runs.size(); ++j) {
      const GpuRun &a = runs[i], &b = runs[j];
      if (a.rank != b.rank || a.end <= b.start || b.end <= a.start) continue;
      ++concurrent;
      distinct &= a.ids != b.ids;
      pairs += " " + tutorial::braced(a.ids) + "/" + tutorial::braced(b.ids);
    }
  tutorial::check(concurrent > 0 && distinct, "the concurrent tasks got different ids",
                  std::to_string(concurrent) + " concurrent pair(s):" + pairs);
  tutorial::check_window(timing, d > 1.0, "duration > 1 s", tutorial::seconds(d));

  raympi::ActorHandle<GpuActor> actor = raympi::actor(make_gpu_actor).num_gpus(1).remote();
  const std::vector<int> actor_ids = raympi::get(actor.task(&GpuActor::ids).remote());
  tutorial::check(actor_ids.size() == 1, "the actor got 1 id", tutorial::braced(actor_ids));
}

}  // namespace

int main(int argc, char** argv) {
  raympi::Config cfg;
  cfg.num_cpus = 4;
  cfg.num_gpus = 2;
  return tutorial::main_with(argc, argv, cfg, exercise);
}
