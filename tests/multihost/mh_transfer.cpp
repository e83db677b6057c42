// Object bytes between the test hosts (tests/multihost/data_plane.sh): the
// driver (node rank 2, host 1) has an object of MIB MiB made on every other
// node rank and gets it; then the last node makes one that the first other
// node reads (node to node, neither of them the driver's host).
//
//   mh_transfer MIB
//
// Per transfer it prints
//   MH_TRANSFER from=<rank>@<host> to=<rank>@<host> bytes=<n> ucx=<bytes the
//               reader received over UCX meanwhile> intact=<0|1>
// and at the end "MH_DATA_PLANE ucx|mpi" (the driver's LocalStats) and
// "MH_DONE". The script compares these with the hosts' network counters: a
// transfer that UCX carried over shared memory would leave them unchanged.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <raympi/raympi.hpp>

namespace {

using Bytes = std::vector<std::uint8_t>;

Bytes make_bytes(std::uint64_t size, int seed) {
  Bytes b(size);
  for (std::uint64_t i = 0; i < size; ++i) b[i] = std::uint8_t(i * 31 + std::uint64_t(seed));
  return b;
}

std::uint64_t checksum(const Bytes& b) {
  std::uint64_t h = 1469598103934665603ull;
  for (std::uint8_t c : b) h = (h ^ c) * 1099511628211ull;
  return h;
}

std::uint64_t ucx_received() { return raympi::detail::local_stats().data_plane_received; }

std::string host_here() {
  char buf[256] = {};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

}  // namespace

RAYMPI_REMOTE(make_bytes, checksum, ucx_received, host_here);

namespace {

template <class F>
auto on(F f, int rank) {
  return raympi::task(f).resource("node:" + std::to_string(rank), 0.01);
}

int failures = 0;

void report(int from, int to, std::uint64_t size, std::uint64_t ucx, bool intact) {
  std::printf("MH_TRANSFER from=%d@%s to=%d@%s bytes=%llu ucx=%llu intact=%d\n", from,
              raympi::get(on(host_here, from).remote()).c_str(), to, raympi::get(on(host_here, to).remote()).c_str(),
              static_cast<unsigned long long>(size), static_cast<unsigned long long>(ucx), intact ? 1 : 0);
  std::fflush(stdout);
  if (!intact) ++failures;
}

}  // namespace

int main(int argc, char** argv) {
  raympi::init(argc, argv);  // returns on the driver only
  const std::uint64_t size = std::uint64_t(argc > 1 ? std::atoll(argv[1]) : 64) << 20;
  const int me = raympi::current_rank();
  std::vector<int> others;
  for (const raympi::NodeInfo& n : raympi::nodes())
    if (n.rank != me) others.push_back(n.rank);
  for (int r : others) {
    // Counted from before the task: waiting for the ref may already pull it here.
    const std::uint64_t before = ucx_received();
    auto ref = on(make_bytes, r).remote(size, r);
    Bytes got = raympi::get(ref);
    const std::uint64_t ucx = ucx_received() - before;
    report(r, me, got.size(), ucx, got.size() == size && checksum(got) == checksum(make_bytes(size, r)));
  }
  if (others.size() >= 2) {
    const int from = others.back(), to = others.front();
    auto ref = on(make_bytes, from).remote(size, from);  // no wait: it would pull the object to the driver
    const std::uint64_t before = raympi::get(on(ucx_received, to).remote());
    const std::uint64_t sum = raympi::get(on(checksum, to).remote(ref));
    const std::uint64_t ucx = raympi::get(on(ucx_received, to).remote()) - before;
    report(from, to, size, ucx, sum == checksum(make_bytes(size, from)));
  }
  std::printf("MH_DATA_PLANE %s\n", raympi::detail::local_stats().data_plane ? "ucx" : "mpi");
  raympi::shutdown();
  std::printf("MH_DONE failures=%d\n", failures);
  return failures == 0 ? 0 : 1;
}
