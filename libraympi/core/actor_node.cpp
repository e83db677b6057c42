// Actors, the node's side: building an actor where the scheduler placed its
// creation, delivering calls to its mailbox, running them, kill / restart /
// release, and the resources it holds.
#include <system_error>

#include "base/log.hpp"
#include "core/runtime.hpp"
#include "raympi/errors.hpp"

namespace raympi::detail {

std::shared_ptr<ActorHost> Runtime::hosted(ObjectId actor) {
  std::lock_guard lk(actors_mu_);
  auto it = actors_.find(actor);
  return it == actors_.end() ? nullptr : it->second;
}

std::string Runtime::actor_died_message(const Task& creation, const std::string& why) const {
  return "raympi::ActorDiedError: actor " + demangle(creation.fn->actor_class.c_str()) + " (id " +
         std::to_string(creation.id.value) + (creation.spec.name.empty() ? "" : ", name '" + creation.spec.name + "'") +
         ", rank " + std::to_string(rank_) + ") is dead: " + why;
}

void Runtime::start_actor(const TaskPtr& c) {
  double started = now_seconds();
  Invocation inv;
  ErrorKind err = ErrorKind::none;
  std::string message;
  if (failed_dependency(*c, err, message)) {
    Invocation none;
    finish(c, none, ErrorKind::actor_died, actor_died_message(*c, "an argument of its factory failed: " + message),
           started);
    return;
  }
  if (!c->fn->factory) {
    Invocation none;
    finish(c, none, ErrorKind::actor_died, actor_died_message(*c, c->fn->name + " is not an actor factory"), started);
    return;
  }
  // Placed with its placement demand (held by the worker running this); from
  // now on it holds what it asked for, until it dies.
  scheduler_->hold(c->spec.holds, *c);  // with the GPU ids the creation was given
  c->demand = c->spec.holds;
  auto host = std::make_shared<ActorHost>(c, cfg_.spin_us, actor_hooks());
  {
    std::lock_guard lk(actors_mu_);
    actors_[c->id] = host;
  }
  try {
    host->start();
  } catch (const std::system_error& e) {  // out of threads (ulimit -u, kernel.threads-max) or memory
    {
      std::lock_guard lk(actors_mu_);
      actors_.erase(c->id);
    }
    scheduler_->release(c->spec.holds, c->gpu_ids);
    Invocation none;
    finish(c, none, ErrorKind::actor_died,
           actor_died_message(*c, std::string("its thread could not be started (") + e.what() +
                                      "); the node has too many threads: raise `ulimit -u`, or use fewer actors"),
           started);
    return;
  }
  // The actor's id resolves to its node: callers route straight here. Calls
  // that come before the factory ran wait in the mailbox.
  store_result(inv, std::int32_t(rank_));
  finish(c, inv, ErrorKind::none, {}, started);
}

ActorHost::Hooks Runtime::actor_hooks() {
  ActorHost::Hooks h;
  h.build = [this](ActorHost& host) {
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
  h.run = [this](ActorHost& host, const TaskPtr& t, void* self) { run_actor_call(host, t, self); };
  h.thread_started = [this](ActorHost&) { scheduler_->thread_started(-1); };
  h.fail = [this](ActorHost& host, const TaskPtr& t, const std::string& why) {
    Invocation none;
    finish(t, none, ErrorKind::actor_died,
           actor_died_message(*host.creation(), why) + "; the call '" + t->display_name() + "' did not complete",
           now_seconds());
  };
  h.changed = [this](ActorHost& host, ActorHost::Phase p, const std::string& message) {
    on_actor_phase(host, p, message);
  };
  h.exited = [this](ActorHost& host) {
    std::lock_guard lk(actors_mu_);
    auto it = actors_.find(host.id());
    if (it == actors_.end() || it->second.get() != &host) return;
    if (host.released()) actors_.erase(it);
    else actor_exited_.insert(host.id());  // a tombstone: calls through remaining handles fail
  };
  return h;
}

void Runtime::on_actor_phase(ActorHost& host, ActorHost::Phase p, const std::string& message) {
  const Task& c = *host.creation();
  if (p == ActorHost::Phase::dead) scheduler_->release(c.spec.holds, c.gpu_ids);
  if (p == ActorHost::Phase::restarting)
    RAYMPI_LOG_WARN("actor {} (id {}) on rank {}: restart {} of {} after {}", demangle(c.fn->actor_class.c_str()),
                    c.id.value, rank_, host.restarts(), c.spec.max_restarts, message);
  ActorEvent ev;
  ev.actor = c.id;
  ev.node = rank_;
  ev.state = p == ActorHost::Phase::alive        ? ActorState::alive
             : p == ActorHost::Phase::restarting ? ActorState::restarting
             : p == ActorHost::Phase::dead       ? ActorState::dead
                                                 : ActorState::pending;
  ev.restarts = host.restarts();
  ev.actor_class = c.fn->actor_class;
  ev.message = message;
  std::lock_guard lk(events_mu_);
  events_.actors.push_back(std::move(ev));
}

void Runtime::deliver_call(TaskPtr t) {
  std::shared_ptr<ActorHost> host = hosted(t->actor);
  if (!host) {
    Invocation none;
    finish(t, none, ErrorKind::actor_died,
           "raympi::ActorDiedError: actor " + std::to_string(t->actor.value) + " no longer exists on rank " +
               std::to_string(rank_) + "; the call '" + t->display_name() + "' did not run",
           now_seconds());
    return;
  }
  host->deliver(std::move(t));
}

void Runtime::run_actor_call(ActorHost& host, const TaskPtr& t, void* self) {
  double started = now_seconds();
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
    err = invoke_guarded(*t, inv, message);
    if (host.generation() != generation) {  // killed while this call ran: it was in flight at the crash
      err = ErrorKind::actor_died;
      message = actor_died_message(c, "it was killed while '" + t->display_name() + "' ran");
      inv = Invocation{};
    }
  }
  finish(t, inv, err, std::move(message), started);
}

void Runtime::handle_actor_kill(const ActorKillMsg& m) {
  std::shared_ptr<ActorHost> host = hosted(m.actor);
  if (host) host->kill(!m.no_restart, m.reason);
}

void Runtime::handle_caller_done(const ActorCallerDoneMsg& m) {
  std::shared_ptr<ActorHost> host = hosted(m.actor);
  if (host) host->caller_done(m.caller, m.calls);
}

void Runtime::handle_actor_release(ObjectId actor) {
  std::shared_ptr<ActorHost> host;
  {
    std::lock_guard lk(actors_mu_);
    auto it = actors_.find(actor);
    if (it == actors_.end()) return;
    host = it->second;
    host->release();
    if (actor_exited_.erase(actor) > 0) actors_.erase(it);  // already dead and gone: drop the tombstone
  }
}

void Runtime::stop_actors() {
  std::vector<std::shared_ptr<ActorHost>> hosts;
  {
    std::lock_guard lk(actors_mu_);
    for (auto& [id, h] : actors_) hosts.push_back(h);
  }
  for (auto& h : hosts) h->stop();  // each destroys its instance on its own thread
  std::lock_guard lk(actors_mu_);
  actors_.clear();
  actor_exited_.clear();
}

}  // namespace raympi::detail
