// Integration: a node rank dies while an object it holds is on its way to
// the driver's node over the data plane. The reader's get fails with
// ObjectLostError naming the broken transfer -- no hang -- and the job still
// shuts down with the surviving ranks (mpiexec runs it with Open MPI's
// orte_enable_recovery so the other ranks outlive the dead one). ctest runs
// it with UCX's default transports and with UCX_TLS=tcp.
#include <gtest/gtest.h>

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include <raympi/raympi.hpp>

#include "test_support.hpp"

namespace {

using Bytes = std::vector<std::uint8_t>;
using namespace raympi_test;

Bytes make_filled(std::uint64_t size, std::uint8_t value) { return Bytes(size, value); }
std::uint64_t size_of(const Bytes& b) { return b.size(); }

// Arms a watcher on this node rank: once `bytes` more were handed to UCX for
// sending (a transfer is under way), the rank dies -- SIGKILL, no clean-up,
// as a crashed node would.
bool die_while_sending(std::uint64_t bytes) {
  bytes += raympi::detail::local_stats().data_plane_sent;
  std::thread([bytes] {
    while (raympi::detail::local_stats().data_plane_sent < bytes) std::this_thread::sleep_for(std::chrono::microseconds(200));
    raise(SIGKILL);
  }).detach();
  return true;
}

}  // namespace

RAYMPI_REMOTE(make_filled, size_of, die_while_sending);

TEST(PeerFailure, TransferInterruptedByTheHoldersDeathIsAnErrorNotAHang) {
  if (world_size() < 4) GTEST_SKIP() << "needs two node ranks (mpiexec -n 4)";
  if (!raympi::detail::local_stats().data_plane) GTEST_SKIP() << "the data plane (UCX) is off";
  const std::uint64_t size = 1ull << 30;
  const int holder = other_rank();
  auto ref = on_node(make_filled, holder).remote(size, std::uint8_t(7));
  // Made and kept on the holder (a task there reads it; wait() would fetch it here).
  ASSERT_EQ(raympi::get(on_node(size_of, holder).remote(ref)), size);
  ASSERT_TRUE(raympi::get(on_node(die_while_sending, holder).remote(size)));
  auto t0 = std::chrono::steady_clock::now();
  try {
    Bytes got = raympi::get(ref);
    FAIL() << "got " << got.size() << " bytes from a rank that died while sending them";
  } catch (const raympi::ObjectLostError& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("rank " + std::to_string(holder)), std::string::npos) << what;
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_LT(seconds, 60.0) << "the error came, but late";
  std::printf("get failed %.3f s after the transfer started\n", seconds);
}
