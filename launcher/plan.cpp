#include "plan.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <sstream>

#include "base/heap_pages.hpp"
#include "core/config.hpp"
#include "raympi/errors.hpp"
#include "topology/topology.hpp"

namespace raympi::launcher {

namespace {

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Slurm's compressed node list ("n[01-03],gpu1") expanded by scontrol.
std::vector<std::string> slurm_hosts(const std::string& nodelist) {
  std::vector<std::string> hosts;
  if (nodelist.find_first_of("[,") == std::string::npos) return {nodelist};
  std::string cmd = "scontrol show hostnames '" + nodelist + "' 2>/dev/null";
  if (FILE* p = ::popen(cmd.c_str(), "r")) {
    char line[512];
    while (std::fgets(line, sizeof line, p))
      if (auto h = trim(line); !h.empty()) hosts.push_back(h);
    ::pclose(p);
  }
  if (hosts.empty())
    throw UsageError("cannot expand SLURM_JOB_NODELIST='" + nodelist +
                     "' with `scontrol show hostnames`; is scontrol on PATH?");
  return hosts;
}

// SLURM_JOB_CPUS_PER_NODE ("36(x2),24") -> the smallest count.
int min_cpus_per_node(const std::string& text) {
  int best = 0;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    int n = std::atoi(item.c_str());
    if (n > 0 && (best == 0 || n < best)) best = n;
  }
  return best;
}

std::string number(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

}  // namespace

Site discover_site(const RunOptions& opt) {
  Site s;
  s.root = ::geteuid() == 0;
  s.here = raympi::detail::host_name();
  const char* job = env("SLURM_JOB_ID");
  const char* nodelist = env("SLURM_JOB_NODELIST") ? env("SLURM_JOB_NODELIST") : env("SLURM_NODELIST");
  const bool in_slurm = job && nodelist;
  if (const char* forced = env("RAYMPI_LAUNCHER")) {
    if (std::string(forced) != "mpirun" && std::string(forced) != "srun")
      throw UsageError(std::string("RAYMPI_LAUNCHER='") + forced + "': use mpirun or srun, or unset it");
    s.launcher = forced;
    s.why = "RAYMPI_LAUNCHER=" + s.launcher;
  } else {
    s.launcher = in_slurm ? "srun" : "mpirun";
    s.why = in_slurm ? std::string("inside Slurm job ") + job : "no Slurm allocation";
  }
  if (in_slurm) {
    if (!opt.hosts.empty()) throw UsageError("--hosts: inside a Slurm allocation the allocation's nodes are used");
    s.hosts = slurm_hosts(nodelist);
    int c = env("SLURM_JOB_CPUS_PER_NODE") ? min_cpus_per_node(env("SLURM_JOB_CPUS_PER_NODE")) : 0;
    if (c <= 0 && env("SLURM_CPUS_ON_NODE")) c = std::atoi(env("SLURM_CPUS_ON_NODE"));
    s.cpus_per_host = c > 0 ? c : raympi::detail::cpuset_pu_count();
    if (const char* g = env("SLURM_GPUS_ON_NODE")) s.gpus_per_host = std::atoi(g);
  } else {
    if (!opt.hosts.empty() && s.launcher == "srun")
      throw UsageError("--hosts is for mpirun; srun takes its nodes from Slurm (e.g. salloc -N 2)");
    s.hosts = opt.hosts.empty() ? std::vector<std::string>{s.here} : opt.hosts;
    s.cpus_per_host = raympi::detail::cpuset_pu_count();
  }
  return s;
}

Plan make_plan(const RunOptions& opt, const Site& site, const std::string& job_dir) {
  if (opt.command.empty()) throw UsageError("no program to run: put it after --, e.g. raympi run -n 2 -- ./app");
  try {  // the runtime's own parsers, so the launcher accepts exactly what ranks accept
    if (!opt.resources.empty())
      for (auto& [name, amount] : raympi::detail::parse_resources(opt.resources))
        if (name == "CPU" || name == "GPU")
          throw UsageError("--resources " + name + "=...: use --" + (name == "CPU" ? "cpus" : "gpus") + "-per-node");
    if (!opt.object_store_memory.empty())
      raympi::detail::parse_size(opt.object_store_memory, "--object-store-memory");
  } catch (const raympi::Error& e) {
    std::string what = e.what();
    if (what.rfind("raympi: ", 0) == 0) what = what.substr(8);
    throw UsageError(what);
  }

  Plan p;
  p.launcher = site.launcher;
  const int hosts = int(site.hosts.size());
  const int nodes = opt.nodes > 0 ? opt.nodes : hosts;
  const int ranks = nodes + 2;

  // Ranks 0, 1 (GS, GCS) and 2 on the first host; node ranks round-robin over the hosts.
  std::vector<int> rank_host(std::size_t(ranks), 0);
  std::vector<int> node_ranks_on(std::size_t(hosts), 0);
  for (int i = 0; i < nodes; ++i) {
    rank_host[std::size_t(2 + i)] = i % hosts;
    ++node_ranks_on[std::size_t(i % hosts)];
  }
  const int most = *std::max_element(node_ranks_on.begin(), node_ranks_on.end());
  const int cpus_per_rank = std::max(1, site.cpus_per_host / std::max(1, most));
  double gpus = opt.gpus_per_node;
  if (gpus < 0 && site.gpus_per_host >= 0) gpus = double(site.gpus_per_host / std::max(1, most));

  // The ranks' environment.
  if (opt.cpus_per_node >= 0) p.env.emplace_back("RAYMPI_NUM_CPUS", number(opt.cpus_per_node));
  if (gpus >= 0) p.env.emplace_back("RAYMPI_NUM_GPUS", number(gpus));
  if (!opt.resources.empty()) p.env.emplace_back("RAYMPI_RESOURCES", opt.resources);
  if (!opt.object_store_memory.empty()) p.env.emplace_back("RAYMPI_OBJECT_STORE_MEMORY", opt.object_store_memory);
  if (!opt.timeline.empty()) p.env.emplace_back("RAYMPI_TIMELINE", opt.timeline);
  // malloc's heap on huge pages where the kernel gives them only on request
  // (libraympi/base/heap_pages.cpp; the user's own tunables are kept).
  const char* tunables = env("GLIBC_TUNABLES");
  if (!raympi::detail::asks_for_hugetlb(tunables ? tunables : ""))
    p.env.emplace_back("GLIBC_TUNABLES", raympi::detail::tunables_with_hugetlb(tunables));
  // Every rank on this host: the job's spill folder goes inside the launcher's
  // per-job folder, which the launcher removes however the job ends.
  if (std::all_of(site.hosts.begin(), site.hosts.end(), [&](const std::string& h) { return h == site.here; }))
    p.env.emplace_back("RAYMPI_SPILL_DIR", job_dir);

  // Role map.
  for (int r = 0; r < ranks; ++r) {
    const bool node = r >= 2;
    std::string cpus = !node ? "-"
                       : opt.cpus_per_node >= 0
                           ? number(opt.cpus_per_node)
                           : std::to_string(std::max(1, site.cpus_per_host / node_ranks_on[std::size_t(rank_host[std::size_t(r)])]));
    std::string gpu_text = !node ? "-" : gpus >= 0 ? number(gpus) : "auto";
    p.roles.push_back({r, r == 0 ? "global scheduler" : r == 1 ? "GCS" : r == 2 ? "node (driver)" : "node",
                       site.hosts[std::size_t(rank_host[std::size_t(r)])], cpus, gpu_text});
  }

  std::ostringstream layout;
  if (site.launcher == "srun") {
    // One host line per rank, in rank order (--distribution=arbitrary); each
    // task gets cpus_per_rank CPUs bound by Slurm; --overcommit lets GS and
    // GCS share the first host's CPUs with its node rank.
    p.layout_path = job_dir + "/hostfile";
    for (int r = 0; r < ranks; ++r) layout << site.hosts[std::size_t(rank_host[std::size_t(r)])] << '\n';
    p.argv = {"srun", "--mpi=pmix", "-n", std::to_string(ranks), "--overcommit",
              "--cpus-per-task=" + std::to_string(cpus_per_rank), "--distribution=arbitrary",
              "--kill-on-bad-exit=1"};
    p.env.emplace_back("SLURM_HOSTFILE", p.layout_path);
    // sbatch's task-layout settings would fight the arbitrary distribution.
    for (const char* v : {"SLURM_NTASKS_PER_NODE", "SLURM_TASKS_PER_NODE", "SLURM_DISTRIBUTION"})
      p.env.emplace_back(v, std::nullopt);
  } else {
    // Rank file: GS and GCS bound to the first host's CPUs, each node rank to
    // its share of its host's CPUs (all of them when it is alone there).
    p.layout_path = job_dir + "/rankfile";
    const int c = site.cpus_per_host;
    std::vector<int> seen(std::size_t(hosts), 0);
    bool oversubscribe = false;
    std::vector<int> ranks_on(std::size_t(hosts), 0);
    for (int r = 0; r < ranks; ++r) ++ranks_on[std::size_t(rank_host[std::size_t(r)])];
    for (int r = 0; r < ranks; ++r) {
      const int h = rank_host[std::size_t(r)];
      std::string slots = c > 1 ? "0-" + std::to_string(c - 1) : "0";
      if (r >= 2) {
        const int k = node_ranks_on[std::size_t(h)], j = seen[std::size_t(h)]++;
        if (k > 1 && k <= c) {
          const int first = j * c / k, last = (j + 1) * c / k - 1;
          slots = first == last ? std::to_string(first) : std::to_string(first) + "-" + std::to_string(last);
        } else if (k > c) {
          slots = std::to_string(j % c);
        }
      }
      layout << "rank " << r << '=' << site.hosts[std::size_t(h)] << " slot=" << slots << '\n';
    }
    std::string host_list;
    for (int h = 0; h < hosts; ++h) {
      if (ranks_on[std::size_t(h)] == 0) continue;
      oversubscribe |= ranks_on[std::size_t(h)] > c;
      host_list += (host_list.empty() ? "" : ",") + site.hosts[std::size_t(h)] + ":" +
                   std::to_string(ranks_on[std::size_t(h)]);
    }
    p.argv = {"mpirun", "-n", std::to_string(ranks), "--host", host_list, "--rankfile", p.layout_path};
    if (oversubscribe) p.argv.push_back("--oversubscribe");
    if (site.root) p.argv.push_back("--allow-run-as-root");
    for (auto& [name, value] : p.env)  // remote hosts get them only through -x
      if (value && (name.rfind("RAYMPI_", 0) == 0 || name == "GLIBC_TUNABLES")) p.argv.insert(p.argv.end(), {"-x", name});
  }
  p.layout_text = layout.str();
  p.argv.insert(p.argv.end(), opt.command.begin(), opt.command.end());
  return p;
}

std::string role_map(const Plan& plan) {
  std::ostringstream o;
  std::size_t w = 4;
  for (auto& r : plan.roles) w = std::max(w, r.host.size());
  char line[512];
  std::snprintf(line, sizeof line, "  %-5s %-17s %-*s %-8s %s\n", "rank", "role", int(w), "host", "CPUs", "GPUs");
  o << line;
  for (auto& r : plan.roles) {
    std::snprintf(line, sizeof line, "  %-5d %-17s %-*s %-8s %s\n", r.rank, r.role.c_str(), int(w), r.host.c_str(),
                  r.cpus.c_str(), r.gpus.c_str());
    o << line;
  }
  return o.str();
}

std::string describe(const Plan& plan) {
  std::ostringstream o;
  o << "launcher: " << plan.launcher << '\n' << "environment:\n";
  for (auto& [name, value] : plan.env) o << "  " << (value ? name + "=" + *value : "unset " + name) << '\n';
  o << "layout file " << plan.layout_path << ":\n";
  std::istringstream in(plan.layout_text);
  for (std::string l; std::getline(in, l);) o << "  " << l << '\n';
  o << "command:";
  for (auto& a : plan.argv) o << ' ' << a;
  o << '\n';
  return o.str();
}

}  // namespace raympi::launcher
