#pragma once
/// @file config.hpp
/// @brief Per-node configuration of a raympi job.

#include <chrono>
#include <cstddef>
#include <map>
#include <string>

namespace raympi {

/// @brief Configuration of the node this rank serves. Unset fields are filled
/// from the `RAYMPI_*` environment variables, then from the machine (hwloc).
///
/// @code
/// raympi::Config cfg;
/// cfg.num_cpus = 4;
/// cfg.resources["Custom1"] = 4;
/// raympi::init(argc, argv, cfg);
/// @endcode
struct Config {
  /// Logical CPU slots of this node; -1: PUs in the rank's cpuset (hwloc). `RAYMPI_NUM_CPUS`.
  double num_cpus = -1;
  /// GPUs of this node; -1: the GPUs hwloc finds, narrowed by CUDA_VISIBLE_DEVICES /
  /// ROCR_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES and Slurm's allocation (docs/resources.md). `RAYMPI_NUM_GPUS`.
  double num_gpus = -1;
  /// Custom resources of this node. `RAYMPI_RESOURCES="Custom1=4,disk=1"`.
  std::map<std::string, double> resources;
  /// Bytes per node before spilling; 0: a default from node memory. `RAYMPI_OBJECT_STORE_MEMORY`.
  std::size_t object_store_memory = 0;
  /// Where spilled objects go; default: a per-job folder under $TMPDIR. `RAYMPI_SPILL_DIR`.
  std::string spill_directory;
  /// If set, a Chrome trace of every task is written there at shutdown
  /// (docs/timeline.md). `RAYMPI_TIMELINE`.
  std::string timeline;
  /// Event records each node rank keeps in memory before it appends them to
  /// the job's HDF5 event log; 0: `RAYMPI_EVENT_BUFFER`, else 100,000.
  std::size_t event_buffer = 0;
  /// If set, the job's event log (every task, dependency and transfer) is
  /// kept in this HDF5 file after the job; otherwise it lives in the job's
  /// folder and goes with it. `RAYMPI_EVENT_LOG`.
  std::string event_log;
  /// Print summary() to stderr at shutdown. -1: `RAYMPI_SUMMARY`, else 0.
  int summary = -1;
  /// hwloc-bind each worker thread to one PU of the rank's cpuset (cores before
  /// hyperthreads; round-robin when slots outnumber PUs) and raympi's own threads to the PUs left.
  bool pin_workers = true;
  /// PUs of this rank's share kept for raympi's own threads (progress, data
  /// plane, spilling) and never given to workers, when the share has more PUs
  /// than this; the default num_cpus shrinks by as much. -1: `RAYMPI_RESERVE_CPUS`, else 0.
  int reserve_runtime_cpus = -1;
  /// How worker and actor threads run next to raympi's own threads (Linux).
  /// "normal" (default): the same priority; raympi's progress and data-plane
  /// threads ask the kernel for a short time slice, so they still preempt a
  /// computing worker the moment a message arrives. "idle": SCHED_IDLE, any
  /// other thread of the machine goes first (for nodes shared with other
  /// work). "nice:N": nice value raised by N. Empty: `RAYMPI_WORKER_PRIORITY`.
  std::string worker_priority;
  /// A get of one result whose task still waits in this node's queue runs the
  /// task on the waiting thread (fastest; a worker would only pick it up
  /// later). 0 sends every task through a worker. -1: `RAYMPI_INLINE_GET`, else 1.
  int inline_get = -1;
  /// A get or wait of the driver on 1,000 or more objects that lasts over 2 s
  /// shows one updating line on stderr: done / total, rate, ETA. -1: `RAYMPI_PROGRESS`,
  /// else only when stderr is a terminal; 0: never; 1: always (where stderr is not
  /// a terminal, plain lines every 2 s instead of one line rewritten in place).
  int progress = -1;
  /// trace, debug, info, warn, error, off; empty: `RAYMPI_LOG_LEVEL`, else warn.
  std::string log_level;
  /// Period of node heartbeats to the GCS. `RAYMPI_HEARTBEAT_MS`.
  std::chrono::milliseconds heartbeat_period{-1};
  /// A rank not heard from for this long is declared dead (default 10 s;
  /// at least three heartbeat periods). `RAYMPI_HEARTBEAT_TIMEOUT_MS`.
  std::chrono::milliseconds heartbeat_timeout{-1};
  /// How long an idle worker or actor thread, or a caller waiting in get/wait,
  /// polls before it blocks (µs; default 50). `RAYMPI_SPIN_US`.
  int spin_us = -1;
  /// How long a progress thread polls after activity before it blocks (µs;
  /// default 100). Every cross-rank message passes two progress threads, and
  /// waking a blocked one costs far more than a round trip, so they outlast one.
  /// `RAYMPI_PROGRESS_SPIN_US`.
  int progress_spin_us = -1;
  /// Longest sleep of an idle MPI progress loop between polls (µs). `RAYMPI_MAX_BACKOFF_US`.
  int max_backoff_us = -1;
};

}  // namespace raympi
