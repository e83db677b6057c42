#include "core/object_table.hpp"

#include "raympi/errors.hpp"

namespace raympi::detail {

namespace {
thread_local std::vector<RefPtr>* t_collect = nullptr;
thread_local ObjectId t_container;
// Handles have no pointer to their table (a ref is one pointer): they find it here.
std::atomic<ObjectTable*> g_process_table{nullptr};
}  // namespace

ObjectTable* current_object_table() { return g_process_table.load(std::memory_order_acquire); }

void ObjectTable::bind_process() { g_process_table.store(this, std::memory_order_release); }

CollectScope::CollectScope(std::vector<RefPtr>* sink) : prev_(t_collect) { t_collect = sink; }
CollectScope::~CollectScope() { t_collect = prev_; }
ContainerScope::ContainerScope(ObjectId container) : prev_(t_container) { t_container = container; }
ContainerScope::~ContainerScope() { t_container = prev_; }

void note_serialized_ref(const RefPtr& p) {
  if (t_collect && p) t_collect->push_back(p);
}

RefPtr ref_from_wire(ObjectId id) {
  if (id.nil()) return RefPtr();
  ObjectTable* table = current_object_table();
  if (!table) throw Error("raympi: an ObjectRef was deserialised outside a running raympi job");
  return table->acquire(id, t_container);
}

void ref_released(RefEntry* e, ObjectId id) noexcept {
  if (ObjectTable* table = current_object_table()) table->on_released(e, id);
  // Without a table (after shutdown) the record is leaked on purpose: no one may free it twice.
}

ObjectTable::~ObjectTable() {
  {
    std::lock_guard lk(mu_);
    disabled_ = true;
  }
  free_unreachable();
  ObjectTable* self = this;
  g_process_table.compare_exchange_strong(self, nullptr);
  // Records still referenced by handles outside the runtime (a user's refs
  // kept past shutdown) stay allocated; their release finds no table.
  std::lock_guard lk(mu_);
  records_.clear();
}

void ObjectTable::free_unreachable() {
  // The runtime has stopped: no token will come back and no pending object
  // will resolve. What no handle reaches is freed here: records whose only
  // reason to stay were tokens out on other ranks, and pending objects that
  // hold themselves (ObjectRecord::self). Freeing one releases its pin and
  // contents, which may free more (on_released, quietly: the table is
  // disabled), hence the loop.
  for (;;) {
    std::vector<ObjectRecord*> unreachable;
    std::vector<RefPtr> selves;
    // Callbacks waiting for a pending object never run now; one may hold a
    // handle on its own record (a fetch's locate), a cycle no count breaks.
    std::vector<std::function<void()>> waiters;
    {
      std::lock_guard lk(mu_);
      for (auto it = records_.begin(); it != records_.end();) {
        ObjectRecord* r = it->second;
        if (r->self) selves.push_back(std::move(r->self));
        for (auto& w : r->local_waiters) waiters.push_back(std::move(w));
        r->local_waiters.clear();
        if (r->handles.load(std::memory_order_acquire) == 0) {
          unreachable.push_back(r);
          it = records_.erase(it);
        } else {
          ++it;
        }
      }
    }
    if (unreachable.empty() && selves.empty() && waiters.empty()) return;
    for (ObjectRecord* r : unreachable) delete r;  // outside the lock: releases re-enter the table
    selves.clear();
    waiters.clear();
  }
}

RefPtr ObjectTable::create_owned(ObjectId id) {
  auto* r = new ObjectRecord;
  r->id = id;
  r->owned = true;
  std::lock_guard lk(mu_);
  records_[id] = r;
  return RefPtr::adopt(r);
}

RefPtr ObjectTable::acquire(ObjectId id, ObjectId container) {
  std::lock_guard lk(mu_);
  auto [it, fresh] = records_.try_emplace(id, nullptr);
  if (!fresh) {
    it->second->handles.fetch_add(1, std::memory_order_relaxed);
    return RefPtr::adopt(it->second);
  }
  auto* r = new ObjectRecord;
  r->id = id;
  it->second = r;
  if (!container.nil() && id.owner() != rank_) {
    auto c = records_.find(container);
    if (c != records_.end()) {
      c->second->handles.fetch_add(1, std::memory_order_relaxed);
      r->pin = RefPtr::adopt(c->second);
    }
  }
  return RefPtr::adopt(r);
}

RefPtr ObjectTable::find(ObjectId id) {
  std::lock_guard lk(mu_);
  auto it = records_.find(id);
  if (it == records_.end()) return RefPtr();
  it->second->handles.fetch_add(1, std::memory_order_relaxed);
  return RefPtr::adopt(it->second);
}

std::vector<RefPtr> ObjectTable::claim(const std::vector<ObjectId>& ids, int minter) {
  std::vector<RefPtr> out;
  out.reserve(ids.size());
  std::lock_guard lk(mu_);
  for (ObjectId id : ids) {
    ObjectRecord*& slot = records_[id];
    if (slot) {
      slot->handles.fetch_add(1, std::memory_order_relaxed);
    } else {
      slot = new ObjectRecord;
      slot->id = id;
    }
    if (minter == rank_ && slot->children > 0) {
      // Minted by this process on this very record (a message to itself, e.g.
      // the GCS role of an embedded job): the token becomes a plain handle.
      --slot->children;
      out.push_back(RefPtr::adopt(slot));
      continue;
    }
    bool found = false;
    for (auto& [m, n] : slot->tokens)
      if (m == minter) { ++n; found = true; break; }
    if (!found) slot->tokens.emplace_back(minter, 1);
    out.push_back(RefPtr::adopt(slot));
  }
  return out;
}

void ObjectTable::mint(const std::vector<RefPtr>& refs) {
  std::lock_guard lk(mu_);
  for (auto& p : refs) record(p).children++;
}

void ObjectTable::return_children(ObjectId id, int count) {
  Released released;
  {
    std::lock_guard lk(mu_);
    auto it = records_.find(id);
    if (it == records_.end()) return;
    it->second->children -= count;
    released = unlink_if_released_locked(it);
  }
  if (released.record) finish_release(released);
}

void ObjectTable::on_released(RefEntry* e, ObjectId id) {
  Released released;
  {
    std::lock_guard lk(mu_);
    auto it = records_.find(id);
    if (it == records_.end() || it->second != e) return;  // released (maybe freed) by another thread
    released = unlink_if_released_locked(it);
  }
  if (released.record) finish_release(released);
}

ObjectTable::Released ObjectTable::unlink_if_released_locked(Map::iterator it) {
  ObjectRecord* r = it->second;
  // Tokens out keep a record only while they can come back (not after shutdown).
  if (r->handles.load(std::memory_order_acquire) != 0 || (r->children > 0 && !disabled_)) return {};
  records_.erase(it);
  return {r, disabled_};  // after shutdown: no messages, no frees
}

void ObjectTable::finish_release(Released rel) {
  // Outside the lock: each step may send messages or release other records.
  ObjectRecord* r = rel.record;
  const ObjectId id = r->id;
  if (!rel.quiet) {
    for (auto [minter, n] : r->tokens) {
      if (minter == rank_) return_children(id, n);
      else actions_.return_tokens(minter, id, n);
    }
    if (r->owned) actions_.free_owned(*r);
    if (id.is_actor()) actions_.actor_unreferenced(id);
  }
  delete r;  // drops the pin and what the object contained
}

std::vector<RefPtr> ObjectTable::owned_records() {
  std::vector<RefPtr> out;
  std::lock_guard lk(mu_);
  for (auto& [id, r] : records_) {
    if (!r->owned) continue;
    r->handles.fetch_add(1, std::memory_order_relaxed);
    out.push_back(RefPtr::adopt(r));
  }
  return out;
}

std::size_t ObjectTable::size() {
  std::lock_guard lk(mu_);
  return records_.size();
}

void ObjectTable::disable() {
  std::lock_guard lk(mu_);
  disabled_ = true;
}

}  // namespace raympi::detail
