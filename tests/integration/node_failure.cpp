// A rank of the job dies (SIGKILL, as a crashed process or host would) while
// the launcher keeps the others alive (mpirun with orte_enable_recovery, srun
// --no-kill): failure detection by heartbeats (core/membership) and what the
// driver sees (docs/reliability.md). Run at np 4 with a short heartbeat
// (RAYMPI_HEARTBEAT_MS=200, RAYMPI_HEARTBEAT_TIMEOUT_MS=1500):
//
//   node_failure node   node rank 3 dies while tasks run on it: tasks without
//                       retries fail with NodeDiedError, with retries they run
//                       again on rank 2; its objects are lost, its actors die
//                       or restart on rank 2; work pinned to it fails at once;
//                       nodes() shows it dead; shutdown returns
//   node_failure gs     rank 0 (the global scheduler) dies: the driver's get
//   node_failure gcs    rank 1 (the GCS) dies:              throws the reason
//   node_failure shutdown_finishing   node rank 3 dies while it finishes a
//                       task during the shutdown: shutdown returns within the
//                       heartbeat timeout (core/shutdown.cpp)
//   node_failure shutdown_acked       node rank 3 dies right after it
//                       acknowledged the shutdown: shutdown returns
//   node_failure shutdown_driver      the driver dies during the shutdown: the
//                       other ranks leave with exit status 1
//
// The driver prints "FAULT_OK <what>" per check passed and "FAULT_FAIL <what>"
// otherwise; tests/integration/node_failure.sh counts them and checks that no
// process of the job is left.
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <raympi/raympi.hpp>

namespace {

using Clock = std::chrono::steady_clock;

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

int rank_here() { return raympi::current_rank(); }

int sleep_then(int ms, int value) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  return value;
}

// Kills this process `ms` from now; returns at once.
void kill_self_in(int ms) {
  std::thread([ms] {
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    raise(SIGKILL);
  }).detach();
}
int die_in(int ms) {
  kill_self_in(ms);
  return rank_here();
}
// Dies `die_ms` from now while running for `run_ms`.
int die_while_running(int die_ms, int run_ms) {
  kill_self_in(die_ms);
  return sleep_then(run_ms, rank_here());
}

std::vector<char> bytes(int n) { return std::vector<char>(std::size_t(n), 'x'); }
std::size_t length(const std::vector<char>& v) { return v.size(); }

struct Probe {
  int where() const { return rank_here(); }
};
std::unique_ptr<Probe> make_probe() { return std::make_unique<Probe>(); }

}  // namespace

RAYMPI_REMOTE(rank_here, sleep_then, die_in, die_while_running, bytes, length, make_probe, &Probe::where);

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "FAULT_OK" : "FAULT_FAIL", what.c_str());
  std::fflush(stdout);
  if (!ok) ++failures;
}

template <class F>
auto pinned(F f, int rank) {
  return raympi::task(f).resource("node:" + std::to_string(rank), 0.01);
}

// What get(ref) throws: its type's name and message ("" when it returned).
template <class T>
std::pair<std::string, std::string> outcome(const raympi::ObjectRef<T>& ref) {
  try {
    raympi::get(ref);
    return {"", ""};
  } catch (const raympi::NodeDiedError& e) {
    return {"NodeDiedError", e.what()};
  } catch (const raympi::ObjectLostError& e) {
    return {"ObjectLostError", e.what()};
  } catch (const raympi::ActorDiedError& e) {
    return {"ActorDiedError", e.what()};
  } catch (const raympi::Error& e) {
    return {"Error", e.what()};
  }
}

bool names(const std::string& what, const std::string& part) { return what.find(part) != std::string::npos; }

