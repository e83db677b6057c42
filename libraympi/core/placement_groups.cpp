// Placement groups at run time: the table and routing (every node rank), the
// two-phase placement (GS), the reservations (node). See placement_groups.hpp.
#include "core/placement_groups.hpp"

#include <algorithm>

#include "base/log.hpp"
#include "core/context.hpp"
#include "core/membership.hpp"
#include "core/task_pipeline.hpp"
#include "scheduler/local_scheduler.hpp"

namespace raympi::detail {

namespace {

constexpr auto kMaxBackoff = std::chrono::milliseconds(500);
// A node that refused a reservation is left out of plans this long (its
// resources are in use; another node may hold the bundle meanwhile).
constexpr auto kRefusedFor = std::chrono::milliseconds(200);

std::string quoted(const std::string& name) { return "placement group '" + name + "'"; }

std::string describe_bundle(const Bundle& b) {
  std::string s = "{";
  for (auto& [k, v] : b) {
    std::string n = std::to_string(v);
    s += (s.size() > 1 ? ", " : "") + k + "=" + n.substr(0, n.find('.') + 3);
  }
  return s + "}";
}

const char* strategy_name(Strategy s) {
  switch (s) {
    case Strategy::pack: return "pack";
    case Strategy::spread: return "spread";
    case Strategy::strict_pack: return "strict_pack";
    case Strategy::strict_spread: return "strict_spread";
  }
  return "?";
}

Strategy strategy_of(std::uint8_t v) {
  if (v > std::uint8_t(Strategy::strict_spread)) throw Error("raympi: placement_group message: bad strategy");
  return Strategy(v);
}

Buffer encode(const PgMsg& m) { return encode_msg(MsgType::placement_group, m); }

}  // namespace

// --- the public API ----------------------------------------------------------

std::uint64_t PlacementGroups::create(const std::vector<Bundle>& bundles, Strategy strategy, const std::string& name) {
  if (!cx_.is_node()) throw Error("raympi::placement_group: call it from the driver or from a task");
  if (cx_.stopping.load()) throw Error("raympi::placement_group: the job is shutting down");
  if (bundles.empty()) throw Error("raympi::placement_group: no bundles; give at least one, e.g. {{{\"CPU\", 1}}}");
  if (strategy > Strategy::strict_spread) throw Error("raympi::placement_group: unknown strategy");
  Entry e;
  for (std::size_t i = 0; i < bundles.size(); ++i) e.demands.push_back(bundle_demand(bundles[i], i));
  // Unique in the job: the creating rank in the high bits.
  const std::uint64_t id = (std::uint64_t(cx_.rank) << 40) | ++next_id_;
  e.info.id = id;
  e.info.name = name.empty() ? "pg-" + std::to_string(id) : name;
  e.info.strategy = strategy;
  for (auto& b : bundles) e.info.bundles.push_back(BundleInfo{b, -1});
  e.known = true;
  PgMsg m;
  m.op = PgOp::create;
  m.id = id;
  m.name = e.info.name;
  m.strategy = std::uint8_t(strategy);
  m.bundles = bundles;
  {
    std::lock_guard lk(mu_);
    table_[id] = std::move(e);
  }
  cx_.send(cx_.roles.gs, encode(m));
  return id;
}

bool PlacementGroups::wait(std::uint64_t id, std::chrono::nanoseconds timeout) {
  const auto deadline = timeout.count() < 0 ? Clock::time_point::max() : Clock::now() + timeout;
  std::unique_lock lk(mu_);
  for (;;) {
    auto it = table_.find(id);
    if (it != table_.end() && it->second.known) {
      const Entry& e = it->second;
      switch (e.info.state) {
        case PlacementGroupState::created: return true;
        case PlacementGroupState::infeasible: throw InfeasibleError(e.message);
        case PlacementGroupState::removed: throw Error(e.message);
        case PlacementGroupState::pending: break;
      }
    }
    if (cx_.stopping.load()) throw Error("raympi: PlacementGroup::wait: the job is shutting down");
    auto now = Clock::now();
    if (now >= deadline) return false;
    // In slices: a shutdown is noticed without a wake-up of its own.
    cv_.wait_until(lk, std::min(deadline, now + std::chrono::milliseconds(200)));
  }
}

void PlacementGroups::remove(std::uint64_t id) {
  std::vector<TaskPtr> parked;
  std::string why;
  {
    std::lock_guard lk(mu_);
    Entry& e = table_[id];
    if (e.info.state == PlacementGroupState::removed) return;
    e.info.id = id;
    e.info.state = PlacementGroupState::removed;
    e.message = "raympi: " + quoted(e.info.name) + " was removed (remove_placement_group)";
    why = e.message;
    parked.swap(e.parked);
  }
  cv_.notify_all();
  for (auto& t : parked) fail(t, ErrorKind::shutdown, why + "; task '" + t->display_name() + "' never ran");
  PgMsg m;
  m.op = PgOp::remove;
  m.id = id;
  cx_.send(cx_.roles.gs, encode(m));
}

std::vector<PlacementGroupInfo> PlacementGroups::list() {
  std::vector<PlacementGroupInfo> out;
  std::lock_guard lk(mu_);
  for (auto& [id, e] : table_)
    if (e.known) out.push_back(e.info);
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.id < b.id; });
  return out;
}

