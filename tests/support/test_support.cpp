#include "test_support.hpp"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

namespace raympi_test {

namespace {
std::mutex g_gate_mu;
std::condition_variable g_gate_cv;
std::set<int> g_open_gates;
std::atomic<int> g_next_key{1};
}  // namespace

int world_size() {
  int n = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

std::vector<int> node_ranks() {
  int n = world_size();
  if (n == 1) return {0};
  if (n == 2) return {1};
  std::vector<int> out;
  for (int r = 2; r < n; ++r) out.push_back(r);
  return out;
}

int driver_rank() { return raympi::current_rank(); }

int other_rank() {
  for (int r : node_ranks())
    if (r != driver_rank()) return r;
  return driver_rank();
}

std::string node_tag(int rank) { return "node:" + std::to_string(rank); }

int where_am_i() { return raympi::current_rank(); }

raympi::detail::LocalStats stats_here() { return raympi::detail::local_stats(); }

raympi::detail::LocalStats stats_on(int rank) {
  if (rank == driver_rank()) return raympi::detail::local_stats();
  return raympi::get(on_node(stats_here, rank).remote());
}

int fresh_key() { return g_next_key.fetch_add(1); }

int gate_wait(int key) {
  std::unique_lock lk(g_gate_mu);
  if (!g_gate_cv.wait_for(lk, std::chrono::seconds(120), [&] { return g_open_gates.count(key) > 0; }))
    throw std::runtime_error("gate " + std::to_string(key) + " was never opened (pin gate_wait to the driver's rank)");
  return key;
}

void open_gate(int key) {
  {
    std::lock_guard lk(g_gate_mu);
    g_open_gates.insert(key);
  }
  g_gate_cv.notify_all();
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace raympi_test

RAYMPI_REMOTE(raympi_test::where_am_i, raympi_test::stats_here, raympi_test::gate_wait);
