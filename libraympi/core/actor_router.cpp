#include "core/actor_router.hpp"

#include "core/actor_table.hpp"
#include "core/context.hpp"
#include "core/fetcher.hpp"
#include "core/gcs_client.hpp"
#include "core/object_table.hpp"
#include "core/owner_table.hpp"
#include "core/task_pipeline.hpp"
#include "core/waiters.hpp"
#include "raympi/errors.hpp"
#include "store/object_store.hpp"

namespace raympi::detail {

void ActorRouter::register_name(const Task& creation, const RefPtr& ref) {
  GcsQueryMsg q;
  q.kind = GcsQueryKind::actor_register;
  q.name = creation.actor_spec.name;
  q.actor = creation.id;
  q.actor_class = creation.fn->actor_class;
  q.minter = cx_.rank;
  cx_.objects->mint({ref});  // the GCS keeps one handle: a named actor outlives its creator's handles
  GcsReplyMsg r = cx_.gcs->query(std::move(q));
  if (!r.error.empty()) {
    cx_.owners->discard(ObjectTable::record(ref));
    throw Error(r.error);
  }
}

void ActorRouter::route_call(TaskPtr t) {
  const ObjectId actor = t->actor;
  int node = -1;
  ErrorKind err = ErrorKind::none;
  std::string message;
  bool parked = false, locate = false;
  {
    std::lock_guard lk(mu_);
    Route& r = routes_[actor];
    if (r.caller == 0) r.caller = (std::uint64_t(cx_.rank + 1) << 40) | ++caller_counter_;
    t->caller = r.caller;
    t->call_seq = r.next_seq++;
    if (r.node < 0 && r.error == ErrorKind::none) {
      r.parked.push_back(std::move(t));
      parked = true;
      locate = !r.locating;
      r.locating = true;
    } else {
      node = r.node;
      err = r.error;
      if (err != ErrorKind::none) message = r.message;
    }
  }
  if (parked) {
    // The actor's id names an object holding its node: fetch it like any object.
    if (locate) cx_.fetcher->fetch(actor, [this, actor](const StoredPtr& o) { on_located(actor, o); });
    return;
  }
  dispatch(std::move(t), node, err, message);
}

void ActorRouter::dispatch(TaskPtr t, int node, ErrorKind err, const std::string& message) {
  if (err != ErrorKind::none) cx_.tasks->fail_owned(*t, err, message);  // the actor was never built
  else if (node == cx_.rank) cx_.tasks->resolve_and_enqueue(std::move(t));  // never becomes a message
  else cx_.tasks->forward(t, node);
}

void ActorRouter::on_located(ObjectId actor, const StoredPtr& o) {
  std::vector<TaskPtr> parked;
  int node = -1;
  ErrorKind err = o->error;
  std::string message = o->error_message;
  if (err == ErrorKind::none) {
    try {
      node = o->copy<std::int32_t>();
    } catch (const std::exception& e) {
      err = ErrorKind::actor_died;
      message = std::string("raympi::ActorDiedError: unreadable actor location: ") + e.what();
    }
  }
  {
    std::lock_guard lk(mu_);
    auto it = routes_.find(actor);
    if (it == routes_.end()) return;
    Route& r = it->second;
    r.locating = false;
    r.node = node;
    r.error = err;
    r.message = message;
    parked.swap(r.parked);
  }
  // Sent in sequence order here; the actor's node orders them by sequence in any case.
  for (auto& t : parked) dispatch(std::move(t), node, err, message);
}

void ActorRouter::forget(ObjectId actor) {
  ActorCallerDoneMsg done;
  int node = -1;
  {
    std::lock_guard lk(mu_);
    auto it = routes_.find(actor);
    if (it == routes_.end() || !it->second.parked.empty()) return;
    node = it->second.error == ErrorKind::none ? it->second.node : -1;
    done = ActorCallerDoneMsg{actor, it->second.caller, it->second.next_seq};
    routes_.erase(it);
  }
  // The actor's node keeps each caller's sequence; a later handle here starts
  // a new caller, so the old one's state can go once its calls have arrived.
  if (node < 0) return;
  if (node == cx_.rank) cx_.actors->on_caller_done(done);
  else cx_.send(node, encode_msg(MsgType::actor_caller_done, done));
}

void ActorRouter::on_node_died(int rank, const std::string&) {
  std::vector<ObjectId> moved;
  {
    std::lock_guard lk(mu_);
    for (auto& [id, r] : routes_) {
      if (r.node != rank || r.error != ErrorKind::none) continue;
      // Ask the actor's owner again: it creates the actor anew elsewhere
      // (max_restarts) or answers ActorDiedError. The new instance knows no
      // caller yet: calls start a new caller sequence.
      r.node = -1;
      r.caller = 0;
      r.next_seq = 0;
      moved.push_back(id);
    }
  }
  for (ObjectId id : moved) cx_.store->erase(id);  // the cached location names the dead node
}

std::size_t ActorRouter::count() {
  std::lock_guard lk(mu_);
  return routes_.size();
}

void ActorRouter::refuse_self_wait(const Task& running, const std::vector<ObjectId>& ids) {
  // A method waiting for a later call to its own actor would wait forever:
  // that call runs only after this method returns. Say so instead of hanging.
  // A threaded actor (max_concurrency > 1) may run that call meanwhile.
  if (cx_.actors->max_concurrency(running.actor) > 1) return;
  for (ObjectId id : ids) {
    if (id.owner() != cx_.rank) continue;
    RefPtr p = cx_.objects->find(id);
    if (p && cx_.owners->pending_call_of(ObjectTable::record(p), running.actor))
      throw Error("raympi::get/wait in actor method '" + running.display_name() +
                  "' waits for another call to the same actor (id " + std::to_string(running.actor.value) +
                  "), which cannot start before this method returns: an actor runs one method at a time. "
                  "Call the other method directly (this->m()), or make the call from outside the actor.");
  }
}

void ActorRouter::release_actor_at(int node, ObjectId actor) {
  if (node == cx_.rank) cx_.actors->on_release(actor);
  else cx_.send(node, encode_msg(MsgType::actor_release, IdMsg{actor}));
}

void ActorRouter::kill(ObjectId actor, bool no_restart) {
  int node = -1;
  {
    std::lock_guard lk(mu_);
    auto it = routes_.find(actor);
    if (it != routes_.end()) node = it->second.node;
  }
  if (node < 0) {
    StoredPtr o = cx_.waiters->get({actor}, std::chrono::nanoseconds(-1))[0];
    if (o->error != ErrorKind::none) return;  // never built (infeasible, factory argument failed): nothing runs
    node = o->copy<std::int32_t>();
  }
  ActorKillMsg m;
  m.actor = actor;
  m.no_restart = no_restart;
  m.reason = no_restart ? "it was killed (kill() on rank " + std::to_string(cx_.rank) + ")"
                        : "it was killed with restart allowed (kill(false) on rank " + std::to_string(cx_.rank) + ")";
  if (node == cx_.rank) cx_.actors->on_kill(m);
  else cx_.send(node, encode_msg(MsgType::actor_kill, m));
  if (no_restart) {
    // Release the name before returning: a get_actor after kill() must not find it.
    GcsQueryMsg q;
    q.kind = GcsQueryKind::actor_forget;
    q.actor = actor;
    cx_.gcs->query(std::move(q));
  }
}

RefPtr ActorRouter::lookup(const std::string& name, const std::type_info& cls) {
  GcsQueryMsg q;
  q.kind = GcsQueryKind::actor_lookup;
  q.name = name;
  GcsReplyMsg r = cx_.gcs->query(std::move(q));
  if (r.actor.nil()) return RefPtr();
  RefPtr p = std::move(cx_.objects->claim({r.actor}, r.minter)[0]);
  if (r.actor_class != cls.name())
    throw Error("raympi::get_actor<" + demangle(cls.name()) + ">(\"" + name + "\"): the actor of that name is a " +
                demangle(r.actor_class.c_str()) + "; ask for get_actor<" + demangle(r.actor_class.c_str()) + ">");
  return p;
}

}  // namespace raympi::detail
