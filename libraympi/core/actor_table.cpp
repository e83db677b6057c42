#include "core/actor_table.hpp"

#include <system_error>

#include "base/log.hpp"
#include "core/cancellation.hpp"
#include "core/context.hpp"
#include "core/gcs_client.hpp"
#include "core/task_pipeline.hpp"
#include "raympi/errors.hpp"
#include "scheduler/local_scheduler.hpp"
#include "timeline/thread_row.hpp"

namespace raympi::detail {

namespace {
/// A pool thread takes the actor row for one call (the timeline draws the
/// calls of an actor on its own row, whichever pool thread ran them).
class ActorRowScope {
 public:
  ActorRowScope() : saved_(this_thread_row()) { set_this_thread_row(TaskRecord::kActorRow, saved_.pu); }
  ~ActorRowScope() { set_this_thread_row(saved_.row, saved_.pu); }
  ActorRowScope(const ActorRowScope&) = delete;
  ActorRowScope& operator=(const ActorRowScope&) = delete;

 private:
  ThreadRow saved_;
};

/// The actor holds resources (or GPU ids) for its lifetime: hold and release
/// them through the scheduler.
bool holds_something(const Task& creation) {
  const ResourceDemand& d = creation.actor_spec.holds;
  return d.cpu > 0 || d.gpu > 0 || !d.custom.empty() || !creation.gpu_ids.empty();
}
}  // namespace

std::shared_ptr<ActorHost> ActorTable::hosted(ObjectId actor) {
  std::lock_guard lk(mu_);
  auto it = actors_.find(actor);
  return it == actors_.end() ? nullptr : it->second;
}

std::uint32_t ActorTable::max_concurrency(ObjectId actor) {
  std::shared_ptr<ActorHost> host = hosted(actor);
  return host ? host->max_concurrency() : 1;
}

std::size_t ActorTable::count(std::size_t* callers) {
  std::vector<std::shared_ptr<ActorHost>> hosts;
  {
    std::lock_guard lk(mu_);
    for (auto& [id, h] : actors_) hosts.push_back(h);
  }
  if (callers)
    for (auto& h : hosts) *callers += h->callers();
  return hosts.size();
}

std::size_t ActorTable::pool_threads(std::size_t* peak) {
  ActorPool* made = pool_made() ? pool_.get() : nullptr;
  if (peak) *peak = made ? made->peak_threads() : 0;
  return made ? made->threads() : 0;
}

ActorPool& ActorTable::pool() {
  std::call_once(pool_once_, [this] {
    ActorPool::Options o;
    o.core_threads = kCorePoolThreads;
    o.max_threads = kMaxPoolThreads;
    o.spin_us = cx_.cfg.spin_us;
    // Placed like the workers (slot -1: over all worker PUs, at their priority).
    o.thread_started = [this] { cx_.scheduler->thread_started(-1); };
    hooks_ = make_hooks();
    pool_ = std::make_unique<ActorPool>(std::move(o));
    pool_ready_.store(true, std::memory_order_release);
  });
  return *pool_;
}

std::string ActorTable::died_message(const Task& creation, const std::string& why) const {
  return "raympi::ActorDiedError: actor " + demangle(creation.fn->actor_class.c_str()) + " (id " +
         std::to_string(creation.id.value) +
         (creation.actor_spec.name.empty() ? "" : ", name '" + creation.actor_spec.name + "'") + ", rank " +
         std::to_string(cx_.rank) + ") is dead: " + why;
}

void ActorTable::fail(const TaskPtr& t, ErrorKind err, std::string message, double started) {
  Invocation none;
  cx_.tasks->finish(t, none, err, std::move(message), started);
}

void ActorTable::start(const TaskPtr& c) {
  double started = cx_.now_seconds();
  ErrorKind err = ErrorKind::none;
  std::string message;
  if (failed_dependency(*c, err, message)) {
    fail(c, ErrorKind::actor_died, died_message(*c, "an argument of its factory failed: " + message), started);
    return;
  }
  if (!c->fn->factory) {
    fail(c, ErrorKind::actor_died, died_message(*c, c->fn->name + " is not an actor factory"), started);
    return;
  }
  ActorPool& actor_pool = pool();  // makes hooks_ too
  auto host = std::make_shared<ActorHost>(c, actor_pool, *hooks_);
  bool stopped = false;
  {
    std::lock_guard lk(mu_);
    stopped = stopped_;
    if (!stopped) actors_.emplace(c->id, host);
  }
  if (stopped) {
    fail(c, ErrorKind::actor_died, died_message(*c, "the job is shutting down"), started);
    return;
  }
  // Placed with its placement demand (held by the worker running this); from
  // now on it holds what it asked for, until it dies (with the GPU ids the
  // creation was given). Most actors hold nothing: no need for the scheduler's lock.
  if (holds_something(*c)) cx_.scheduler->hold(c->actor_spec.holds, *c);
  c->demand = c->actor_spec.holds;
  try {
    host->start();
  } catch (const std::system_error& e) {  // the pool has no thread and cannot start one (ulimit -u, memory)
    {
      std::lock_guard lk(mu_);
      actors_.erase(c->id);
    }
    if (holds_something(*c)) cx_.scheduler->release(c->actor_spec.holds, c->gpu_ids);
    fail(c, ErrorKind::actor_died,
         died_message(*c, std::string("no actor thread could be started (") + e.what() +
                              "); the node has too many threads: raise `ulimit -u`"),
         started);
    return;
  }
  // The actor's id resolves to its node: callers route straight here. Calls
  // that come before the factory ran wait in the mailbox.
  Invocation inv;
  store_result(inv, std::int32_t(cx_.rank));
  cx_.tasks->finish(c, inv, ErrorKind::none, {}, started);
}

std::shared_ptr<const ActorHost::Hooks> ActorTable::make_hooks() {
  auto hooks = std::make_shared<ActorHost::Hooks>();
  ActorHost::Hooks& h = *hooks;
  h.build = [](ActorHost& host) {
    const Task& c = *host.creation();
    Invocation inv;
    InArchive ar(c.args.data, c.args.size);
    inv.args = &ar;
    inv.deps = c.resolved.data();
    inv.num_deps = c.resolved.size();
    CurrentTaskScope scope(&c);
    c.fn->factory(c.fn->address, inv);
    return inv.instance;
  };
  h.run = [this](ActorHost& host, const TaskPtr& t, void* self) { run_call(host, t, self); };
  h.fail = [this](ActorHost& host, const TaskPtr& t, const std::string& why) {
    fail(t, ErrorKind::actor_died,
         died_message(*host.creation(), why) + "; the call '" + t->display_name() + "' did not complete",
         cx_.now_seconds());
  };
  h.changed = [this](ActorHost& host, ActorHost::Phase p, const std::string& message) { on_phase(host, p, message); };
  h.exited = [this](ActorHost& host) {
    std::lock_guard lk(mu_);
    auto it = actors_.find(host.id());
    if (it == actors_.end() || it->second.get() != &host) return;
    if (host.released()) actors_.erase(it);
    else exited_.insert(host.id());  // a tombstone: calls through remaining handles fail
  };
  return hooks;
}

void ActorTable::on_phase(ActorHost& host, ActorHost::Phase p, const std::string& message) {
  const Task& c = *host.creation();
  if (p == ActorHost::Phase::dead && holds_something(c)) cx_.scheduler->release(c.actor_spec.holds, c.gpu_ids);
  if (p == ActorHost::Phase::restarting)
    RAYMPI_LOG_WARN("actor {} (id {}) on rank {}: restart {} of {} after {}", demangle(c.fn->actor_class.c_str()),
                    c.id.value, cx_.rank, host.restarts(), c.actor_spec.max_restarts, message);
  ActorEvent ev;
  ev.actor = c.id;
  ev.node = cx_.rank;
  ev.state = p == ActorHost::Phase::alive        ? ActorState::alive
             : p == ActorHost::Phase::restarting ? ActorState::restarting
             : p == ActorHost::Phase::dead       ? ActorState::dead
                                                 : ActorState::pending;
  ev.restarts = host.restarts();
  ev.actor_class = c.fn->actor_class;
  ev.message = message;
  cx_.gcs->record_actor(std::move(ev));
}

void ActorTable::deliver(TaskPtr t) {
  std::shared_ptr<ActorHost> host = hosted(t->actor);
  if (!host) {
    fail(t, ErrorKind::actor_died,
         "raympi::ActorDiedError: actor " + std::to_string(t->actor.value) + " no longer exists on rank " +
             std::to_string(cx_.rank) + "; the call '" + t->display_name() + "' did not run",
         cx_.now_seconds());
    return;
  }
  host->deliver(std::move(t));
}

void ActorTable::run_call(ActorHost& host, const TaskPtr& t, void* self) {
  if (cx_.cancels->drop_call_if_cancelled(t)) return;  // cancelled while it waited in the mailbox
  ActorRowScope row;
  double started = cx_.now_seconds();
  Invocation inv;
  ErrorKind err = ErrorKind::none;
  std::string message;
  const Task& c = *host.creation();
  if (t->fn->actor_class != c.fn->actor_class) {
    err = ErrorKind::task;
    message = "raympi::TaskError: method " + t->fn->name + " belongs to " + demangle(t->fn->actor_class.c_str()) +
              ", but actor " + std::to_string(c.id.value) + " is a " + demangle(c.fn->actor_class.c_str());
  } else if (!failed_dependency(*t, err, message)) {
    std::uint64_t generation = host.turn_generation();
    inv.self = self;
    t->gpu_ids = c.gpu_ids;  // gpu_ids() in a method: the actor's
    err = cx_.tasks->invoke_guarded(*t, inv, message);
    if (host.generation() != generation) {  // killed while this call ran: it was in flight at the crash
      err = ErrorKind::actor_died;
      message = died_message(c, "it was killed while '" + t->display_name() + "' ran");
      inv = Invocation{};
    }
  }
  cx_.tasks->finish(t, inv, err, std::move(message), started);
}

TaskPtr ActorTable::take_queued_call(ObjectId call) {
  std::vector<std::shared_ptr<ActorHost>> hosts;  // the call names no actor: look in each (cancels are rare)
  {
    std::lock_guard lk(mu_);
    hosts.reserve(actors_.size());
    for (auto& [id, h] : actors_) hosts.push_back(h);
  }
  for (auto& h : hosts)
    if (TaskPtr t = h->take_queued(call)) return t;
  return nullptr;
}

void ActorTable::on_kill(const ActorKillMsg& m) {
  if (std::shared_ptr<ActorHost> host = hosted(m.actor)) host->kill(!m.no_restart, m.reason);
}

void ActorTable::on_caller_done(const ActorCallerDoneMsg& m) {
  if (std::shared_ptr<ActorHost> host = hosted(m.actor)) host->caller_done(m.caller, m.calls);
}

void ActorTable::on_release(ObjectId actor) {
  std::shared_ptr<ActorHost> host;  // destroyed after the lock
  std::lock_guard lk(mu_);
  auto it = actors_.find(actor);
  if (it == actors_.end()) return;
  host = it->second;
  host->release();
  if (exited_.erase(actor) > 0) actors_.erase(it);  // already dead and gone: drop the tombstone
}

void ActorTable::stop() {
  std::vector<std::shared_ptr<ActorHost>> hosts;
  {
    std::lock_guard lk(mu_);
    stopped_ = true;  // creations from now on fail: no pool to run them
    for (auto& [id, h] : actors_) hosts.push_back(h);
  }
  // All at once: the pool retires them in parallel (one by one, 100,000
  // actors would take 100,000 hand-offs in a row).
  for (auto& h : hosts) h->request_stop();  // each destroys its instance on the pool
  for (auto& h : hosts) h->wait_exited();
  hosts.clear();
  {
    std::lock_guard lk(mu_);
    actors_.clear();
    exited_.clear();
  }
  // Kept (stopped) until the table goes: late events on retired hosts still name it.
  if (pool_made()) pool_->stop();
}

}  // namespace raympi::detail
