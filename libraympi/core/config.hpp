#pragma once
// Resolving a Config: fields the code left unset come from RAYMPI_* variables,
// then from the machine.

#include "raympi/config.hpp"
#include "topology/topology.hpp"

#include <chrono>
#include <map>
#include <string>

namespace raympi::detail {

/// @brief Settings of the transports that have no Config field (switches
/// for experiments and for working around a platform), from RAYMPI_* only.
struct TransportSettings {
  bool ucx = true;               // RAYMPI_UCX=0: object bytes over MPI
  bool ucx_peer_errors = true;   // RAYMPI_UCX_PEER_ERRORS=0: no peer failure detection on UCX endpoints
  bool direct_send = true;       // RAYMPI_DIRECT_SEND=0: only the progress thread posts MPI sends
  bool cma = true;               // RAYMPI_CMA=0: same-host object bytes over UCX instead of process_vm_readv
};
/// Reads the RAYMPI_* switches of TransportSettings.
TransportSettings resolve_transport_settings();

/// Fills unset fields from the environment and defaults: num_cpus from the
/// PUs of `share` (this rank's part of its host) less the reserved ones.
Config resolve_config(Config cfg, const Machine& share = local_machine());
/// How often a busy node sends the GCS its event batch, and at most how often
/// the GS its changed load, in a job of `nodes` node ranks (docs/scaling.md).
std::chrono::microseconds event_flush_period(std::size_t nodes);
std::chrono::microseconds gs_load_spacing(std::size_t nodes);
/// Parses "4G", "512M", "1000" into bytes; throws raympi::Error naming `what`.
std::size_t parse_size(const std::string& text, const char* what);
/// Parses "Custom1=4,disk=1.5" (the RAYMPI_RESOURCES form); throws raympi::Error.
std::map<std::string, double> parse_resources(const std::string& text);

}  // namespace raympi::detail