// --- routing work placed in a group -------------------------------------------

void PlacementGroups::place(TaskPtr t) {
  ErrorKind err = ErrorKind::none;
  std::string why;
  int node = -1;
  {
    std::lock_guard lk(mu_);
    Entry& e = table_[t->placement_group];
    e.info.id = t->placement_group;
    if (!e.known || e.info.state == PlacementGroupState::pending) {
      e.parked.push_back(std::move(t));  // routed when the GS's update arrives
      return;
    }
    node = route_locked(e, *t, err, why);
  }
  if (node < 0) fail(t, err, why);
  else dispatch(std::move(t), node);
}

int PlacementGroups::route_locked(Entry& e, Task& t, ErrorKind& err, std::string& why) {
  const std::string what = "task '" + t.display_name() + "' placed in " + quoted(e.info.name);
  if (e.info.state == PlacementGroupState::removed || e.info.state == PlacementGroupState::infeasible) {
    err = e.info.state == PlacementGroupState::removed ? ErrorKind::shutdown : ErrorKind::infeasible;
    why = e.message + "; " + what + " cannot run";
    return -1;
  }
  const int index = t.bundle_index;
  const int count = int(e.info.bundles.size());
  err = ErrorKind::infeasible;
  if (index < -1 || index >= count) {
    why = "raympi: " + what + " asks for bundle " + std::to_string(index) + ", which has " + std::to_string(count) +
          " bundles (0.." + std::to_string(count - 1) + "; -1: any bundle)";
    return -1;
  }
  // The resources the work may use: its bundle's, or (any bundle) the sum
  // of the group's bundles on each node.
  int node = -1;
  // Placed again (a retry): the demand is the bundle's already and was checked.
  const bool placed_before = is_bundle_demand(t.demand);
  auto fits = [&](const ResourceSet& r) { return placed_before || r.fits(t.demand); };
  if (index >= 0) {
    if (fits(ResourceSet::from_map(e.info.bundles[index].resources))) node = e.info.bundles[index].node_rank;
  } else {
    std::map<int, ResourceSet> by_node;
    std::vector<int> order;
    for (auto& b : e.info.bundles) {
      if (!by_node.count(b.node_rank)) order.push_back(b.node_rank);
      by_node[b.node_rank].give(bundle_demand(b.resources, 0));
    }
    for (std::size_t k = 0; k < order.size() && node < 0; ++k) {
      int candidate = order[(e.next_any + k) % order.size()];
      if (fits(by_node[candidate])) node = candidate;
    }
    ++e.next_any;  // the next work placed in "any bundle" starts at the next node
  }
  if (node < 0) {
    std::string held;
    for (int i = 0; i < count; ++i)
      if (index < 0 || i == index) held += " bundle " + std::to_string(i) + " " + describe_bundle(e.info.bundles[i].resources) + ";";
    why = "raympi: " + what + " demands {" + describe(t.demand) + "}, more than its bundle holds:" + held +
          " lower the demand (tasks default to num_cpus(1)) or reserve more in the bundle";
    return -1;
  }
  if (cx_.membership->dead(node)) {
    // Groups are not placed again after a node's death (docs/api-guide.md).
    err = ErrorKind::node_died;
    why = "raympi::NodeDiedError: " + what + " cannot run: its bundle was on " + cx_.membership->describe(node) +
          ", which died; remove the group and create it again";
    return -1;
  }
  // From now on the work draws on the bundle's own resources only.
  t.demand = in_bundle(t.demand, e.info.id, index);
  if (t.kind == TaskKind::actor_create) t.actor_spec.holds = in_bundle(t.actor_spec.holds, e.info.id, index);
  err = ErrorKind::none;
  return node;
}

