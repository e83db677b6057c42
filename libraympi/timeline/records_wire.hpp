#pragma once
// A node's event records as they travel to the driver (timeline_reply): the
// records of each kind as one raw block, after the message's counts. The
// receiving side checks the counts against the bytes (they come from another
// rank) before it copies anything.

#include <cstdint>
#include <cstring>
#include <string>

#include "raympi/detail/buffer.hpp"
#include "raympi/errors.hpp"
#include "timeline/records.hpp"

namespace raympi::detail {

/// The records of `b` as one raw block (tasks, then edges, then transfers).
inline Buffer encode_records(const EventBatch& b) {
  const std::size_t bt = b.tasks.size() * sizeof(TaskRecord), be = b.edges.size() * sizeof(EdgeRecord),
                    bx = b.transfers.size() * sizeof(TransferRecord);
  char* p = nullptr;
  Buffer out = allocate_buffer(bt + be + bx, p);
  if (bt) std::memcpy(p, b.tasks.data(), bt);
  if (be) std::memcpy(p + bt, b.edges.data(), be);
  if (bx) std::memcpy(p + bt + be, b.transfers.data(), bx);
  return out;
}

/// Reverses encode_records, given the counts; a raympi::Error when they do not match the bytes.
inline EventBatch decode_records(const Buffer& bytes, std::uint64_t tasks, std::uint64_t edges, std::uint64_t transfers) {
  // The counts come from another rank: bounded by the bytes before they are multiplied (no wrap-around).
  const bool counts_fit = tasks <= bytes.size / sizeof(TaskRecord) && edges <= bytes.size / sizeof(EdgeRecord) &&
                          transfers <= bytes.size / sizeof(TransferRecord);
  const std::size_t bt = counts_fit ? tasks * sizeof(TaskRecord) : 0, be = counts_fit ? edges * sizeof(EdgeRecord) : 0,
                    bx = counts_fit ? transfers * sizeof(TransferRecord) : 0;
  if (!counts_fit || bytes.size != bt + be + bx)
    throw Error("raympi::timeline: a node's records arrived as " + std::to_string(bytes.size) + " bytes for " +
                std::to_string(tasks) + " tasks, " + std::to_string(edges) + " edges and " +
                std::to_string(transfers) + " transfers (a corrupt reply)");
  EventBatch b;
  b.tasks.resize(tasks);
  b.edges.resize(edges);
  b.transfers.resize(transfers);
  if (bt) std::memcpy(b.tasks.data(), bytes.data, bt);
  if (be) std::memcpy(b.edges.data(), bytes.data + bt, be);
  if (bx) std::memcpy(b.transfers.data(), bytes.data + bt + be, bx);
  return b;
}

}  // namespace raympi::detail
