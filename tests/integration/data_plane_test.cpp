// Integration: object bytes between node ranks over the data plane (UCX when
// it starts, MPI otherwise): sizes from 0 B to 1 GiB made on one node and
// read on the other, checked byte for byte by checksum. ctest runs it at
// NP 4 with UCX's default transports, with UCX_TLS=tcp, and with RAYMPI_UCX=0.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <numeric>
#include <vector>

#include <raympi/raympi.hpp>

#include "test_support.hpp"

namespace {

using raympi::ObjectRef;
using namespace raympi_test;
using Bytes = std::vector<std::uint8_t>;

std::uint64_t checksum(const Bytes& b) {
  std::uint64_t h = 1469598103934665603ull;  // FNV-1a over every byte
  for (std::uint8_t c : b) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h ^ b.size();
}
Bytes pattern(std::uint64_t size, std::uint64_t seed) {
  Bytes b(size);
  std::uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
  for (auto& c : b) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = std::uint8_t(x);
  }
  return b;
}
// Made where it runs; stays in that node's store (over the inline size).
Bytes make_bytes(std::uint64_t size, std::uint64_t seed) { return pattern(size, seed); }
std::uint64_t checksum_of(const Bytes& b) { return checksum(b); }
// Fast content for the memory test: every byte is `value`; the sum proves it.
Bytes make_filled(std::uint64_t size, std::uint8_t value) { return Bytes(size, value); }
std::uint64_t sum_of(const Bytes& b) { return std::accumulate(b.begin(), b.end(), std::uint64_t(0)); }
// Resident memory of the process it runs in, in bytes.
std::uint64_t rss_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  unsigned long pages = 0, resident = 0;
  if (f) {
    if (std::fscanf(f, "%lu %lu", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  return std::uint64_t(resident) * std::uint64_t(sysconf(_SC_PAGESIZE));
}

}  // namespace

RAYMPI_REMOTE(make_bytes, checksum_of, make_filled, sum_of, rss_bytes);

namespace {

class DataPlane : public ::testing::TestWithParam<std::uint64_t> {
 protected:
  void SetUp() override {
    if (world_size() < 4) GTEST_SKIP() << "needs two node ranks (mpiexec -n 4)";
  }
};

TEST_P(DataPlane, ObjectMadeOnTheOtherNodeArrivesIntact) {
  const std::uint64_t size = GetParam();
  const char* ucx = std::getenv("RAYMPI_UCX");
  const bool want_ucx = !(ucx && std::string(ucx) == "0");
  auto before = raympi::detail::local_stats();
  ASSERT_EQ(before.data_plane, want_ucx) << "RAYMPI_UCX=" << (ucx ? ucx : "(unset)");
  const std::uint64_t want = checksum(pattern(size, size + 7));
  ObjectRef<Bytes> ref = on_node(make_bytes, other_rank()).remote(size, size + 7);
  // A task on the driver's node reads it (a pull into that node's store) ...
  EXPECT_EQ(raympi::get(on_node(checksum_of, driver_rank()).remote(ref)), want);
  // ... and so does the driver itself.
  Bytes got = raympi::get(ref);
  ASSERT_EQ(got.size(), size);
  EXPECT_EQ(checksum(got), want);
  // Objects over the inline size came over UCX when it is on (and only then).
  std::uint64_t over_ucx = raympi::detail::local_stats().data_plane_received - before.data_plane_received;
  if (want_ucx && size > 100 * 1024) EXPECT_GE(over_ucx, size);
  else EXPECT_EQ(over_ucx, 0u);
  // Between ranks of one host the bytes are copied by cma (process_vm_readv)
  // unless RAYMPI_CMA=0; across hosts never.
  const char* cma = std::getenv("RAYMPI_CMA");
  const bool same_host = raympi::nodes().front().host == raympi::nodes().back().host;
  const bool want_cma = want_ucx && same_host && !(cma && std::string(cma) == "0") && size > 100 * 1024;
  std::uint64_t over_cma = raympi::detail::local_stats().data_plane_cma_received - before.data_plane_cma_received;
  if (want_cma) EXPECT_GE(over_cma, size) << "RAYMPI_CMA=" << (cma ? cma : "(unset)");
  else EXPECT_EQ(over_cma, 0u) << "RAYMPI_CMA=" << (cma ? cma : "(unset)");
}

TEST_P(DataPlane, ObjectPutOnTheDriverReachesTheOtherNode) {
  const std::uint64_t size = GetParam();
  Bytes b = pattern(size, size + 11);
  const std::uint64_t want = checksum(b);
  ObjectRef<Bytes> ref = raympi::put(std::move(b));
  EXPECT_EQ(raympi::get(on_node(checksum_of, other_rank()).remote(ref)), want);
}

TEST(DataPlaneMemory, CreatingAndDroppingObjectsLeavesMemoryFlat) {
  if (world_size() < 4) GTEST_SKIP() << "needs two node ranks (mpiexec -n 4)";
  // 2.5 GiB in all: 10 objects of 256 MiB, each made on the other node,
  // brought to the driver's node, read, and dropped.
  const std::uint64_t size = 256ull << 20;
  auto rss_on = [](int rank) { return raympi::get(on_node(rss_bytes, rank).remote()); };
  auto warm = on_node(make_filled, other_rank()).remote(size, std::uint8_t(1));  // first use: pools, UCX
  raympi::get(on_node(sum_of, driver_rank()).remote(warm));
  warm = {};
  auto settled = [&](int rank, std::size_t store_bytes) {
    return eventually([&] { return stats_on(rank).store_bytes <= store_bytes; }, 5);
  };
  std::size_t store_here = stats_on(driver_rank()).store_bytes, store_there = stats_on(other_rank()).store_bytes;
  ASSERT_TRUE(settled(driver_rank(), store_here) && settled(other_rank(), store_there));
  std::uint64_t rss_here = rss_on(driver_rank()), rss_there = rss_on(other_rank());
  for (int i = 0; i < 10; ++i) {
    auto ref = on_node(make_filled, other_rank()).remote(size, std::uint8_t(i + 1));
    EXPECT_EQ(raympi::get(on_node(sum_of, driver_rank()).remote(ref)), size * std::uint64_t(i + 1));
  }
  // Every copy is freed, on both nodes, by the store's own count ...
  EXPECT_TRUE(settled(driver_rank(), store_here)) << stats_on(driver_rank()).store_bytes << " bytes left";
  EXPECT_TRUE(settled(other_rank(), store_there)) << stats_on(other_rank()).store_bytes << " bytes left";
  // ... and by the processes' resident memory: one object's worth of slack
  // (the block pool may keep one buffer), plus 1 MiB for the records of the
  // ~40 tasks and 10 transfers this ran (the node's event log fills its
  // bounded buffer page by page; docs/timeline.md).
  const std::uint64_t slack = size + (1u << 20);
  EXPECT_LT(rss_on(driver_rank()), rss_here + slack) << "driver's node grew";
  EXPECT_LT(rss_on(other_rank()), rss_there + slack) << "other node grew";
}

INSTANTIATE_TEST_SUITE_P(Sizes, DataPlane,
                         ::testing::Values(0, 1, 100 * 1024 + 1, 1 << 20, 64ull << 20, 1ull << 30),
                         [](const auto& info) { return std::to_string(info.param) + "B"; });

}  // namespace
