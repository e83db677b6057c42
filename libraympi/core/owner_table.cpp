#include "core/owner_table.hpp"

#include <algorithm>

#include "core/actor_router.hpp"
#include "core/context.hpp"
#include "core/fetcher.hpp"
#include "core/gcs_client.hpp"
#include "core/task_pipeline.hpp"
#include "store/object_store.hpp"

namespace raympi::detail {

ObjectId OwnerTable::next_id(bool actor) {
  std::uint64_t n = id_counter_.fetch_add(1, std::memory_order_relaxed) + 1;
  return actor ? ObjectId::make_actor(cx_.rank, n) : ObjectId::make(cx_.rank, n);
}

void OwnerTable::pending(const RefPtr& ref, RefPtr keepalive) {
  ObjectRecord& r = ObjectTable::record(ref);
  owned_.fetch_add(1, std::memory_order_relaxed);
  // No lock: the object was created a moment ago on this thread, and no other
  // thread can reach it before its task is queued or sent (which publishes these writes).
  r.self = ref;
  if (keepalive) r.contained.push_back(std::move(keepalive));
}

OwnerTable::Released OwnerTable::take_waiters_locked(ObjectRecord& r) {
  Released rel;
  rel.remote.swap(r.remote_waiters);
  rel.local.swap(r.local_waiters);
  rel.kept.swap(r.contained);  // what the pending entry kept alive
  rel.self = std::move(r.self);
  return rel;
}

void OwnerTable::notify(ObjectRecord& r, Released& rel) {
  for (int q : rel.remote) answer_locate(&r, r.id, q);
  for (auto& f : rel.local) f();
  rel.kept.clear();
  rel.self.reset();  // may free the object now (every other reference was dropped meanwhile)
}

void OwnerTable::ready(ObjectRecord& r, int location, std::uint64_t size, std::vector<RefPtr> contained) {
  Released rel;
  {
    std::lock_guard lk(mu_);
    rel = take_waiters_locked(r);
    r.state = ObjectRecord::State::ready;
    r.locations.assign_one(location);
    r.size = size;
    r.contained = std::move(contained);
  }
  cx_.gcs->object_created();
  notify(r, rel);
}

void OwnerTable::failed(ObjectRecord& r, ErrorKind err, std::string message) {
  cx_.store->put(make_error_object(r.id, err, message));
  Released rel;
  {
    std::lock_guard lk(mu_);
    rel = take_waiters_locked(r);
    r.state = ObjectRecord::State::failed;
    r.error = err;
    r.message = std::move(message);
    r.locations.assign_one(cx_.rank);
  }
  notify(r, rel);
}

void OwnerTable::discard(ObjectRecord& r) {
  Released rel;
  {
    std::lock_guard lk(mu_);
    rel = take_waiters_locked(r);
    r.state = ObjectRecord::State::failed;
  }
  notify(r, rel);
}

void OwnerTable::actor_created(ObjectRecord& r, int node) {
  std::lock_guard lk(mu_);
  r.actor_node = node;  // its last handle releases the actor there (free)
}

void OwnerTable::when_resolved(ObjectRecord& r, std::function<void()> fn) {
  {
    std::lock_guard lk(mu_);
    if (r.state == ObjectRecord::State::pending) {
      r.local_waiters.push_back(std::move(fn));
      return;
    }
  }
  fn();
}

void OwnerTable::answer_locate(ObjectRecord* r, ObjectId id, int requester) {
  LocationMsg m;
  m.id = id;
  Buffer bytes;
  if (!r) {
    m.state = LocState::lost;
    m.message = "raympi::ObjectLostError: object " + std::to_string(id.value) + " owned by rank " +
                std::to_string(cx_.rank) + " no longer exists (every reference to it was dropped)";
  } else {
    bool inline_it = false;
    {
      std::lock_guard lk(mu_);
      if (r->state == ObjectRecord::State::pending) {
        if (requester != cx_.rank) r->remote_waiters.push_back(requester);
        return;
      }
      m.state = r->state == ObjectRecord::State::failed ? LocState::failed : LocState::ready;
      m.error = r->error;
      m.message = r->message;
      r->locations.for_each([&](int l) { m.locations.push_back(l); });
      inline_it = r->state == ObjectRecord::State::ready && r->size <= kInlineObjectBytes;
    }
    if (inline_it)
      if (auto o = cx_.store->get(id)) {
        bytes = o->bytes;
        m.inlined = true;
      }
  }
  if (requester == cx_.rank) cx_.fetcher->on_location(m, bytes);
  else cx_.send(requester, encode_msg(MsgType::location, m, m.inlined ? &bytes : nullptr));
}

void OwnerTable::on_locate(ObjectId id, int requester) {
  RefPtr p = cx_.objects->find(id);
  answer_locate(p ? &ObjectTable::record(p) : nullptr, id, requester);
}

void OwnerTable::on_add_location(ObjectId id, int rank) {
  if (RefPtr p = cx_.objects->find(id)) {
    ObjectRecord& r = ObjectTable::record(p);
    std::lock_guard lk(mu_);
    r.locations.add(rank);
    return;
  }
  cx_.send(rank, encode_msg(MsgType::free_objects, IdsMsg{{id}}));  // freed meanwhile
}

void OwnerTable::free(ObjectRecord& r) {
  Locations locations;
  std::vector<int> waiters;
  std::vector<RefPtr> contained;
  int actor_node;
  bool was_ready;
  {
    std::lock_guard lk(mu_);
    std::swap(locations, r.locations);
    waiters.swap(r.remote_waiters);
    contained.swap(r.contained);
    actor_node = r.actor_node;
    was_ready = r.state == ObjectRecord::State::ready;
  }
  owned_.fetch_sub(1, std::memory_order_relaxed);
  cx_.store->erase(r.id);
  if (r.id.is_actor() && cx_.tasks) cx_.tasks->take_restartable(r.id);  // its creation is not needed again
  if (r.id.is_actor() && actor_node >= 0) cx_.router->release_actor_at(actor_node, r.id);  // its last handle is gone
  locations.for_each([&](int l) {
    if (l != cx_.rank) cx_.send(l, encode_msg(MsgType::free_objects, IdsMsg{{r.id}}));
  });
  for (int q : waiters) answer_locate(nullptr, r.id, q);  // they learn it is gone
  if (was_ready) cx_.gcs->object_freed();
  // `contained` drops here: the tokens for refs inside this object go back.
}

void OwnerTable::on_node_died(int rank, const std::string& why) {
  std::vector<RefPtr> lost, actors;
  for (RefPtr& p : cx_.objects->owned_records()) {
    ObjectRecord& r = ObjectTable::record(p);
    std::lock_guard lk(mu_);
    if (r.state != ObjectRecord::State::ready) continue;  // pending: TaskPipeline fails over its task
    if (r.id.is_actor()) {
      if (r.actor_node == rank) actors.push_back(p);
      continue;
    }
    if (!r.locations.contains(rank)) continue;
    r.locations.remove(rank);
    if (r.locations.empty()) lost.push_back(p);
  }
  for (RefPtr& p : lost)
    failed(ObjectTable::record(p), ErrorKind::object_lost,
           "raympi::ObjectLostError: object " + std::to_string(p.id().value) + " was held only by " + why);
  for (RefPtr& p : actors) {
    ObjectRecord& r = ObjectTable::record(p);
    if (TaskPtr creation = cx_.tasks->take_restartable(r.id)) {
      // Pending again until the creation runs on another node: locates wait.
      cx_.store->erase(r.id);
      {
        std::lock_guard lk(mu_);
        r.state = ObjectRecord::State::pending;
        r.locations = Locations();
        r.actor_node = -1;
        r.self = p;
      }
      cx_.tasks->restart_actor(std::move(creation), why);
      continue;
    }
    failed(r, ErrorKind::actor_died,
           "raympi::ActorDiedError: actor " + std::to_string(p.id().value) + " was lost with its node: " + why);
  }
}

RefPtr OwnerTable::put(Buffer bytes, std::shared_ptr<const void> value, const std::type_info* type,
                       std::vector<RefPtr> contained) {
  ObjectId id = next_id();
  RefPtr ref = cx_.objects->create_owned(id);
  auto o = std::make_shared<StoredObject>();
  o->id = id;
  o->bytes = std::move(bytes);
  o->value = std::move(value);
  o->type = type;
  std::uint64_t size = o->bytes.size;
  cx_.store->put(std::move(o));
  owned_.fetch_add(1, std::memory_order_relaxed);
  ObjectRecord& r = ObjectTable::record(ref);
  {
    std::lock_guard lk(mu_);
    r.state = ObjectRecord::State::ready;
    r.locations.assign_one(cx_.rank);
    r.size = size;
    r.contained = std::move(contained);
  }
  cx_.gcs->object_created();
  return ref;
}

Locality OwnerTable::locality_of(const std::vector<RefPtr>& held, const std::vector<ObjectId>& deps) {
  Locality out;
  std::lock_guard lk(mu_);
  for (const RefPtr& p : held) {
    ObjectRecord& r = ObjectTable::record(p);
    if (!r.owned || r.state != ObjectRecord::State::ready) continue;
    if (std::find(deps.begin(), deps.end(), r.id) == deps.end()) continue;  // a handle, not an argument
    r.locations.for_each([&](int l) { out.emplace_back(l, r.size); });
  }
  return out;
}

bool OwnerTable::is_pending(ObjectId id) {
  RefPtr p = cx_.objects->find(id);
  if (!p) return false;
  ObjectRecord& r = ObjectTable::record(p);
  std::lock_guard lk(mu_);
  return r.owned && r.state == ObjectRecord::State::pending;
}

bool OwnerTable::pending_call_of(ObjectRecord& r, ObjectId actor) {
  std::lock_guard lk(mu_);
  if (!r.owned || r.state != ObjectRecord::State::pending) return false;
  for (const RefPtr& kept : r.contained)
    if (kept.id() == actor) return true;
  return false;
}

}  // namespace raympi::detail
