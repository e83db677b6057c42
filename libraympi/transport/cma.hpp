#pragma once
// Same-host object bytes by cross-memory attach (Linux process_vm_readv):
// the reader copies straight out of the holder's memory, one copy at memcpy
// speed. UCX could do this too (its cma transport), but not on endpoints with
// peer error handling, which raympi needs to notice a dead holder: UCX 1.13
// then moves same-host bytes over tcp loopback at a fraction of the speed.
// So the data plane keeps its UCX endpoints (they carry a small descriptor
// and the release, and watch the peer) and copies the bytes itself here.

#include "base/mpi.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace raympi::detail {

/// @brief Which peers this rank may read by process_vm_readv.
class CmaPeers {
 public:
  /// Collective over `comm`: exchanges host names and pids, lets any process
  /// of this user read this one (Yama's ptrace_scope 1 would forbid siblings
  /// otherwise), and test-reads every same-host peer. On every rank, or on
  /// none: when any rank cannot read a same-host peer (seccomp, ptrace_scope
  /// 2+, another user) or `enable` is false, no peer is usable and `why`
  /// says why on the ranks that know.
  static CmaPeers probe(MPI_Comm comm, bool enable, std::string& why);

  /// True when `rank` is on this host and readable (this rank excluded).
  bool usable(int rank) const { return rank >= 0 && std::size_t(rank) < usable_.size() && usable_[std::size_t(rank)]; }
  /// How many peers are usable (for logs).
  int count() const;
  /// This process's pid, as peers see it.
  std::int64_t pid() const { return pid_; }

  /// Copies `size` bytes at `address` in process `pid` to `dst`. Returns an
  /// empty string, or why it failed (the process is gone: "No such process").
  static std::string read(std::int64_t pid, std::uint64_t address, char* dst, std::size_t size);

 private:
  std::vector<bool> usable_;
  std::int64_t pid_ = 0;
};

}  // namespace raympi::detail
