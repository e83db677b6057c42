#include "test_support.hpp"

#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

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

UnwritableFolder::UnwritableFolder(const std::string& folder) : folder_(folder) {
  struct stat st {};
  if (::stat(folder_.c_str(), &st) == 0) mode_ = st.st_mode & 07777;
  fd_ = ::open(folder_.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd_ < 0) return;
  if (::ioctl(fd_, FS_IOC_GETFLAGS, &flags_) == 0) {
    int set = flags_ | FS_IMMUTABLE_FL;
    immutable_ = ::ioctl(fd_, FS_IOC_SETFLAGS, &set) == 0;
  }
  if (!immutable_) ::chmod(folder_.c_str(), 0555);
  const std::string probe = folder_ + "/probe";
  int p = ::open(probe.c_str(), O_CREAT | O_WRONLY, 0600);
  ok_ = p < 0;
  if (p >= 0) {
    ::close(p);
    ::unlink(probe.c_str());
  }
}

UnwritableFolder::~UnwritableFolder() {
  if (fd_ < 0) return;
  if (immutable_) ::ioctl(fd_, FS_IOC_SETFLAGS, &flags_);
  if (mode_) ::chmod(folder_.c_str(), mode_);
  ::close(fd_);
}

}  // namespace raympi_test

RAYMPI_REMOTE(raympi_test::where_am_i, raympi_test::stats_here, raympi_test::gate_wait);
