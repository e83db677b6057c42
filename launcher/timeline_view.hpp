#pragma once
// `raympi timeline TRACE.json [-o VIEW.html]`: a Chrome trace (the file the
// runtime writes at shutdown, RAYMPI_TIMELINE) as one self-contained HTML page:
// a row per worker, bars for tasks, arrows for dependencies, zoom and tooltips.
// The page's HTML, CSS and JS are launcher/timeline_view.html.in, .css and .js,
// embedded at build time; the trace is embedded as JSON; nothing is fetched.

#include <cstddef>
#include <string>

namespace raympi::launcher {

/// What write_timeline_view found in the trace (the page counts the same).
struct TimelineSummary {
  std::size_t events = 0;  ///< entries of traceEvents
  std::size_t bars = 0;    ///< ph "X" events: one bar each
  std::size_t flows = 0;   ///< "s"/"f" pairs (same cat and id): one arrow each
};

/// The default page for a trace: TRACE.json -> TRACE.html (any other name:
/// the name with ".html" appended).
std::string default_view_path(const std::string& trace_path);

/// Reads and checks @p trace_path (Chrome Trace Event JSON: an object with a
/// traceEvents array, or the bare array) and writes the page to @p html_path.
/// Throws raympi::Error naming the file and what is wrong ("not JSON", "no
/// traceEvents array", "traceEvents[7] (ph X): ts is not a number", ...).
TimelineSummary write_timeline_view(const std::string& trace_path, const std::string& html_path);

}  // namespace raympi::launcher
