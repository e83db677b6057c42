#pragma once
// The data plane's bookkeeping for one transfer, shared by ucx_plane.cpp and
// ucx_plane_cma.cpp (internal to transport/).

#include <cstdint>
#include <string>
#include <utility>

#include "transport/ucx_plane.hpp"

namespace raympi::detail {

struct UcxPlane::EpArg {
  UcxPlane* plane;
  int rank;
};

struct UcxPlane::Op {
  Op(UcxPlane* p, int from_or_to, Buffer b, std::size_t size = 0)
      : plane(p), peer(from_or_to), bytes(std::move(b)), expected(size) {}
  UcxPlane* plane;
  int peer;
  Buffer bytes;
  std::size_t expected = 0;
  SendDone send_done;
  RecvDone recv_done;
  void* request = nullptr;
  char* mem = nullptr;          // a receive: where the bytes go
  std::string error;            // a failure UCX does not know of (a CMA read)
  std::uint64_t descriptor[3]{};  // CMA: the holder's pid, the bytes' address, their size
  char release = 0;             // CMA: the reader's one-byte release lands here
  std::uint64_t tag = 0;        // CMA: the transfer's tag
};

void ucx_plane_send_done(void* request, ucs_status_t status, void* user);
void ucx_plane_recv_done(void* request, ucs_status_t status, const ucp_tag_recv_info_t* info, void* user);

}  // namespace raympi::detail
