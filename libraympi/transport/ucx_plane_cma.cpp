// Same-host transfers of the data plane by cross-memory attach (see
// transport/cma.hpp for why). The holder keeps the bytes (its Op holds the
// Buffer) and sends a descriptor with the transfer's tag; the reader copies
// the bytes out of the holder's memory with process_vm_readv and sends a
// one-byte release (tag | kRelease), on which the holder's transfer is done.
// Both sides keep their UCX endpoint to the peer (peer error handling on):
// a peer that dies fails the pending descriptor or release like any transfer.
#include "base/log.hpp"
#include "transport/ucx_plane_op.hpp"

namespace raympi::detail {

namespace {
// Transfer tags (UcxPlane::next_tag) never use the top bit.
constexpr std::uint64_t kRelease = std::uint64_t(1) << 63;
constexpr std::uint64_t kAllBits = ~std::uint64_t(0);
const char kReleaseByte = 1;

void ucx_plane_request_free(void* request, ucs_status_t, void*) { ucp_request_free(request); }

// Sends a small message nobody waits for (its failure shows on the endpoint).
void send_small(ucp_ep_h ep, const void* data, std::size_t size, std::uint64_t tag) {
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK;
  p.cb.send = ucx_plane_request_free;
  ucs_status_ptr_t r = ucp_tag_send_nbx(ep, data, size, tag, &p);
  if (UCS_PTR_IS_ERR(r)) RAYMPI_LOG_DEBUG("data plane: a control message failed: {}", ucs_status_string(UCS_PTR_STATUS(r)));
}
}  // namespace

void ucx_plane_cma_descriptor_arrived(void* request, ucs_status_t status, const ucp_tag_recv_info_t* info,
                                      void* user) {
  auto* op = static_cast<UcxPlane::Op*>(user);
  ucp_request_free(request);
  op->request = nullptr;
  UcxPlane* plane = op->plane;
  if (status == UCS_OK && (!info || info->length != sizeof op->descriptor)) status = UCS_ERR_MESSAGE_TRUNCATED;
  if (status != UCS_OK) return plane->finish(op, status);
  const std::uint64_t tag = op->tag;
  if (op->descriptor[2] != op->expected) {
    op->error = "rank " + std::to_string(op->peer) + " described " + std::to_string(op->descriptor[2]) +
                " bytes, " + std::to_string(op->expected) + " expected";
  } else {
    std::string why = CmaPeers::read(std::int64_t(op->descriptor[0]), op->descriptor[1], op->mem, op->expected);
    if (!why.empty()) op->error = "reading the bytes from rank " + std::to_string(op->peer) + " (cma): " + why;
    else plane->cma_received_.fetch_add(op->expected, std::memory_order_relaxed);
  }
  // Released even after a failed read: the holder may drop the bytes.
  if (ucp_ep_h ep = plane->endpoint(op->peer)) send_small(ep, &kReleaseByte, 1, tag | kRelease);
  plane->finish(op, op->error.empty() ? UCS_OK : UCS_ERR_IO_ERROR);
}

void UcxPlane::send_by_cma(Op* op, ucp_ep_h ep, std::uint64_t tag) {
  op->descriptor[0] = std::uint64_t(cma_.pid());
  op->descriptor[1] = reinterpret_cast<std::uintptr_t>(op->bytes.data);
  op->descriptor[2] = op->bytes.size;
  op->expected = 1;
  // The release is awaited before the descriptor leaves, so it cannot be missed.
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FLAG_NO_IMM_CMPL;
  p.cb.recv = ucx_plane_recv_done;
  p.user_data = op;
  ucs_status_ptr_t r = ucp_tag_recv_nbx(ucp_.get(), &op->release, 1, tag | kRelease, kAllBits, &p);
  if (UCS_PTR_IS_ERR(r)) return finish(op, UCS_PTR_STATUS(r));
  op->request = r;
  inflight_.push_back(op);
  sent_.fetch_add(op->bytes.size, std::memory_order_relaxed);
  send_small(ep, op->descriptor, sizeof op->descriptor, tag);
}

void UcxPlane::recv_by_cma(Op* op, std::uint64_t tag) {
  op->tag = tag;
  // No immediate completion: the callback always runs (it reads the bytes),
  // possibly before ucp_tag_recv_nbx returns, so the op is listed first.
  inflight_.push_back(op);
  ucp_request_param_t p{};
  p.op_attr_mask = UCP_OP_ATTR_FIELD_CALLBACK | UCP_OP_ATTR_FIELD_USER_DATA | UCP_OP_ATTR_FLAG_NO_IMM_CMPL;
  p.cb.recv = ucx_plane_cma_descriptor_arrived;
  p.user_data = op;
  ucs_status_ptr_t r = ucp_tag_recv_nbx(ucp_.get(), op->descriptor, sizeof op->descriptor, tag, kAllBits, &p);
  if (UCS_PTR_IS_ERR(r)) return finish(op, UCS_PTR_STATUS(r));
  // The callback may have run (and deleted op) already: the request is only
  // recorded while op is still listed as in flight.
  for (Op* o : inflight_)
    if (o == op) {
      op->request = r;
      return;
    }
}

}  // namespace raympi::detail
