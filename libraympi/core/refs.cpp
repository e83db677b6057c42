#include "core/refs.hpp"

#include "core/runtime.hpp"
#include "raympi/errors.hpp"

namespace raympi::detail {

namespace {
thread_local std::vector<RefPtr>* t_collect = nullptr;
thread_local ObjectId t_container;
}  // namespace

CollectScope::CollectScope(std::vector<RefPtr>* sink) : prev_(t_collect) { t_collect = sink; }
CollectScope::~CollectScope() { t_collect = prev_; }
ContainerScope::ContainerScope(ObjectId container) : prev_(t_container) { t_container = container; }
ContainerScope::~ContainerScope() { t_container = prev_; }

void note_serialized_ref(const RefPtr& p) {
  if (t_collect && p) t_collect->push_back(p);
}

RefPtr ref_from_wire(ObjectId id) {
  if (id.nil()) return RefPtr();
  Runtime* rt = Runtime::instance();
  if (!rt) throw Error("raympi: an ObjectRef was deserialised outside a running raympi job");
  return rt->refs().acquire(id, t_container);
}

void ref_released(RefEntry* e, ObjectId id) noexcept {
  if (Runtime* rt = Runtime::instance()) rt->refs().on_released(e, id);
  // Without a runtime (after shutdown) the record is leaked on purpose: no one may free it twice.
}

RefPtr RefTable::create_owned(ObjectId id) {
  auto* r = new RefRecord;
  r->id = id;
  r->owned = true;
  std::lock_guard lk(mu_);
  records_[id] = r;
  return RefPtr::adopt(r);
}

RefPtr RefTable::acquire(ObjectId id, ObjectId container) {
  std::lock_guard lk(mu_);
  auto it = records_.find(id);
  if (it != records_.end()) {
    it->second->handles.fetch_add(1, std::memory_order_relaxed);
    return RefPtr::adopt(it->second);
  }
  auto* r = new RefRecord;
  r->id = id;
  if (!container.nil() && id.owner() != rank_) {
    auto c = records_.find(container);
    if (c != records_.end()) {
      c->second->handles.fetch_add(1, std::memory_order_relaxed);
      r->pin = RefPtr::adopt(c->second);
    }
  }
  records_[id] = r;
  return RefPtr::adopt(r);
}

std::vector<RefPtr> RefTable::claim(const std::vector<ObjectId>& ids, int minter) {
  std::vector<RefPtr> out;
  out.reserve(ids.size());
  std::lock_guard lk(mu_);
  for (ObjectId id : ids) {
    RefRecord*& slot = records_[id];
    if (slot) {
      slot->handles.fetch_add(1, std::memory_order_relaxed);
    } else {
      slot = new RefRecord;
      slot->id = id;
    }
    bool found = false;
    for (auto& [m, n] : slot->tokens)
      if (m == minter) { ++n; found = true; break; }
    if (!found) slot->tokens.emplace_back(minter, 1);
    out.push_back(RefPtr::adopt(slot));
  }
  return out;
}

void RefTable::mint(const std::vector<RefPtr>& refs) {
  std::lock_guard lk(mu_);
  for (auto& p : refs) static_cast<RefRecord*>(p.get())->children++;
}

void RefTable::return_children(ObjectId id, int count) {
  std::vector<std::function<void()>> after;
  {
    std::lock_guard lk(mu_);
    auto it = records_.find(id);
    if (it == records_.end()) return;
    it->second->children -= count;
    maybe_release_locked(it->second, after);
  }
  for (auto& f : after) f();
}

void RefTable::on_released(RefEntry* e, ObjectId id) {
  std::vector<std::function<void()>> after;
  {
    std::lock_guard lk(mu_);
    auto it = records_.find(id);
    if (it == records_.end() || it->second != e) return;  // released (maybe freed) by another thread
    maybe_release_locked(it->second, after);
  }
  for (auto& f : after) f();
}

void RefTable::maybe_release_locked(RefRecord* r, std::vector<std::function<void()>>& after) {
  if (r->handles.load(std::memory_order_acquire) != 0 || r->children > 0) return;
  auto it = records_.find(r->id);
  if (it == records_.end() || it->second != r) return;  // already released
  records_.erase(it);
  if (disabled_) {
    after.push_back([r] { delete r; });
    return;
  }
  ObjectId id = r->id;
  for (auto& [minter, n] : r->tokens) {
    int m = minter, c = n;
    if (m == rank_) after.push_back([this, id, c] { return_children(id, c); });
    else after.push_back([this, m, id, c] { actions_.return_tokens(m, id, c); });
  }
  if (r->owned) after.push_back([this, id] { actions_.free_owned(id); });
  if (id.is_actor()) after.push_back([this, id] { actions_.actor_unreferenced(id); });
  after.push_back([r] { delete r; });  // drops the pin outside the lock
}

std::size_t RefTable::size() {
  std::lock_guard lk(mu_);
  return records_.size();
}

void RefTable::disable() {
  std::lock_guard lk(mu_);
  disabled_ = true;
}

}  // namespace raympi::detail
