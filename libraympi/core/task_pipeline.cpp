// Tasks: submission, bottom-up placement, forwarding, completion at the owner.
#include "core/task_pipeline.hpp"

#include "base/log.hpp"
#include "core/actor_router.hpp"
#include "core/actor_table.hpp"
#include "core/cancellation.hpp"
#include "core/context.hpp"
#include "core/fetcher.hpp"
#include "core/membership.hpp"
#include "core/object_table.hpp"
#include "core/owner_table.hpp"
#include "core/placement_groups.hpp"
#include "raympi/errors.hpp"
#include "scheduler/global_scheduler.hpp"
#include "scheduler/local_scheduler.hpp"
#include "store/object_store.hpp"
#include "transport/transport.hpp"

namespace raympi::detail {

void TaskPipeline::drop_finished() {
  std::vector<TaskPtr> done;
  {
    std::lock_guard lk(finished_mu_);
    done.swap(finished_);
  }
}

namespace {
// While a thread submits a batch, the tasks it finds ready to run here gather
// here instead of entering the scheduler one by one.
thread_local std::vector<TaskPtr>* t_batch_ready = nullptr;
constexpr std::size_t kBatchChunk = 256;
}  // namespace

TaskPtr TaskPipeline::make_task(TaskSubmission&& s, bool driver_thread, RefPtr& ref) {
  auto t = std::make_shared<Task>(std::move(s.spec));
  t->back_to_submitter = driver_thread;
  t->id = cx_.owners->next_id(t->kind == TaskKind::actor_create);
  t->held = std::move(s.held);
  t->submitted_at = cx_.now_seconds();
  ref = cx_.objects->create_owned(t->id);
  t->result = ref;
  if (const Task* parent = current_task()) cx_.cancels->child_submitted(*parent, t->id);  // recursive cancels
  return t;
}

bool TaskPipeline::begin_submission() {
  if (cx_.membership->fatal()) throw Error(cx_.membership->fatal_reason());
  if (cx_.stopping.load()) throw Error("raympi: the job is shutting down; no new tasks");
  if (!cx_.scheduler) throw Error("raympi: tasks can only be submitted from the driver or from tasks");
  const bool driver_thread = !current_task();
  if (driver_thread) drop_finished();
  return driver_thread;
}

RefPtr TaskPipeline::submit(TaskSubmission&& s) {
  const bool driver_thread = begin_submission();
  RefPtr ref;
  TaskPtr t = make_task(std::move(s), driver_thread, ref);
  if (t->kind == TaskKind::actor_call) {
    t->actor = s.actor.id();
    cx_.owners->pending(ref, std::move(s.actor));  // the actor lives at least until the call is done
    cx_.router->route_call(std::move(t));
    return ref;
  }
  cx_.owners->pending(ref);
  if (t->kind == TaskKind::actor_create && !t->actor_spec.name.empty()) cx_.router->register_name(*t, ref);
  place(std::move(t));
  return ref;
}

std::vector<RefPtr> TaskPipeline::submit_batch(std::vector<TaskSubmission>&& subs) {
  const bool driver_thread = begin_submission();
  // Gathers the tasks ready to run here; what it holds when the batch ends
  // (or a submission throws) is queued on the way out.
  struct Gathering {
    LocalScheduler& scheduler;
    std::vector<TaskPtr> runnable;
    explicit Gathering(LocalScheduler& s) : scheduler(s) { t_batch_ready = &runnable; }
    ~Gathering() {
      t_batch_ready = nullptr;
      scheduler.enqueue_batch(runnable);
    }
  } gathering(*cx_.scheduler);
  std::vector<RefPtr> refs(subs.size());
  for (std::size_t i = 0; i < subs.size(); ++i) {
    TaskPtr t = make_task(std::move(subs[i]), driver_thread, refs[i]);
    cx_.owners->pending(refs[i]);
    place(std::move(t));
    // In chunks: workers start on the first tasks while the rest are submitted.
    if (gathering.runnable.size() >= kBatchChunk) cx_.scheduler->enqueue_batch(gathering.runnable);
  }
  return refs;
}

RefPtr TaskPipeline::result_record(const Task& t) { return t.result ? t.result : cx_.objects->find(t.id); }

void TaskPipeline::fail_owned(const Task& t, ErrorKind err, std::string message) {
  if (RefPtr p = result_record(t)) cx_.owners->failed(ObjectTable::record(p), err, std::move(message));
}

std::string TaskPipeline::infeasible_message(const Task& t) const {
  std::string msg = "raympi: task '" + t.display_name() + "' demands {" + describe(t.demand) +
                    "} which no node of this job has; the nodes offer:";
  for (auto& n : cx_.nodes) {
    msg += " rank " + std::to_string(n.rank) + " {";
    for (auto& [k, v] : n.total.as_map())
      if (k.rfind("node:", 0) != 0) msg += " " + k + "=" + std::to_string(v).substr(0, std::to_string(v).find('.') + 3);
    msg += " };";
  }
  return msg + " lower the demand, or give the nodes more (Config, RAYMPI_NUM_CPUS/GPUS, RAYMPI_RESOURCES)";
}

void TaskPipeline::place(TaskPtr t) {
  if (t->placement_group != 0) {  // to its bundle's node
    cx_.pgs->place(std::move(t));
    return;
  }
  // One pass over the node table: who can ever run this demand?
  int feasible = 0, only = -1;
  bool here = false;
  std::string dead_fit;  // a dead node that could have run it
  for (auto& n : cx_.nodes) {
    if (!n.total.fits(t->demand)) continue;
    if (cx_.membership->dead(n.rank)) {
      dead_fit = cx_.membership->describe(n.rank);
      continue;
    }
    ++feasible;
    only = n.rank;
    here |= n.rank == cx_.rank;
  }
  if (feasible == 0) {
    if (!dead_fit.empty())
      fail_owned(*t, ErrorKind::node_died,
                 "raympi::NodeDiedError: task '" + t->display_name() + "' demands {" + describe(t->demand) +
                     "}, which only " + dead_fit + " could run, and that node died");
    else
      fail_owned(*t, ErrorKind::infeasible, infeasible_message(*t));
    return;
  }
  bool elsewhere = feasible > (here ? 1 : 0);
  bool local = here && (!elsewhere || cx_.scheduler->can_run_now(t->demand));
  if (local && elsewhere && !t->deps.empty()) {
    // Large arguments elsewhere: let the GS weigh locality.
    t->locality = cx_.owners->locality_of(t->held, t->deps);
    std::uint64_t bytes_here = 0, bytes_elsewhere = 0;
    for (auto& [r, b] : t->locality) (r == cx_.rank ? bytes_here : bytes_elsewhere) += b;
    if (bytes_elsewhere > bytes_here && bytes_elsewhere >= (1u << 20)) local = false;
  }
  if (local) {
    resolve_and_enqueue(std::move(t));
    return;
  }
  // Only one node can ever run it (e.g. a node:<rank> demand): the GS could
  // choose nothing else, so skip its hop.
  if (feasible == 1) {
    forward(t, only);
    return;
  }
  if (t->locality.empty() && !t->deps.empty()) t->locality = cx_.owners->locality_of(t->held, t->deps);
  forward(t, cx_.roles.gs);
}

void TaskPipeline::resolve_and_enqueue(TaskPtr t) {
  if (t->deps.empty()) {
    ready(std::move(t));
    return;
  }
  t->resolved.resize(t->deps.size());
  t->missing.store(int(t->deps.size()));
  for (std::size_t i = 0; i < t->deps.size(); ++i) {
    cx_.fetcher->fetch(t->deps[i], [this, t, i](const StoredPtr& o) {
      t->resolved[i] = o;
      if (t->missing.fetch_sub(1, std::memory_order_acq_rel) == 1) ready(t);
    });
  }
}

void TaskPipeline::ready(TaskPtr t) {
  if (is_bundle_demand(t->demand) && !cx_.pgs->admit(t)) return;  // its group was removed here
  if (cx_.cancels->drop_if_cancelled(t)) return;  // cancelled while on its way or waiting for arguments
  if (t->kind == TaskKind::actor_call) cx_.actors->deliver(std::move(t));  // the actor's mailbox, not the queue
  else if (t_batch_ready) t_batch_ready->push_back(std::move(t));
  else cx_.scheduler->enqueue(std::move(t));
}

void TaskPipeline::forward(const TaskPtr& t, int dst) {
  if (cx_.cancels->drop_if_cancelled(t)) return;  // cancelled before it left
  std::vector<ObjectId> refs;
  refs.reserve(t->held.size());
  for (auto& r : t->held) refs.push_back(r.id());
  cx_.objects->mint(t->held);  // the receiver returns these tokens when done with the task
  {
    std::lock_guard lk(remote_mu_);
    remote_[t->id] = RemoteTask{t, dst == cx_.roles.gs && !cx_.roles.is_node(dst) ? -1 : dst};
  }
  cx_.send(dst, encode_task(*t, cx_.rank, refs, t->locality));
  cx_.cancels->forwarded(*t, dst);  // an actor call cancelled before it left: the cancel follows it
}

bool TaskPipeline::remote_node(ObjectId id, int& node) {
  std::lock_guard lk(remote_mu_);
  auto it = remote_.find(id);
  if (it == remote_.end()) return false;
  node = it->second.node;
  return true;
}

void TaskPipeline::on_submit_at_gs(const Buffer& msg) {
  TaskWire w = decode_msg<TaskWire>(msg);
  int dst = cx_.gs->choose(w.spec.demand, w.locality);
  if (dst >= 0) {
    cx_.send(dst, msg);  // forwarded as is: the tokens stay the minter's
    TaskPlacedMsg& placed = placed_[w.spec.id.owner()];
    placed.ids.push_back(w.spec.id);
    placed.nodes.push_back(dst);
    return;
  }
  // Cannot happen for submissions checked at the node; kept for a node table change.
  cx_.objects->claim(w.refs, w.minter);  // returned as the claimed handles drop
  TaskDoneMsg done;
  done.id = w.spec.id;
  done.executor = cx_.rank;
  done.error = ErrorKind::infeasible;
  done.message = "raympi: no node can ever satisfy {" + describe(w.spec.demand) + "}";
  if (cx_.gs->dead_node_fits(w.spec.demand)) {
    done.error = ErrorKind::node_died;
    done.message = "raympi::NodeDiedError: every node that could run {" + describe(w.spec.demand) + "} died";
  }
  cx_.send(w.spec.id.owner(), encode_msg(MsgType::task_done, done));
}

void TaskPipeline::on_submit(int src, const Buffer& msg) {
  Buffer args;
  TaskWire w = decode_msg<TaskWire>(msg, &args);
  auto t = std::make_shared<Task>(std::move(w.spec));
  t->args = std::move(args);
  t->held = cx_.objects->claim(w.refs, w.minter);
  t->locality = std::move(w.locality);
  if (!t->fn) {
    Invocation none;
    finish(t, none, ErrorKind::task,
           "raympi: a task's function is not registered on rank " + std::to_string(cx_.rank) +
               "; every rank must run the same executable with the same RAYMPI_REMOTE registrations",
           cx_.now_seconds());
    return;
  }
  resolve_and_enqueue(std::move(t));
}

void TaskPipeline::on_task_done(int src, const Buffer& msg) {
  Buffer bytes;
  auto m = decode_msg<TaskDoneMsg>(msg, &bytes);
  std::vector<RefPtr> contained = cx_.objects->claim(m.contained, m.executor);
  {
    std::lock_guard lk(remote_mu_);
    auto it = remote_.find(m.id);
    if (it != remote_.end()) {
      if (m.id.is_actor() && m.error == ErrorKind::none && it->second.task->actor_spec.max_restarts != 0)
        restartable_[m.id] = std::move(it->second.task);
      remote_.erase(it);
    }
  }
  RefPtr p = cx_.objects->find(m.id);
  if (!p) {  // cannot happen: a pending object keeps its record; free a result nobody can reach
    if (m.error == ErrorKind::none && !m.inlined) cx_.send(m.executor, encode_msg(MsgType::free_objects, IdsMsg{{m.id}}));
    return;
  }
  ObjectRecord& r = ObjectTable::record(p);
  if (m.error != ErrorKind::none) {
    cx_.owners->failed(r, m.error, std::move(m.message));
    return;
  }
  if (m.id.is_actor()) cx_.owners->actor_created(r, m.executor);
  if (m.inlined) {
    auto o = std::make_shared<StoredObject>();
    o->id = m.id;
    o->bytes = bytes;
    cx_.store->put(o);
    cx_.owners->ready(r, cx_.rank, m.size, std::move(contained));
  } else {
    cx_.owners->ready(r, m.executor, m.size, std::move(contained));
  }
}

void TaskPipeline::run_if_queued(ObjectId id) {
  if (TaskPtr t = cx_.scheduler->take_queued(id)) {
    ResourceDemand held = t->demand;  // what take_queued took (an actor creation changes t->demand)
    execute(t);
    cx_.scheduler->finished_inline(held);
  }
}

// --- failing over from a dead node -----------------------------------------

void TaskPipeline::flush_placed() {
  for (auto& [owner, m] : placed_) cx_.send(owner, encode_msg(MsgType::task_placed, m));
  placed_.clear();
}

void TaskPipeline::on_task_placed(const TaskPlacedMsg& m) {
  std::vector<std::pair<TaskPtr, int>> lost;  // placed on a node that died meanwhile
  {
    std::lock_guard lk(remote_mu_);
    for (std::size_t i = 0; i < m.ids.size() && i < m.nodes.size(); ++i) {
      auto it = remote_.find(m.ids[i]);
      if (it == remote_.end()) continue;  // done already
      it->second.node = m.nodes[i];
      if (cx_.membership->dead(m.nodes[i])) {
        lost.emplace_back(std::move(it->second.task), m.nodes[i]);
        remote_.erase(it);
      }
    }
  }
  for (auto& [t, node] : lost) fail_over(std::move(t), cx_.membership->describe(node) + ", which died");
  cx_.cancels->placed(m);  // cancels that waited to know where their task went
}

void TaskPipeline::on_node_died(int rank, const std::string& why) {
  std::vector<TaskPtr> lost;
  {
    std::lock_guard lk(remote_mu_);
    for (auto it = remote_.begin(); it != remote_.end();) {
      if (it->second.node == rank) {
        lost.push_back(std::move(it->second.task));
        it = remote_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& t : lost) fail_over(std::move(t), why);
}

TaskPtr TaskPipeline::take_restartable(ObjectId actor) {
  std::lock_guard lk(remote_mu_);
  auto it = restartable_.find(actor);
  if (it == restartable_.end()) return nullptr;
  TaskPtr t = std::move(it->second);
  restartable_.erase(it);
  return t;
}

void TaskPipeline::restart_actor(TaskPtr t, const std::string& why) {
  if (t->actor_spec.max_restarts > 0) --t->actor_spec.max_restarts;  // a restart spent (-1: unlimited)
  RAYMPI_LOG_WARN("rank {}: creating actor '{}' again on another node: {}", cx_.rank, t->display_name(), why);
  t->locality.clear();
  place(std::move(t));
}

void TaskPipeline::fail_over(TaskPtr t, const std::string& why) {
  const std::string name = t->display_name();
  if (t->kind == TaskKind::actor_call) {
    fail_owned(*t, ErrorKind::actor_died,
               "raympi::ActorDiedError: call '" + name + "' was lost with its actor's node: " + why);
    return;
  }
  if (t->kind == TaskKind::actor_create && t->actor_spec.max_restarts != 0) {
    restart_actor(std::move(t), why);
    return;
  }
  if (t->kind == TaskKind::task && t->max_retries != 0) {
    if (t->max_retries > 0) --t->max_retries;  // a retry spent (-1: unlimited)
    RAYMPI_LOG_WARN("rank {}: retrying task '{}' on another node: {}", cx_.rank, name, why);
    t->locality.clear();
    place(std::move(t));
    return;
  }
  if (t->kind == TaskKind::actor_create)
    fail_owned(*t, ErrorKind::actor_died,
               "raympi::ActorDiedError: actor '" + name + "' was being created on " + why +
                   "; give it max_restarts to create it again elsewhere");
  else
    fail_owned(*t, ErrorKind::node_died,
               "raympi::NodeDiedError: task '" + name + "' was queued or running on " + why +
                   "; give it max_retries to retry it on another node");
}

}  // namespace raympi::detail