void PlacementGroups::dispatch(TaskPtr t, int node) {
  if (node == cx_.rank) cx_.tasks->resolve_and_enqueue(std::move(t));
  else cx_.tasks->forward(t, node);
}

void PlacementGroups::fail(const TaskPtr& t, ErrorKind err, const std::string& why) {
  if (t->id.owner() == cx_.rank && t->result) {
    cx_.tasks->fail_owned(*t, err, why);
  } else {
    Invocation none;
    cx_.tasks->finish(t, none, err, why, cx_.now_seconds());
  }
}

bool PlacementGroups::admit(const TaskPtr& t) {
  std::string why;
  {
    const std::uint64_t id = group_of(t->demand);
    std::lock_guard lk(mu_);
    if (released_.count(id)) {
      auto it = table_.find(id);
      why = "raympi: " + quoted(it != table_.end() ? it->second.info.name : std::to_string(id)) +
            " was removed before task '" + t->display_name() + "' could run";
    }
  }
  if (why.empty()) return true;
  fail(t, ErrorKind::shutdown, why);
  return false;
}

void PlacementGroups::on_update(const PgMsg& m) {
  std::vector<std::pair<TaskPtr, int>> go;
  std::vector<std::tuple<TaskPtr, ErrorKind, std::string>> failed;
  {
    std::lock_guard lk(mu_);
    Entry& e = table_[m.id];
    if (e.info.state == PlacementGroupState::removed) return;  // removed here first: stays removed
    e.info.id = m.id;
    e.info.name = m.name;
    e.info.strategy = strategy_of(m.strategy);
    if (m.state > std::uint8_t(PlacementGroupState::removed)) throw Error("raympi: placement_group message: bad state");
    e.info.state = PlacementGroupState(m.state);
    e.info.bundles.clear();
    e.demands.clear();
    for (std::size_t i = 0; i < m.bundles.size(); ++i) {
      e.info.bundles.push_back(BundleInfo{m.bundles[i], i < m.nodes.size() ? m.nodes[i] : -1});
      e.demands.push_back(bundle_demand(m.bundles[i], i));
    }
    e.known = true;
    e.message = m.message;
    if (e.info.state != PlacementGroupState::pending) {
      for (auto& t : e.parked) {
        ErrorKind err;
        std::string why;
        int node = route_locked(e, *t, err, why);
        if (node >= 0) go.emplace_back(std::move(t), node);
        else failed.emplace_back(std::move(t), err, std::move(why));
      }
      e.parked.clear();
    }
  }
  cv_.notify_all();
  for (auto& [t, err, why] : failed) fail(t, err, why);
  for (auto& [t, node] : go) dispatch(std::move(t), node);
}

// --- messages ---------------------------------------------------------------

