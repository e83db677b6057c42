// Objects this rank owns (it submitted their task or put them): their state,
// where copies live, who waits for them, and freeing every copy at the end.
#include "core/runtime.hpp"

namespace raympi::detail {

void Runtime::own_pending(ObjectId id, RefPtr keepalive) {
  std::lock_guard lk(owned_mu_);
  auto& e = owned_[id];
  if (keepalive) e.contained.push_back(std::move(keepalive));
}

void Runtime::own_discard(ObjectId id) {
  Owned e;  // dropped after the lock: its refs may release other owned objects
  std::lock_guard lk(owned_mu_);
  auto it = owned_.find(id);
  if (it == owned_.end()) return;
  e = std::move(it->second);
  owned_.erase(it);
}

Runtime::Owned* Runtime::resolve_owned_locked(ObjectId id, Owned& taken) {
  auto it = owned_.find(id);
  if (it == owned_.end()) return nullptr;
  if (it->second.orphaned) {
    taken = std::move(it->second);
    owned_.erase(it);
    return nullptr;
  }
  Owned& e = it->second;
  taken.contained.swap(e.contained);  // what the pending entry kept alive
  taken.remote_waiters.swap(e.remote_waiters);
  taken.local_waiters.swap(e.local_waiters);
  return &e;
}

void Runtime::own_ready(ObjectId id, int location, std::uint64_t size, std::vector<RefPtr> contained) {
  Owned taken;  // waiters and kept refs, handled after the lock
  bool live;
  {
    std::lock_guard lk(owned_mu_);
    Owned* e = resolve_owned_locked(id, taken);
    live = e != nullptr;
    if (live) {
      e->state = Owned::State::ready;
      e->locations = {location};
      e->size = size;
      e->contained = std::move(contained);
    }
  }
  if (live) {
    std::lock_guard lk(events_mu_);
    events_.objects_created.emplace_back(id, size);
  } else if (location != rank_) {
    // Every reference was dropped before the task finished: discard the result.
    transport_->send(location, encode_msg(MsgType::free_objects, IdsMsg{{id}}));
  } else {
    store_.erase(id);
  }
  notify_resolved(id, std::move(taken.remote_waiters), std::move(taken.local_waiters));
}

void Runtime::own_failed(ObjectId id, ErrorKind err, std::string message) {
  Owned taken;
  bool live;
  {
    std::lock_guard lk(owned_mu_);
    Owned* e = resolve_owned_locked(id, taken);
    live = e != nullptr;
    if (live) {
      e->state = Owned::State::failed;
      e->error = err;
      e->message = std::move(message);
      e->locations = {rank_};
    }
  }
  if (!live) store_.erase(id);
  notify_resolved(id, std::move(taken.remote_waiters), std::move(taken.local_waiters));
}

void Runtime::notify_resolved(ObjectId id, std::vector<int> remote, std::vector<std::function<void()>> local) {
  for (int r : remote) answer_locate(id, r);
  for (auto& f : local) f();
}

void Runtime::own_when_resolved(ObjectId id, std::function<void()> fn) {
  {
    std::lock_guard lk(owned_mu_);
    auto it = owned_.find(id);
    if (it != owned_.end() && it->second.state == Owned::State::pending) {
      it->second.local_waiters.push_back(std::move(fn));
      return;
    }
  }
  fn();
}

void Runtime::answer_locate(ObjectId id, int requester) {
  LocationMsg m;
  m.id = id;
  Buffer bytes;
  {
    std::lock_guard lk(owned_mu_);
    auto it = owned_.find(id);
    if (it == owned_.end()) {
      m.state = LocState::lost;
      m.message = "raympi::ObjectLostError: object " + std::to_string(id.value) + " owned by rank " +
                  std::to_string(rank_) + " no longer exists (every reference to it was dropped)";
    } else {
      Owned& e = it->second;
      if (e.state == Owned::State::pending) {
        if (requester != rank_) e.remote_waiters.push_back(requester);
        return;
      }
      m.state = e.state == Owned::State::failed ? LocState::failed : LocState::ready;
      m.error = e.error;
      m.message = e.message;
      for (int l : e.locations) m.locations.push_back(l);
      if (e.state == Owned::State::ready && e.size <= kInlineObjectBytes) {
        if (auto o = store_.get(id)) {
          bytes = o->bytes;
          m.inlined = true;
        }
      }
    }
  }
  if (requester == rank_) on_location(m, bytes);
  else transport_->send(requester, encode_msg(MsgType::location, m, m.inlined ? &bytes : nullptr));
}

void Runtime::own_add_location(ObjectId id, int rank) {
  {
    std::lock_guard lk(owned_mu_);
    auto it = owned_.find(id);
    if (it != owned_.end()) {
      auto& locs = it->second.locations;
      if (std::find(locs.begin(), locs.end(), rank) == locs.end()) locs.push_back(rank);
      return;
    }
  }
  transport_->send(rank, encode_msg(MsgType::free_objects, IdsMsg{{id}}));  // freed meanwhile
}

void Runtime::own_free(ObjectId id) {
  Owned e;
  {
    std::lock_guard lk(owned_mu_);
    auto it = owned_.find(id);
    if (it == owned_.end()) return;
    if (it->second.state == Owned::State::pending) {
      // Still running: keep what it holds alive (an actor call keeps its actor)
      // until it resolves, then discard the result.
      it->second.orphaned = true;
      return;
    }
    e = std::move(it->second);
    owned_.erase(it);
  }
  store_.erase(id);
  if (id.is_actor() && e.actor_node >= 0) release_actor_at(e.actor_node, id);  // its last handle is gone
  for (int l : e.locations)
    if (l != rank_) transport_->send(l, encode_msg(MsgType::free_objects, IdsMsg{{id}}));
  for (int r : e.remote_waiters) answer_locate(id, r);  // they learn it is gone
  {
    std::lock_guard lk(events_mu_);
    events_.objects_freed.push_back(id);
  }
  // e.contained drops here: the tokens for refs inside this object go back.
}

void Runtime::actor_created(ObjectId actor, int node) {
  {
    std::lock_guard lk(owned_mu_);
    auto it = owned_.find(actor);
    if (it != owned_.end() && !it->second.orphaned) {
      it->second.actor_node = node;
      return;
    }
  }
  release_actor_at(node, actor);  // every handle was dropped while it was being placed
}

std::vector<std::pair<std::int32_t, std::uint64_t>> Runtime::locality_of(const std::vector<ObjectId>& deps) {
  std::vector<std::pair<std::int32_t, std::uint64_t>> out;
  std::lock_guard lk(owned_mu_);
  for (ObjectId d : deps) {
    auto it = owned_.find(d);
    if (it == owned_.end() || it->second.state != Owned::State::ready) continue;
    for (int l : it->second.locations) out.emplace_back(l, it->second.size);
  }
  return out;
}

}  // namespace raympi::detail
