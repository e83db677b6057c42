// init / run / shutdown: MPI set-up, the registry agreement check, the node
// table exchange, and the role each rank serves.

#include <climits>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <optional>
#include <mutex>

#include <pwd.h>
#include <unistd.h>

#include "base/heap_pages.hpp"
#include "base/log.hpp"
#include "core/config.hpp"
#include "core/registry.hpp"
#include "core/runtime.hpp"
#include "raympi/api.hpp"
#include "timeline/clock_sync.hpp"
#include "topology/host_share.hpp"
#include "topology/pinning.hpp"

namespace raympi {

namespace detail {

namespace {

/// @brief The one raympi session of this process: its runtime and MPI set-up.
struct Session {
  std::unique_ptr<Runtime> runtime;
  std::atomic<Runtime*> live{nullptr};  // the runtime while it serves; read without g_mu
  MPI_Comm comm = MPI_COMM_NULL;
  bool owns_mpi = false;
  bool driver = false;
  bool shut = false;
};
std::mutex g_mu;  // init / shutdown
// The only global of a session. A session replaced by a later init is kept
// (not deleted): threads may still read its `live` pointer (null by then).
std::atomic<Session*> g_session{nullptr};

std::string job_tag() {
  // The effective user, not $USER (unset under ctest, cron, some batch systems).
  const passwd* pw = getpwuid(geteuid());
  const std::string user = pw ? pw->pw_name : "uid" + std::to_string(geteuid());
  return user + "-" + host_name() + "-" + std::to_string(getpid()) + "-" +
         std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 1000000007);
}

// Every rank must dispatch the same ids: compare registries and name the difference.
void check_registries(MPI_Comm comm) {
  auto errors = registry_errors();
  if (!errors.empty()) throw Error("raympi::init: " + errors.front());
  check_registry_agreement(allgather_strings(comm, encode_registry_keys(registry_keys())));
}

/// @brief This rank's part of its host (topology/host_share.hpp).
struct RankShare {
  Machine machine;      // narrowed to the PUs granted
  std::string warning;  // for the host's first node rank to log: ranks that must share PUs
};

// Node ranks on one host (MPI's shared-memory split) whose cpusets overlap
// split them, so that their workers do not all pile onto the first PUs.
// Collective over `comm`.
RankShare share_of_host(MPI_Comm comm, const Roles& roles, int rank) {
  const Machine& whole = local_machine();
  MPI_Comm host = MPI_COMM_NULL;
  MPI_Comm_split_type(comm, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &host);
  auto all = allgather_strings(host, roles.is_node(rank) ? std::to_string(rank) + " " + whole.cpuset : std::string());
  MPI_Comm_free(&host);
  if (!roles.is_node(rank)) return {whole, {}};
  std::vector<int> ranks;
  std::vector<std::string> cpusets;
  std::size_t me = 0;
  for (auto& entry : all) {
    if (entry.empty()) continue;
    std::size_t space = entry.find(' ');
    int r = std::stoi(entry.substr(0, space));
    if (r == rank) me = ranks.size();
    ranks.push_back(r);
    cpusets.push_back(entry.substr(space + 1));
  }
  auto shares = share_host(whole, ranks, cpusets);
  return {narrowed_machine(whole, shares[me].pus), me == 0 ? sharing_warning(ranks, shares, whole.host) : std::string()};
}

std::vector<NodeDesc> exchange_nodes(MPI_Comm comm, const Roles& roles, const Config& cfg, const Machine& m) {
  int rank = comm_rank(comm);
  std::string mine;
  if (roles.is_node(rank)) {
    NodeDesc d;
    d.rank = rank;
    d.host = host_name();
    d.total.cpu = cfg.num_cpus;
    d.total.gpu = cfg.num_gpus;
    d.total.custom = cfg.resources;
    d.total.custom["node:" + std::to_string(rank)] = 1;  // pins work to a node, like Ray's node:<ip>
    d.cpuset = m.cpuset;
    d.pus = std::int32_t(m.pus.size());
    d.cores = m.cores;
    d.gpus = local_visible_gpus();  // GPU id i is the i-th visible device; declared GPUs may have none
    if (d.gpus.size() > std::size_t(std::ceil(cfg.num_gpus))) d.gpus.resize(std::size_t(std::ceil(cfg.num_gpus)));
    d.pinned = cfg.pin_workers;
    ByteWriter w;
    serialize_into(w, d);
    mine.assign(w.data(), w.size());
  }
  std::vector<NodeDesc> nodes;
  for (auto& s : allgather_strings(comm, mine))
    if (!s.empty()) nodes.push_back(deserialize<NodeDesc>(s.data(), s.size()));
  return nodes;
}

// The role and resource map the driver logs at start (RAYMPI_LOG_LEVEL=info).
std::string role_map(const Roles& roles, const std::vector<NodeDesc>& nodes) {
  std::string out;
  for (int r = 0; r < roles.size; ++r) {
    out += "\n  rank " + std::to_string(r) + ":";
    if (r == roles.gs) out += " global scheduler";
    if (r == roles.gcs) out += r == roles.gs ? " + GCS" : " GCS";
    for (auto& n : nodes) {
      if (n.rank != r) continue;
      out += std::string(r == roles.gs ? " +" : "") + " node" + (r == roles.first_node ? " (driver)" : "") + " on " +
             n.host + ", cpuset " + n.cpuset + " (" + std::to_string(n.pus) + " PUs, " + std::to_string(n.cores) +
             " cores), workers " + (n.pinned ? "pinned" : "unpinned");
      for (auto& [k, v] : n.total.as_map())
        if (k.rfind("node:", 0) != 0) out += ", " + k + "=" + fmt::format("{}", v);
      for (std::size_t i = 0; i < n.gpus.size(); ++i)
        out += "\n    GPU " + std::to_string(i) + ": " + n.gpus[i].name + " (PCI " + n.gpus[i].pci_bus_id + ")";
    }
  }
  return out;
}

// mkdir -p, then create and remove a probe file: an unusable spill directory
// is a clear Error from init on every rank (agreed by an allreduce, so a bad
// folder on one host cannot leave the others waiting), not an exception out
// of a worker at the first spill.
void check_spill_directory(MPI_Comm comm, const std::string& dir, int rank) {
  std::string why;
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    why = "cannot create it: " + ec.message();
  } else {
    std::string probe = dir + "/.raympi-probe-XXXXXX";
    int fd = ::mkstemp(probe.data());
    if (fd < 0) {
      why = std::string("cannot write in it: ") + std::strerror(errno);
    } else {
      ::close(fd);
      ::unlink(probe.c_str());
    }
  }
  int bad = why.empty() ? INT_MAX : rank, first_bad = INT_MAX;
  MPI_Allreduce(&bad, &first_bad, 1, MPI_INT, MPI_MIN, comm);
  if (first_bad == INT_MAX) return;
  const std::string fix = "; point RAYMPI_SPILL_DIR (Config::spill_directory) at a writable local folder";
  if (!why.empty())
    throw Error("raympi::init: the spill directory '" + dir + "' is unusable on rank " + std::to_string(rank) + ": " +
                why + fix);
  throw Error("raympi::init: rank " + std::to_string(first_bad) + " cannot use the spill directory '" + dir +
              "' (its own error says why)" + fix);
}

void teardown(Session& s) {
  s.live.store(nullptr, std::memory_order_release);  // API calls from now on find no runtime
  if (s.runtime && s.runtime->lost_peers()) {
    // MPI_Finalize waits for every rank, the dead one too, and would never
    // return: leave without it (Open MPI then reports the missing finalize).
    RAYMPI_LOG_WARN("rank {}: a rank of this job failed; skipping MPI_Finalize", s.runtime->rank());
    s.runtime.reset();
    return;
  }
  if (s.runtime) s.runtime->timeline().write_event_log(s.comm);  // collective: the merged HDF5 log, if asked for
  s.runtime.reset();
  if (s.comm != MPI_COMM_NULL) MPI_Comm_free(&s.comm);
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (s.owns_mpi && !finalized) MPI_Finalize();
}

void exit_hook() {
  Session* s = g_session.load();
  if (s && s->driver && !s->shut) raympi::shutdown();
}

// Starts this rank's role. Returns true on the driver; on other ranks it serves
// until the job ends and returns false with `exit_code` set.
bool start(MPI_Comm user_comm, Config cfg, bool owns_mpi, int& exit_code) {
  std::unique_lock lk(g_mu);
  if (Session* old = g_session.load(); old && !old->shut) throw Error("raympi::init: already initialised");
  // Owned here until published: a check below that throws must not leak it.
  auto session = std::make_unique<Session>();
  Session* s = session.get();
  s->owns_mpi = owns_mpi;
  MPI_Comm_dup(user_comm, &s->comm);
  int rank = comm_rank(s->comm), size = comm_size(s->comm);
  Roles roles = Roles::for_size(size);
  RankShare share = share_of_host(s->comm, roles, rank);
  cfg = resolve_config(std::move(cfg), share.machine);
  setup_logging(cfg.log_level, rank);
  if (rank == roles.first_node) {
    if (HeapPages pages = heap_pages(); !pages.hint.empty()) RAYMPI_LOG_INFO("{}", pages.hint);
  }
  check_spill_directory(s->comm, cfg.spill_directory, rank);
  if (!share.warning.empty()) RAYMPI_LOG_WARN("{}", share.warning);
  check_registries(s->comm);
  Runtime::Options opts;
  opts.roles = roles;
  opts.rank = rank;
  opts.nodes = exchange_nodes(s->comm, roles, cfg, share.machine);
  const JobClock clock = synchronize_job_clock(s->comm);  // task times line up across hosts
  opts.epoch = clock.epoch;
  opts.clock_error_us = clock.error_us;
  // One spill folder per job and user, named by rank 0 (its host, pid and start time).
  opts.job_tag = allgather_strings(s->comm, rank == 0 ? job_tag() : std::string())[0];
  opts.function_keys = registry_keys();
  const TransportSettings switches = resolve_transport_settings();
  // RAYMPI_UCX=0 keeps UCX out of the control plane too: peers on other
  // hosts then poll each other instead of ringing over UCX.
  Transport::Tuning tuning{std::chrono::microseconds(cfg.progress_spin_us),
                           std::chrono::microseconds(cfg.max_backoff_us), switches.direct_send, switches.ucx,
                           cfg.heartbeat_timeout};
  if (roles.is_node(rank))
    opts.pinning = std::make_shared<Pinning>(share.machine, LocalScheduler::base_workers_for(cfg.num_cpus),
                                             cfg.pin_workers, cfg.reserve_runtime_cpus,
                                             WorkerPriority::parse(cfg.worker_priority));
  // The runtime's own threads (progress, data plane, the workers before they
  // bind themselves) start on the PUs no worker uses; this thread gets its binding back.
  std::optional<ScopedRuntimeBinding> runtime_binding(std::in_place, opts.pinning.get());
  opts.cfg = std::move(cfg);
  std::unique_ptr<Transport> transport;
  if (size == 1) {
    transport = std::make_unique<LoopbackTransport>(tuning);
  } else {
    transport = std::make_unique<MpiTransport>(s->comm, tuning);
    opts.data_plane = UcxPlane::create(s->comm, switches.ucx, switches.ucx_peer_errors, switches.cma);
    if (opts.data_plane && rank == roles.first_node)
      RAYMPI_LOG_INFO("object data plane: {}", opts.data_plane->description());
  }
  s->runtime = std::make_unique<Runtime>(std::move(opts), std::move(transport));
  s->driver = rank == roles.first_node;
  s->live.store(s->runtime.get(), std::memory_order_release);
  g_session.store(session.release());
  s->runtime->start();
  runtime_binding.reset();
  if (rank == roles.first_node)
    RAYMPI_LOG_INFO("raympi started: {} rank(s); GS rank {}, GCS rank {}, driver rank {}{}", size, roles.gs, roles.gcs,
                    roles.first_node, role_map(roles, s->runtime->node_table()));
  if (s->driver) {
    static bool hooked = false;
    if (!hooked) std::atexit(exit_hook);
    hooked = true;
    return true;
  }
  lk.unlock();
  exit_code = s->runtime->serve();
  lk.lock();
  s->shut = true;
  teardown(*s);
  return false;
}

int init_mpi(int* argc, char*** argv, bool& owns) {
  int inited = 0, provided = 0, finalized = 0;
  // Legal after MPI_Finalize (every other MPI call then aborts the job).
  MPI_Finalized(&finalized);
  if (finalized)
    throw Error("raympi::init: MPI was already finalized in this process (an earlier raympi::shutdown, or the "
                "program's own MPI_Finalize), and MPI cannot start twice. Run one raympi session per process, "
                "or initialise MPI yourself and use raympi::init(MPI_Comm) / raympi::run for several sessions");
  MPI_Initialized(&inited);
  owns = !inited;
  if (!inited) MPI_Init_thread(argc, argv, MPI_THREAD_MULTIPLE, &provided);
  else MPI_Query_thread(&provided);
  if (provided < MPI_THREAD_SERIALIZED)
    throw Error("raympi::init: MPI provides thread level " + std::to_string(provided) +
                "; raympi needs at least MPI_THREAD_SERIALIZED. Initialise MPI with MPI_Init_thread(..., "
                "MPI_THREAD_MULTIPLE, ...)");
  return provided;
}

void shutdown_with(int code) {
  std::lock_guard lk(g_mu);
  Session* s = g_session.load();
  if (!s || s->shut) return;
  if (!s->driver) throw Error("raympi::shutdown: only the driver rank shuts the job down");
  if (current_task()) throw Error("raympi::shutdown: cannot be called from inside a task");
  s->runtime->shutdown_job(code);
  s->shut = true;
  teardown(*s);
}

}  // namespace