void node_death(double timeout_s) {
  // Rank 2 (the driver's node) is full while the work below is placed, so it goes to rank 3.
  auto blocker = raympi::actor(make_probe).num_cpus(4).remote();
  raympi::get(blocker.task(&Probe::where).remote());
  // The GS learns rank 2 is full from its next load report (a heartbeat at the latest).
  std::this_thread::sleep_for(std::chrono::milliseconds(600));
  auto lonely = raympi::actor(make_probe).resource("node:3", 0.01).remote();           // no restarts
  auto phoenix = raympi::actor(make_probe).num_cpus(2).max_restarts(1).remote();        // may move
  check(raympi::get(lonely.task(&Probe::where).remote()) == 3, "an actor runs on rank 3");
  check(raympi::get(phoenix.task(&Probe::where).remote()) == 3, "a restartable actor runs on rank 3");
  auto held = pinned(bytes, 3).remote(200000);  // above the inline size: stays on rank 3
  check(raympi::get(pinned(length, 3).remote(held)) == 200000, "an object is held by rank 3");
  auto doomed = raympi::task(sleep_then).num_cpus(1).remote(4000, 1);
  auto retried = raympi::task(sleep_then).num_cpus(1).max_retries(1).remote(4000, 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // both started on rank 3
  blocker.kill();  // rank 2 is free for what fails over
  raympi::get(pinned(die_in, 3).num_cpus(0).remote(200));  // rank 3's CPUs are all taken
  const auto died_at = Clock::now() + std::chrono::milliseconds(200);

  auto [kind, what] = outcome(doomed);
  double t = since(died_at);
  check(kind == "NodeDiedError" && names(what, "rank 3"), "running task: " + kind + ": " + what);
  check(t <= timeout_s + 10, "error " + std::to_string(t) + " s after the death (heartbeat timeout " +
                                 std::to_string(timeout_s) + " s)");
  check(raympi::get(retried) == 2, "a task with max_retries ran again on another node");
  bool dead_listed = false;
  for (auto& n : raympi::nodes())
    if (n.rank == 3) dead_listed = !n.alive;
  check(dead_listed, "nodes() shows rank 3 dead");
  std::tie(kind, what) = outcome(held);
  check(kind == "ObjectLostError" && names(what, "rank 3"), "object held by it: " + kind + ": " + what);
  std::tie(kind, what) = outcome(lonely.task(&Probe::where).remote());
  check(kind == "ActorDiedError" && names(what, "rank 3"), "actor without restarts: " + kind + ": " + what);
  int moved = -1;
  try {
    moved = raympi::get(phoenix.task(&Probe::where).remote());
  } catch (const std::exception& e) {
    check(false, std::string("restartable actor: ") + e.what());
  }
  check(moved == 2, "the restartable actor runs again on rank " + std::to_string(moved));
  auto t0 = Clock::now();
  std::tie(kind, what) = outcome(pinned(rank_here, 3).remote());
  check(kind == "NodeDiedError" && since(t0) < 1.0, "work pinned to the dead node: " + kind + ": " + what);
  check(raympi::get(raympi::task(rank_here).remote()) == 2, "new work runs on the live node");
}

void role_death(int victim, double timeout_s) {
  // On rank 3: the driver blocks in get (a task queued on its own node would run inline).
  auto long_task = pinned(sleep_then, 3).remote(60000, 1);
  const auto t0 = Clock::now();
  auto [kind, what] = outcome(long_task);
  double t = since(t0);
  const std::string role = victim == 0 ? "global scheduler" : "GCS";
  check(kind == "Error" && names(what, role) && names(what, "rank " + std::to_string(victim)),
        "get while the " + role + " died: " + kind + ": " + what);
  check(t <= timeout_s + 10, "error " + std::to_string(t) + " s after the get began");
  try {
    raympi::task(rank_here).remote();
    check(false, "a submission after the loss was accepted");
  } catch (const raympi::Error& e) {
    check(names(e.what(), role), std::string("a submission after the loss: ") + e.what());
  }
}

// A rank dies during the shutdown handshake. Returns the longest time
// shutdown() may take: the heartbeat timeout plus a margin for this host.
double shutdown_death(const std::string& mode, double timeout_s) {
  check(raympi::get(pinned(rank_here, 3).remote()) == 3, "rank 3 serves before the shutdown");
  if (mode == "shutdown_finishing") {
    // Still running when the shutdown begins: rank 3 finishes it (tells the
    // driver it lives), then dies 1 s into the shutdown.
    (void)pinned(die_while_running, 3).remote(1500, 60000);
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  } else if (mode == "shutdown_driver") {
    // Rank 3 is busy for a minute; the driver dies 1 s into its shutdown.
    (void)pinned(sleep_then, 3).remote(60000, 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    kill_self_in(1000);
  }
  // shutdown_acked: rank 3 set RAYMPI_INJECT_FAULT=die_after_ack before init.
  return timeout_s + 5;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  const char* env_rank = std::getenv("OMPI_COMM_WORLD_RANK");
  if (!env_rank) env_rank = std::getenv("SLURM_PROCID");
  const int world_rank = env_rank ? std::atoi(env_rank) : -1;
  const int victim = mode == "gs" ? 0 : mode == "gcs" ? 1 : -1;
  if (victim >= 0 && world_rank == victim) kill_self_in(1500);  // before init: ranks 0 and 1 serve inside it
  if (mode == "shutdown_acked" && world_rank == 3) setenv("RAYMPI_INJECT_FAULT", "die_after_ack", 1);
  raympi::init(argc, argv);  // returns on the driver only
  const char* to = std::getenv("RAYMPI_HEARTBEAT_TIMEOUT_MS");
  const double timeout_s = to ? std::atof(to) / 1000 : 10;
  if (raympi::current_rank() != 2 || raympi::nodes().size() != 2) {
    std::printf("FAULT_FAIL node_failure needs mpiexec -n 4\n");
    return 1;
  }
  double shutdown_limit_s = 10;
  if (mode == "node") node_death(timeout_s);
  else if (victim >= 0) role_death(victim, timeout_s);
  else if (mode.rfind("shutdown_", 0) == 0) shutdown_limit_s = shutdown_death(mode, timeout_s);
  else check(false, "unknown mode '" + mode + "' (node, gs, gcs, shutdown_finishing, shutdown_acked, shutdown_driver)");
  const auto t0 = Clock::now();
  raympi::shutdown();
  check(since(t0) < shutdown_limit_s, "shutdown returned in " + std::to_string(since(t0)) + " s");
  return failures == 0 ? 0 : 1;
}
