#pragma once
// Chrome Trace Event JSON from the job's event records: what chrome://tracing,
// Perfetto and `raympi timeline` (the HTML view) open. One process per node
// rank, one thread row per worker (and per actor, plus the driver's thread
// for tasks a get ran inline, plus a transport row for pulls and spills), one
// complete event per task, flow events from each producer to its consumers.

#include <cstdint>
#include <map>
#include <string>

#include "timeline/records.hpp"

namespace raympi::detail {

/// @brief What the trace says about the job besides its records.
struct TraceInfo {
  std::map<int, std::string> hosts;  ///< node rank -> host name
  double clock_error_us = 0;         ///< bound on the cross-rank clock offset error
  int ranks = 1;
};

/// @brief Counts of what a trace holds (for tests and logs).
struct TraceCounts {
  std::uint64_t spans = 0, flows = 0, transfers = 0;
};

/// Thread ids of the rows that are not workers.
inline constexpr int kTransportTid = 999999;
inline constexpr int kFirstActorTid = 1000000;

/// Writes the trace to `path` (streamed: memory grows with the number of
/// tasks only through the indexes, not the JSON). Throws raympi::Error naming
/// the path when it cannot be written.
TraceCounts write_chrome_trace(const std::string& path, const EventBatch& events, const TraceInfo& info);

/// The ErrorKind names used in traces and summaries ("task", "object_lost", ...).
const char* error_kind_name(std::int32_t kind);
/// "1.5 MiB": byte counts as traces and summaries print them.
std::string bytes_text(std::uint64_t bytes);

}  // namespace raympi::detail
