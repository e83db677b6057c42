#include "core/actor_table.hpp"

#include <system_error>

#include "base/log.hpp"
#include "core/context.hpp"
#include "core/gcs_client.hpp"
#include "core/task_pipeline.hpp"
#include "raympi/errors.hpp"
#include "scheduler/local_scheduler.hpp"

namespace raympi::detail {

std::shared_ptr<ActorHost> ActorTable::hosted(ObjectId actor) {
  std::lock_guard lk(mu_);
  auto it = actors_.find(actor);
  return it == actors_.end() ? nullptr : it->second;
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
  // Placed with its placement demand (held by the worker running this); from
  // now on it holds what it asked for, until it dies.
  cx_.scheduler->hold(c->actor_spec.holds, *c);  // with the GPU ids the creation was given
  c->demand = c->actor_spec.holds;
  auto host = std::make_shared<ActorHost>(c, cx_.cfg.spin_us, hooks());
  {
    std::lock_guard lk(mu_);
    actors_[c->id] = host;
  }
  try {
    host->start();
  } catch (const std::system_error& e) {  // out of threads (ulimit -u, kernel.threads-max) or memory
    {
      std::lock_guard lk(mu_);
      actors_.erase(c->id);
    }
    cx_.scheduler->release(c->actor_spec.holds, c->gpu_ids);
    fail(c, ErrorKind::actor_died,
         died_message(*c, std::string("its thread could not be started (") + e.what() +
                              "); the node has too many threads: raise `ulimit -u`, or use fewer actors"),
         started);
    return;
  }
  // The actor's id resolves to its node: callers route straight here. Calls
  // that come before the factory ran wait in the mailbox.
  Invocation inv;
  store_result(inv, std::int32_t(cx_.rank));
  cx_.tasks->finish(c, inv, ErrorKind::none, {}, started);
}

ActorHost::Hooks ActorTable::hooks() {
  ActorHost::Hooks h;
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
  h.thread_started = [this](ActorHost&) { cx_.scheduler->thread_started(-1); };
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
  return h;
}

void ActorTable::on_phase(ActorHost& host, ActorHost::Phase p, const std::string& message) {
  const Task& c = *host.creation();
  if (p == ActorHost::Phase::dead) cx_.scheduler->release(c.actor_spec.holds, c.gpu_ids);
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
    std::uint64_t generation = host.generation();
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
    for (auto& [id, h] : actors_) hosts.push_back(h);
  }
  for (auto& h : hosts) h->stop();  // each destroys its instance on its own thread
  std::lock_guard lk(mu_);
  actors_.clear();
  exited_.clear();
}

}  // namespace raympi::detail