void PlacementGroups::on_message(int src, const Buffer& msg) {
  PgMsg m = decode_msg<PgMsg>(msg);
  switch (m.op) {
    case PgOp::create: gs_create(std::move(m)); break;
    case PgOp::remove: gs_remove(m.id); break;
    case PgOp::prepared: gs_prepared(src, m); break;
    case PgOp::prepare: node_prepare(src, m); break;
    case PgOp::commit:
    case PgOp::abort:
    case PgOp::release: node_end(m); break;
    case PgOp::update: on_update(m); break;
  }
}

// --- the GS -------------------------------------------------------------------

std::vector<PgNode> PlacementGroups::gs_candidates(bool skip_refused, Clock::time_point now) const {
  std::vector<PgNode> out;
  for (auto& n : cx_.nodes) {
    if (cx_.membership->dead(n.rank)) continue;
    auto r = refused_at_.find(n.rank);
    if (skip_refused && r != refused_at_.end() && now - r->second < kRefusedFor) continue;
    auto c = capacity_.find(n.rank);
    out.push_back(PgNode{n.rank, c != capacity_.end() ? c->second : n.total});
  }
  return out;
}

void PlacementGroups::gs_create(PgMsg m) {
  if (capacity_.empty())
    for (auto& n : cx_.nodes) capacity_[n.rank] = n.total;
  GsGroup g;
  for (std::size_t i = 0; i < m.bundles.size(); ++i) g.demands.push_back(bundle_demand(m.bundles[i], i));
  const Strategy strategy = strategy_of(m.strategy);
  // Could the live nodes hold it if nothing else were reserved?
  std::vector<PgNode> whole;
  for (auto& n : cx_.nodes)
    if (!cx_.membership->dead(n.rank)) whole.push_back(PgNode{n.rank, n.total});
  const std::uint64_t id = m.id;
  g.created = std::move(m);
  if (removed_early_.erase(id)) {
    g.state = PlacementGroupState::removed;
    gs_broadcast(id, g, "raympi: " + quoted(g.created.name) + " was removed (remove_placement_group)");
    return;
  }
  if (plan_bundles(g.demands, strategy, whole).empty()) {
    g.state = PlacementGroupState::infeasible;
    std::string bundles, offer;
    for (auto& b : g.created.bundles) bundles += " " + describe_bundle(b);
    for (auto& n : cx_.nodes) {
      Bundle total = n.total.as_map();
      std::erase_if(total, [](auto& kv) { return kv.first.rfind("node:", 0) == 0 || kv.second == 0; });
      offer += " rank " + std::to_string(n.rank) + " " + describe_bundle(total) + ";";
    }
    gs_broadcast(id, g,
                 "raympi::InfeasibleError: " + quoted(g.created.name) + " (" + strategy_name(strategy) + ", bundles" +
                     bundles + ") can never be placed on the " + std::to_string(whole.size()) +
                     " live nodes of this job:" + offer +
                     " use fewer or smaller bundles, a looser strategy, or more node ranks");
    groups_.emplace(id, std::move(g));  // kept until removed, so its late remove is answered
    return;
  }
  gs_broadcast(id, g, "");
  groups_.emplace(id, std::move(g));
  pending_.push_back(id);
  gs_try_place();
}

void PlacementGroups::gs_try_place() {
  if (in_flight_ != 0) return;
  const auto now = Clock::now();
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    GsGroup& g = groups_.at(*it);
    const Strategy s = strategy_of(g.created.strategy);
    std::vector<int> plan = plan_bundles(g.demands, s, gs_candidates(true, now));
    if (plan.empty()) plan = plan_bundles(g.demands, s, gs_candidates(false, now));
    if (plan.empty()) continue;  // waits for a group's removal (or a refused node's retry)
    const std::uint64_t id = *it;
    pending_.erase(it);
    g.nodes = std::move(plan);
    g.txn = ++next_txn_;
    g.refused = false;
    g.ok_nodes.clear();
    g.awaiting = std::set<int>(g.nodes.begin(), g.nodes.end());
    in_flight_ = id;
    gs_account(g, true);
    gs_send_nodes(id, g, PgOp::prepare);
    return;
  }
}