Runtime* current_runtime() {
  Session* s = g_session.load(std::memory_order_acquire);
  return s ? s->live.load(std::memory_order_acquire) : nullptr;
}

}  // namespace detail

void init(int& argc, char**& argv, Config cfg) {
  bool owns = false;
  detail::init_mpi(&argc, &argv, owns);
  int code = 0;
  // Other ranks leave with the driver's exit code (non-zero after a fatal loss).
  if (!detail::start(MPI_COMM_WORLD, std::move(cfg), owns, code)) std::exit(code);
}

void init(MPI_Comm comm, Config cfg) {
  bool owns = false;
  detail::init_mpi(nullptr, nullptr, owns);
  int code = 0;
  if (!detail::start(comm, std::move(cfg), false, code)) {
    // This process leaves here (use raympi::run to come back): finalise MPI for it.
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Finalize();
    std::exit(code);
  }
}

void shutdown() { detail::shutdown_with(0); }

bool is_initialized() {
  if (detail::current_task()) return true;
  std::lock_guard lk(detail::g_mu);
  detail::Session* s = detail::g_session.load();
  return s && s->driver && !s->shut;
}

int run(int argc, char** argv, std::function<int()> driver_main, Config cfg) {
  bool owns = false;
  detail::init_mpi(&argc, &argv, owns);
  int code = 0;
  if (!detail::start(MPI_COMM_WORLD, std::move(cfg), owns, code)) return code;
  try {
    code = driver_main();
  } catch (const std::exception& e) {
    RAYMPI_LOG_ERROR("driver_main threw: {}", e.what());
    std::fprintf(stderr, "raympi::run: driver_main threw: %s\n", e.what());
    code = 1;
  }
  detail::shutdown_with(code);
  return code;
}

}  // namespace raympi
