// The public functions of include/raympi/api.hpp that need the runtime, and
// the detail:: entry points the typed front end calls.
#include <numeric>

#include "core/placement_groups.hpp"
#include "core/runtime.hpp"
#include "raympi/api.hpp"
#include "scheduler/placement_groups.hpp"

namespace raympi {

namespace detail {

namespace {
Runtime& rt(const char* what) {
  Runtime* r = current_runtime();
  if (!r) throw Error(std::string("raympi::") + what + ": raympi is not running; call raympi::init first");
  return *r;
}
Context& cx(const char* what) { return rt(what).context(); }
}  // namespace

RefPtr submit_task(TaskSubmission&& s) { return cx("task(...).remote").tasks->submit(std::move(s)); }

std::vector<RefPtr> submit_tasks(std::vector<TaskSubmission>&& subs) {
  return cx("task(...).remote_batch").tasks->submit_batch(std::move(subs));
}

RefPtr put_object(Buffer bytes, std::shared_ptr<const void> value, const std::type_info* type,
                  std::vector<RefPtr> contained) {
  Context& c = cx("put");
  if (c.stopping.load()) throw Error("raympi: the job is shutting down");
  return c.owners->put(std::move(bytes), std::move(value), type, std::move(contained));
}

std::vector<StoredPtr> get_objects(const std::vector<ObjectId>& ids, std::chrono::nanoseconds timeout) {
  return cx("get").waiters->get(ids, timeout);
}

std::vector<char> wait_objects(const std::vector<ObjectId>& ids, std::size_t num_returns,
                               std::chrono::nanoseconds timeout) {
  return cx("wait").waiters->wait(ids, num_returns, timeout);
}

LocalStats local_stats() { return rt("local_stats").stats(); }

void set_inline_get(bool on) { cx("set_inline_get").waiters->set_inline_get(on); }

std::map<std::string, std::uint64_t> gcs_counters() { return cx("gcs_counters").gcs->query(GcsQueryKind::tables).counters; }

void kill_actor(ObjectId actor, bool no_restart) { cx("ActorHandle::kill").router->kill(actor, no_restart); }

RefPtr lookup_actor(const std::string& name, const std::type_info& cls) {
  return cx("get_actor").router->lookup(name, cls);
}

// placement groups (core/placement_groups)
std::uint64_t create_placement_group(const std::vector<Bundle>& bundles, Strategy strategy, const std::string& name) {
  return cx("placement_group").pgs->create(bundles, strategy, name);
}
bool wait_placement_group(std::uint64_t id, std::chrono::nanoseconds timeout) {
  return cx("PlacementGroup::wait").pgs->wait(id, timeout);
}
void remove_placement_group(std::uint64_t id) { cx("remove_placement_group").pgs->remove(id); }
std::vector<PlacementGroupInfo> list_placement_groups() { return cx("placement_groups").pgs->list(); }

}  // namespace detail

void timeline(const std::string& path) {
  detail::Runtime& r = detail::rt("timeline");
  if (detail::current_task()) throw Error("raympi::timeline: call it on the driver, not inside a task");
  r.timeline().write_trace(path);
}

std::string summary() { return detail::rt("summary").timeline().summary(); }

std::vector<NodeInfo> nodes() {
  detail::Runtime& rt = detail::rt("nodes");
  auto reply = rt.context().gcs->query(detail::GcsQueryKind::nodes);
  int driver = rt.roles().first_node;
  std::vector<NodeInfo> out;
  for (auto& n : reply.nodes) {
    NodeInfo i;
    i.rank = n.rank;
    i.host = n.host;
    i.resources = n.total;
    i.available = n.available;
    std::erase_if(i.available, [](auto& kv) { return detail::is_bundle_resource(kv.first); });  // a bundle's own names
    i.alive = n.alive;
    i.is_driver = n.rank == driver;
    i.seconds_since_heartbeat = n.since_heartbeat;
    i.tasks_finished = n.finished;
    for (auto& d : rt.node_table()) {
      if (d.rank != n.rank) continue;
      i.cpuset = d.cpuset;
      i.num_pus = d.pus;
      i.num_cores = d.cores;
      i.workers_pinned = d.pinned;
      for (std::size_t g = 0; g < d.gpus.size(); ++g)
        i.gpus.push_back(GpuInfo{int(g), d.gpus[g].name, d.gpus[g].pci_bus_id, d.gpus[g].uuid});
    }
    out.push_back(std::move(i));
  }
  return out;
}

namespace {
std::map<std::string, double> sum_over_nodes(std::map<std::string, double> NodeInfo::*field) {
  std::map<std::string, double> sum;
  for (auto& n : nodes())
    for (auto& [k, v] : n.*field) sum[k] += v;
  return sum;
}
}  // namespace

std::map<std::string, double> cluster_resources() { return sum_over_nodes(&NodeInfo::resources); }

std::map<std::string, double> available_resources() { return sum_over_nodes(&NodeInfo::available); }

int current_rank() { return detail::rt("current_rank").rank(); }

std::vector<int> gpu_ids() {
  const detail::Task* t = detail::current_task();
  return t ? t->gpu_ids : std::vector<int>{};
}

}  // namespace raympi