void PlacementGroups::gs_prepared(int src, const PgMsg& m) {
  auto it = groups_.find(m.id);
  if (it == groups_.end() || it->second.txn != m.txn || !it->second.awaiting.count(src)) return;
  GsGroup& g = it->second;
  g.awaiting.erase(src);
  if (m.ok) g.ok_nodes.push_back(src);
  else {
    g.refused = true;
    refused_at_[src] = Clock::now();
  }
  if (!g.awaiting.empty()) return;
  in_flight_ = 0;
  if (g.state == PlacementGroupState::removed || g.refused) {
    // Roll back: the nodes that reserved give it back; nothing stays held.
    gs_send_nodes(m.id, g, PgOp::abort, &g.ok_nodes);
    gs_account(g, false);
    g.nodes.assign(g.nodes.size(), -1);
    g.txn = 0;
    if (g.state == PlacementGroupState::removed) {
      groups_.erase(it);
    } else {
      pending_.push_front(m.id);
      retry_at_ = Clock::now() + backoff_;
      backoff_ = std::min(kMaxBackoff, backoff_ * 2);
    }
  } else {
    gs_send_nodes(m.id, g, PgOp::commit);  // with the attempt's txn, which the nodes check
    g.txn = 0;
    g.state = PlacementGroupState::created;
    backoff_ = std::chrono::milliseconds(10);
    gs_broadcast(m.id, g, "");
  }
  gs_try_place();
}

void PlacementGroups::gs_remove(std::uint64_t id) {
  auto it = groups_.find(id);
  if (it == groups_.end()) {
    // From a rank other than the creator, a remove may overtake the create.
    removed_early_.insert(id);
    return;
  }
  GsGroup& g = it->second;
  const PlacementGroupState was = g.state;
  g.state = PlacementGroupState::removed;
  gs_broadcast(id, g, "raympi: " + quoted(g.created.name) + " was removed (remove_placement_group)");
  if (g.txn != 0) return;  // the attempt in flight is rolled back when its answers are in
  if (was == PlacementGroupState::created) {
    gs_send_nodes(id, g, PgOp::release);
    gs_account(g, false);
  }
  pending_.erase(std::remove(pending_.begin(), pending_.end(), id), pending_.end());
  groups_.erase(it);
  gs_try_place();  // what it held may place a waiting group
}

Clock::time_point PlacementGroups::tick(Clock::time_point now) {
  Clock::time_point node_next = Clock::time_point::max();
  if (!draining_.empty()) {
    // A released group's running work gave something back: to the node.
    for (auto it = draining_.begin(); it != draining_.end();)
      it = cx_.scheduler->collect_group(it->first, it->second) ? draining_.erase(it) : std::next(it);
    if (!draining_.empty()) node_next = now + std::chrono::milliseconds(20);
  }
  return std::min(node_next, gs_tick(now));
}

Clock::time_point PlacementGroups::gs_tick(Clock::time_point now) {
  if (in_flight_ != 0) {
    // A node that died before it answered counts as a refusal: the attempt
    // is rolled back and the group planned again on the live nodes.
    auto it = groups_.find(in_flight_);
    std::vector<int> dead;
    PgMsg refusal;
    refusal.op = PgOp::prepared;
    if (it != groups_.end()) {
      refusal.id = it->first;
      refusal.txn = it->second.txn;
      for (int node : it->second.awaiting)
        if (cx_.membership->dead(node)) dead.push_back(node);
    }
    for (int node : dead) gs_prepared(node, refusal);
    if (in_flight_ != 0) return now + std::chrono::milliseconds(100);
  }
  if (retry_at_ == Clock::time_point::max()) return retry_at_;
  if (now < retry_at_) return retry_at_;
  retry_at_ = Clock::time_point::max();
  gs_try_place();
  return in_flight_ != 0 ? now + std::chrono::milliseconds(100) : retry_at_;
}

