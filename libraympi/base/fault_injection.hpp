#pragma once
// Test hook for the runtime's own failures: RAYMPI_INJECT_FAULT=point[,point]
// makes the named place throw once per process, so tests can check that no
// exception escapes a runtime thread and that whoever waits gets an error
// (tests/integration/fault_injection.cpp, docs/reliability.md). Points: task
// (a worker running a task), tick (the progress thread's tick), ucx_transfer
// (a finished UCX transfer), spill_read (restoring a spilled object),
// event_log (the event log's writer thread); die_after_ack kills a serving
// rank right after it acknowledged the shutdown (a death the closing
// barrier's time limit must catch). Unset, a check costs one load.

#include <stdexcept>
#include <string>

namespace raympi::detail {

/// True the first time `point` is reached when RAYMPI_INJECT_FAULT lists it.
bool fault_injected(const char* point);

/// Throws std::runtime_error("injected fault ...") the first time `point` is reached, if listed.
inline void maybe_inject_fault(const char* point) {
  if (fault_injected(point))
    throw std::runtime_error(std::string("injected fault at '") + point + "' (RAYMPI_INJECT_FAULT)");
}

}  // namespace raympi::detail
