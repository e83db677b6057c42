#include "transport/cma.hpp"

#include <sys/prctl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>

#include "transport/transport.hpp"

namespace raympi::detail {

namespace {
// What peers read back in the probe: it proves the read reached this process.
volatile std::uint64_t g_probe_word = 0;
constexpr std::uint64_t kProbeMagic = 0x7261796d70692d63ull;  // "raympi-c"
// process_vm_readv moves at most IOV_MAX... and a few GiB per call: chunks.
constexpr std::size_t kChunk = std::size_t(1) << 30;
}  // namespace

std::string CmaPeers::read(std::int64_t pid, std::uint64_t address, char* dst, std::size_t size) {
  std::size_t done = 0;
  while (done < size) {
    std::size_t n = std::min(kChunk, size - done);
    iovec local{dst + done, n};
    iovec remote{reinterpret_cast<void*>(address + done), n};
    ssize_t got = process_vm_readv(pid_t(pid), &local, 1, &remote, 1, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return std::string("process_vm_readv from pid ") + std::to_string(pid) + ": " + std::strerror(errno);
    }
    if (got == 0) return "process_vm_readv from pid " + std::to_string(pid) + ": no bytes read";
    done += std::size_t(got);
  }
  return {};
}

int CmaPeers::count() const { return int(std::count(usable_.begin(), usable_.end(), true)); }

CmaPeers CmaPeers::probe(MPI_Comm comm, bool enable, std::string& why) {
  CmaPeers out;
  const int rank = comm_rank(comm), size = comm_size(comm);
  out.pid_ = ::getpid();
  out.usable_.assign(std::size_t(size), false);
  int ok = enable ? 1 : 0;
  int all = 0;
  MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, comm);
  if (!all) {
    why = "off (RAYMPI_CMA=0)";
    return out;
  }
  // Yama ptrace_scope 1 lets a process read only its descendants unless it
  // names a tracer: allow any process of this user, as Open MPI's vader does
  // for its own cma. (EINVAL without Yama: nothing to allow then.)
  prctl(PR_SET_PTRACER, PR_SET_PTRACER_ANY, 0, 0, 0);
  g_probe_word = kProbeMagic ^ std::uint64_t(out.pid_);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::ostringstream mine;
  mine << host << '\n' << out.pid_ << ' ' << reinterpret_cast<std::uintptr_t>(&g_probe_word);
  auto all_info = allgather_strings(comm, mine.str());  // also orders the prctl calls before the reads
  std::vector<bool> same(std::size_t(size), false);
  for (int r = 0; r < size; ++r) {
    if (r == rank) continue;
    std::istringstream in(all_info[std::size_t(r)]);
    std::string their_host;
    std::int64_t pid = 0;
    std::uintptr_t address = 0;
    std::getline(in, their_host);
    in >> pid >> address;
    if (their_host != host) continue;
    same[std::size_t(r)] = true;
    std::uint64_t word = 0;
    std::string error = read(pid, address, reinterpret_cast<char*>(&word), sizeof word);
    if (error.empty() && word != (kProbeMagic ^ std::uint64_t(pid)))
      error = "process_vm_readv from pid " + std::to_string(pid) + " read the wrong bytes";
    if (!error.empty()) {
      ok = 0;
      why = "rank " + std::to_string(rank) + " cannot read rank " + std::to_string(r) + ": " + error;
      break;
    }
  }
  MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_MIN, comm);
  if (!all) {
    if (why.empty()) why = "another rank of this host could not read its peers";
    return out;
  }
  out.usable_ = same;
  return out;
}

}  // namespace raympi::detail
