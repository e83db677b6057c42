// Actors, the caller's side: routing method calls to the actor's node (in
// per-caller sequence), named-actor registration and lookup, kill.
#include "base/log.hpp"
#include "core/runtime.hpp"
#include "raympi/errors.hpp"

namespace raympi::detail {

void Runtime::register_actor_name(const Task& creation, const RefPtr& ref) {
  GcsQueryMsg q;
  q.kind = GcsQueryKind::actor_register;
  q.name = creation.spec.name;
  q.actor = creation.id;
  q.actor_class = creation.fn->actor_class;
  q.minter = rank_;
  refs_.mint({ref});  // the GCS keeps one handle: a named actor outlives its creator's handles
  GcsReplyMsg r = query_gcs(std::move(q));
  if (!r.error.empty()) {
    own_discard(creation.id);
    throw Error(r.error);
  }
}

void Runtime::route_call(TaskPtr t) {
  const ObjectId actor = t->actor;
  int node = -1;
  ErrorKind err = ErrorKind::none;
  std::string message;
  bool parked = false, locate = false;
  {
    std::lock_guard lk(routes_mu_);
    ActorRoute& r = routes_[actor];
    if (r.caller == 0) r.caller = (std::uint64_t(rank_ + 1) << 40) | ++caller_counter_;
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
    if (locate) fetch(actor, [this, actor](const StoredPtr& o) { on_actor_route(actor, o); });
    return;
  }
  dispatch_call(std::move(t), node, err, message);
}

void Runtime::dispatch_call(TaskPtr t, int node, ErrorKind err, const std::string& message) {
  if (err != ErrorKind::none) fail_owned(t->id, err, message);  // the actor was never built
  else if (node == rank_) resolve_and_enqueue(std::move(t));     // never becomes a message
  else forward(t, node);
}

void Runtime::on_actor_route(ObjectId actor, const StoredPtr& o) {
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
    std::lock_guard lk(routes_mu_);
    auto it = routes_.find(actor);
    if (it == routes_.end()) return;
    ActorRoute& r = it->second;
    r.locating = false;
    r.node = node;
    r.error = err;
    r.message = message;
    parked.swap(r.parked);
  }
  // Sent in sequence order here; the actor's node orders them by sequence in any case.
  for (auto& t : parked) dispatch_call(std::move(t), node, err, message);
}

void Runtime::forget_route(ObjectId actor) {
  ActorCallerDoneMsg done;
  int node = -1;
  {
    std::lock_guard lk(routes_mu_);
    auto it = routes_.find(actor);
    if (it == routes_.end() || !it->second.parked.empty()) return;
    node = it->second.error == ErrorKind::none ? it->second.node : -1;
    done = ActorCallerDoneMsg{actor, it->second.caller, it->second.next_seq};
    routes_.erase(it);
  }
  // The actor's node keeps each caller's sequence; a later handle here starts
  // a new caller, so the old one's state can go once its calls have arrived.
  if (node < 0) return;
  if (node == rank_) handle_caller_done(done);
  else transport_->send(node, encode_msg(MsgType::actor_caller_done, done));
}

void Runtime::refuse_self_wait(const Task& running, const std::vector<ObjectId>& ids) {
  // A method waiting for a later call to its own actor would wait forever:
  // that call runs only after this method returns. Say so instead of hanging.
  std::lock_guard lk(owned_mu_);
  for (ObjectId id : ids) {
    if (id.owner() != rank_) continue;
    auto it = owned_.find(id);
    if (it == owned_.end() || it->second.state != Owned::State::pending) continue;
    for (const RefPtr& kept : it->second.contained)
      if (kept.id() == running.actor)
        throw Error("raympi::get/wait in actor method '" + running.display_name() +
                    "' waits for another call to the same actor (id " + std::to_string(running.actor.value) +
                    "), which cannot start before this method returns: an actor runs one method at a time. "
                    "Call the other method directly (this->m()), or make the call from outside the actor.");
  }
}

void Runtime::release_actor_at(int node, ObjectId actor) {
  if (node == rank_) handle_actor_release(actor);
  else transport_->send(node, encode_msg(MsgType::actor_release, IdMsg{actor}));
}

void Runtime::kill_actor(ObjectId actor, bool no_restart) {
  int node = -1;
  {
    std::lock_guard lk(routes_mu_);
    auto it = routes_.find(actor);
    if (it != routes_.end()) node = it->second.node;
  }
  if (node < 0) {
    StoredPtr o = get({actor}, std::chrono::nanoseconds(-1))[0];
    if (o->error != ErrorKind::none) return;  // never built (infeasible, factory argument failed): nothing runs
    node = o->copy<std::int32_t>();
  }
  ActorKillMsg m;
  m.actor = actor;
  m.no_restart = no_restart;
  m.reason = no_restart ? "it was killed (kill() on rank " + std::to_string(rank_) + ")"
                        : "it was killed with restart allowed (kill(false) on rank " + std::to_string(rank_) + ")";
  if (node == rank_) handle_actor_kill(m);
  else transport_->send(node, encode_msg(MsgType::actor_kill, m));
  if (no_restart) {
    // Release the name before returning: a get_actor after kill() must not find it.
    GcsQueryMsg q;
    q.kind = GcsQueryKind::actor_forget;
    q.actor = actor;
    query_gcs(std::move(q));
  }
}

RefPtr Runtime::lookup_actor(const std::string& name, const std::type_info& cls) {
  GcsQueryMsg q;
  q.kind = GcsQueryKind::actor_lookup;
  q.name = name;
  GcsReplyMsg r = query_gcs(std::move(q));
  if (r.actor.nil()) return RefPtr();
  RefPtr p = std::move(refs_.claim({r.actor}, r.minter)[0]);
  if (r.actor_class != cls.name())
    throw Error("raympi::get_actor<" + demangle(cls.name()) + ">(\"" + name + "\"): the actor of that name is a " +
                demangle(r.actor_class.c_str()) + "; ask for get_actor<" + demangle(r.actor_class.c_str()) + ">");
  return p;
}

GcsReplyMsg Runtime::answer_gcs(const GcsQueryMsg& q) {
  GcsReplyMsg r;
  switch (q.kind) {
    case GcsQueryKind::nodes:
    case GcsQueryKind::tables: return gcs_->answer(q);
    case GcsQueryKind::actor_register: {
      r.request = q.request;
      RefPtr pin = std::move(refs_.claim({q.actor}, q.minter)[0]);
      r.error = gcs_->register_actor(q.name, q.actor, q.actor_class);
      if (r.error.empty()) {
        std::lock_guard lk(pins_mu_);
        named_pins_[q.actor] = std::move(pin);
      }
      return r;  // a refused pin drops here: its token goes back
    }
    case GcsQueryKind::actor_lookup: {
      r.request = q.request;
      auto found = gcs_->lookup_actor(q.name);
      if (!found) return r;
      std::lock_guard lk(pins_mu_);
      auto it = named_pins_.find(found->first);
      if (it == named_pins_.end()) return r;
      refs_.mint({it->second});  // the asker claims this token
      r.actor = found->first;
      r.actor_class = found->second;
      r.minter = rank_;
      return r;
    }
    case GcsQueryKind::actor_forget: {
      r.request = q.request;
      gcs_->forget_actor(q.actor);
      RefPtr dropped;
      {
        std::lock_guard lk(pins_mu_);
        auto it = named_pins_.find(q.actor);
        if (it != named_pins_.end()) {
          dropped = std::move(it->second);
          named_pins_.erase(it);
        }
      }
      return r;  // `dropped` goes after the lock
    }
  }
  return r;
}

}  // namespace raympi::detail