void PlacementGroups::gs_broadcast(std::uint64_t id, const GsGroup& g, const std::string& message) {
  PgMsg m;
  m.op = PgOp::update;
  m.id = id;
  m.name = g.created.name;
  m.strategy = g.created.strategy;
  m.state = std::uint8_t(g.state);
  m.bundles = g.created.bundles;
  m.nodes.assign(g.demands.size(), -1);
  if (g.state == PlacementGroupState::created)
    for (std::size_t i = 0; i < g.nodes.size(); ++i) m.nodes[i] = g.nodes[i];
  m.message = message;
  Buffer b = encode(m);
  for (auto& n : cx_.nodes) cx_.send(n.rank, b);
}

void PlacementGroups::gs_send_nodes(std::uint64_t id, const GsGroup& g, PgOp op, const std::vector<int>* only) {
  std::map<int, PgMsg> per_node;
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    const int node = g.nodes[i];
    if (node < 0 || (only && std::find(only->begin(), only->end(), node) == only->end())) continue;
    PgMsg& m = per_node[node];
    m.op = op;
    m.id = id;
    m.txn = g.txn;
    m.indices.push_back(std::int32_t(i));
    if (op == PgOp::prepare) m.bundles.push_back(g.created.bundles[i]);
  }
  for (auto& [node, m] : per_node) cx_.send(node, encode(m));
}

void PlacementGroups::gs_account(const GsGroup& g, bool take) {
  for (std::size_t i = 0; i < g.nodes.size(); ++i) {
    if (g.nodes[i] < 0) continue;
    ResourceSet& c = capacity_[g.nodes[i]];
    if (take) c.take(g.demands[i]);
    else c.give(g.demands[i]);
  }
}

// --- the node -----------------------------------------------------------------

void PlacementGroups::node_prepare(int src, const PgMsg& m) {
  PgMsg reply;
  reply.op = PgOp::prepared;
  reply.id = m.id;
  reply.txn = m.txn;
  NodeGroup ng;
  ng.txn = m.txn;
  std::vector<ResourceDemand> parts;
  for (std::size_t k = 0; k < m.indices.size() && k < m.bundles.size(); ++k) {
    ng.bundles.emplace_back(m.indices[k], bundle_demand(m.bundles[k], m.indices[k]));
    parts.push_back(ng.bundles.back().second);
  }
  ng.base = sum_demands(parts);
  // All of this node's bundles or none; the GS commits or aborts.
  reply.ok = cx_.scheduler && cx_.scheduler->reserve(ng.base);
  if (reply.ok) node_groups_[m.id] = std::move(ng);
  cx_.send(src, encode(reply));
}

void PlacementGroups::node_end(const PgMsg& m) {
  auto it = node_groups_.find(m.id);
  if (it == node_groups_.end()) return;
  NodeGroup& ng = it->second;
  if (m.op == PgOp::commit) {
    if (ng.txn != m.txn || ng.committed) return;
    ng.committed = true;
    cx_.scheduler->adjust(ResourceDemand(0), committed_resources(m.id, ng.bundles));  // parked work starts now
    return;
  }
  if (m.op == PgOp::abort && ng.txn != m.txn) return;
  // Back to the node: what running work of the group does not use returns
  // now, the rest as that work ends (tick collects it).
  if (!ng.committed) {
    cx_.scheduler->adjust(ResourceDemand(0), ng.base);
  } else {
    ResourceDemand debt = cx_.scheduler->give_back_group(m.id, ng.base);
    if (!(debt == ResourceDemand(0))) draining_[m.id] = std::move(debt);
  }
  node_groups_.erase(it);
  if (m.op != PgOp::release) return;
  {
    std::lock_guard lk(mu_);
    released_.insert(m.id);
  }
  const std::uint64_t id = m.id;
  for (auto& t : cx_.scheduler->take_queued_if([id](const Task& t) { return uses_group(t.demand, id); })) admit(t);
}

}  // namespace raympi::detail
