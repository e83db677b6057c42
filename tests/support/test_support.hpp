#pragma once
// Helpers shared by the raympi integration tests: the job's shape (which
// ranks are nodes, which one hosts the driver), pinning tasks to a node,
// per-node runtime counters, and "gates" that keep a task running until the
// test releases it (deterministic "not ready yet" objects, no sleeps).
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <raympi/raympi.hpp>

namespace raympi_test {

/// Size of MPI_COMM_WORLD.
int world_size();
/// The node ranks: {0} for 1 rank, {1} for 2 ranks, {2..n-1} otherwise.
std::vector<int> node_ranks();
/// The rank the driver (the test body) runs on; its node runs in this process.
int driver_rank();
/// A node rank other than the driver's if the job has one, else the driver's.
int other_rank();
/// "node:<rank>": the automatic custom resource that pins a task to that node.
std::string node_tag(int rank);

/// raympi::task(f) pinned to `rank` (demands 0.01 of "node:<rank>").
template <class F>
auto on_node(F f, int rank) {
  auto caller = raympi::task(f);
  caller.resource(node_tag(rank), 0.01);
  return caller;
}

/// Remote: the rank the task runs on.
int where_am_i();
/// Remote: the counters of the rank the task runs on.
raympi::detail::LocalStats stats_here();
/// Counters of `rank` (locally on the driver's rank, else via a pinned task).
raympi::detail::LocalStats stats_on(int rank);

/// A key no other test of this process uses (gates, per-test counters).
int fresh_key();

/// Remote: blocks until open_gate(key) runs in the same process (cap: 120 s,
/// then throws), returns key. Pin it to driver_rank() and the driver opens it.
int gate_wait(int key);
/// Opens a gate of this process.
void open_gate(int key);

/// Opens the gates it holds when it goes out of scope (also on a failed ASSERT),
/// so that no blocked task outlives its test.
class GateGuard {
 public:
  int add() {
    keys_.push_back(fresh_key());
    return keys_.back();
  }
  void open_all() {
    for (int k : keys_) open_gate(k);
  }
  ~GateGuard() { open_all(); }

 private:
  std::vector<int> keys_;
};

/// Seconds since `t0`.
double seconds_since(std::chrono::steady_clock::time_point t0);

/// Polls `pred` every 5 ms until it holds (true) or `seconds` pass (false):
/// for state that other ranks report asynchronously (GCS tables, frees).
template <class F>
bool eventually(F pred, double seconds = 10) {
  auto t0 = std::chrono::steady_clock::now();
  while (!pred()) {
    if (seconds_since(t0) > seconds) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

/// Makes `folder` unwritable for the scope, for root too (the immutable flag
/// on ext4/xfs; else chmod 0555), and restores its flags and mode after.
/// ok(): a file really cannot be created there now (else the test should skip).
class UnwritableFolder {
 public:
  explicit UnwritableFolder(const std::string& folder);
  ~UnwritableFolder();
  UnwritableFolder(const UnwritableFolder&) = delete;
  UnwritableFolder& operator=(const UnwritableFolder&) = delete;
  bool ok() const { return ok_; }

 private:
  std::string folder_;
  int fd_ = -1, flags_ = 0;
  unsigned mode_ = 0;
  bool immutable_ = false, ok_ = false;
};

}  // namespace raympi_test
