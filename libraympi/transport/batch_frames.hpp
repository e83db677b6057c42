#pragma once
// MpiTransport's batches: small control messages bound for one rank travel as
// one MPI message, a marker byte then, per message, its 4-byte length and its
// bytes. Header-only and free of MPI, so that the fuzzers (tests/fuzz) and
// the unit tests decode exactly what the transport decodes.

#include <cstdint>
#include <cstring>
#include <string>

#include "raympi/detail/buffer.hpp"
#include "raympi/errors.hpp"

namespace raympi::detail {

/// First byte of a batch. No message starts with it (MsgType values are small).
inline constexpr std::uint8_t kBatchMarker = 0xFF;
inline constexpr std::size_t kFrameHeaderBytes = 4;

/// Bytes of the batch that holds `msgs[0..count)`.
inline std::size_t batch_bytes(const Buffer* msgs, std::size_t count) {
  std::size_t bytes = 1;
  for (std::size_t k = 0; k < count; ++k) bytes += kFrameHeaderBytes + msgs[k].size;
  return bytes;
}

/// Writes the batch of `msgs[0..count)` (each under 4 GiB) to `p`, which has batch_bytes of room.
inline void write_batch(char* p, const Buffer* msgs, std::size_t count) {
  std::size_t off = 0;
  p[off++] = char(kBatchMarker);
  for (std::size_t k = 0; k < count; ++k) {
    const std::uint32_t n = std::uint32_t(msgs[k].size);
    std::memcpy(p + off, &n, kFrameHeaderBytes);
    if (n) std::memcpy(p + off + kFrameHeaderBytes, msgs[k].data, n);
    off += kFrameHeaderBytes + n;
  }
}

inline bool is_batch(const Buffer& b) { return b.size > 0 && std::uint8_t(b.data[0]) == kBatchMarker; }

/// Calls `deliver(Buffer)` with each message of a batch (views into `batch`,
/// no copy). The frames are checked first: no frame at all, a frame that is
/// empty or runs past the end is a raympi::Error and nothing is delivered.
template <class Deliver>
void for_each_batched(const Buffer& batch, Deliver&& deliver) {
  std::size_t off = 1, count = 0;
  while (off < batch.size) {
    std::uint32_t n = 0;
    const char* problem = nullptr;
    if (batch.size - off < kFrameHeaderBytes) {
      problem = "has its length cut short";
    } else {
      std::memcpy(&n, batch.data + off, kFrameHeaderBytes);
      if (n == 0) problem = "is empty";
      else if (batch.size - off - kFrameHeaderBytes < n) problem = "runs past the end";
    }
    if (problem)
      throw Error("raympi: malformed message batch (" + std::to_string(batch.size) + " bytes): frame " +
                  std::to_string(count) + " at byte " + std::to_string(off) + " " + problem);
    off += kFrameHeaderBytes + n;
    ++count;
  }
  if (count == 0) throw Error("raympi: malformed message batch: it holds no message");
  for (off = 1; off < batch.size;) {
    std::uint32_t n = 0;
    std::memcpy(&n, batch.data + off, kFrameHeaderBytes);
    deliver(batch.sub(off + kFrameHeaderBytes, n));
    off += kFrameHeaderBytes + n;
  }
}

}  // namespace raympi::detail
