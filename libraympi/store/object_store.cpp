#include "store/object_store.hpp"

#include "base/fault_injection.hpp"
#include "base/log.hpp"

namespace raympi::detail {

void ObjectStore::configure(std::size_t budget, std::unique_ptr<SpillDir> spill) {
  std::lock_guard lk(mu_);
  budget_ = spill ? budget : 0;
  spill_ = std::move(spill);
}

StoredPtr ObjectStore::get(ObjectId id) {
  std::unique_lock lk(mu_);
  auto it = objects_.find(id);
  if (it != objects_.end()) {
    it->second.last_use = ++clock_;
    return it->second.object;
  }
  if (spilled_.empty()) return nullptr;
  auto sp = spilled_.find(id);
  if (sp == spilled_.end()) return nullptr;
  // Restore: read it back, hand it out, and make room for it if needed.
  auto o = std::make_shared<StoredObject>();
  o->id = id;
  const auto began = std::chrono::steady_clock::now();
  try {
    maybe_inject_fault("spill_read");
    o->bytes = spill_->read(sp->second.path, sp->second.size);
  } catch (const std::exception& e) {
    // The waiter gets the error; the object stays spilled for a later try
    // (a full or flaky file system may recover).
    RAYMPI_LOG_ERROR("could not restore object {} from {}: {}", id.value, sp->second.path, e.what());
    return make_error_object(id, ErrorKind::object_lost,
                             "raympi::ObjectLostError: object " + std::to_string(id.value) +
                                 " could not be read back from its spill file " + sp->second.path + ": " + e.what());
  }
  if (observer_) observer_(TransferKind::restore, id, o->bytes.size, began, std::chrono::steady_clock::now());
  drop_spilled(sp);
  objects_[id] = Entry{o, ++clock_};
  bytes_ += o->bytes.size;
  RAYMPI_LOG_DEBUG("restored object {} ({} bytes) from its spill file", id.value, o->bytes.size);
  lk.unlock();
  enforce_budget();  // `o` is held here, so it stays
  return o;
}

std::size_t ObjectStore::get_in_memory(const std::vector<ObjectId>& ids, std::vector<StoredPtr>& out) {
  std::size_t found = 0;
  std::lock_guard lk(mu_);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (out[i]) continue;
    auto it = objects_.find(ids[i]);
    if (it == objects_.end()) continue;
    it->second.last_use = ++clock_;
    out[i] = it->second.object;
    ++found;
  }
  return found;
}

StoredPtr ObjectStore::put(StoredPtr o) {
  std::unique_lock lk(mu_);
  if (!spilled_.empty())
    if (auto sp = spilled_.find(o->id); sp != spilled_.end()) drop_spilled(sp);  // a copy arrived for a spilled object
  auto [it, inserted] = objects_.try_emplace(o->id, Entry{o, ++clock_});
  if (inserted) bytes_ += o->bytes.size;
  StoredPtr held = it->second.object;
  bool over = budget_ > 0 && bytes_ > budget_ + spilling_bytes_;
  lk.unlock();
  if (inserted && over) enforce_budget();
  return held;
}

void ObjectStore::erase(ObjectId id) {
  StoredPtr dropped;  // destroyed outside the lock
  std::lock_guard lk(mu_);
  auto it = objects_.find(id);
  if (it != objects_.end()) {
    bytes_ -= it->second.object->bytes.size;
    dropped = std::move(it->second.object);
    objects_.erase(it);
    return;
  }
  if (spilled_.empty()) return;
  if (auto sp = spilled_.find(id); sp != spilled_.end()) drop_spilled(sp);  // freed objects release their spill space
}

void ObjectStore::drop_spilled(std::unordered_map<ObjectId, Spilled>::iterator it) {
  spill_->remove(it->second.path);
  spilled_bytes_ -= it->second.size;
  spilled_.erase(it);
}

void ObjectStore::enforce_budget() {
  for (;;) {
    // Pick the least recently used object that nothing on this node holds (a
    // running task, a get, a send in flight all hold theirs) ...
    ObjectId id;
    StoredPtr victim;
    {
      std::lock_guard lk(mu_);
      if (budget_ == 0 || bytes_ <= budget_ + spilling_bytes_) return;
      if (spill_retry_at_ != std::chrono::steady_clock::time_point{} && std::chrono::steady_clock::now() < spill_retry_at_)
        return;  // the last spill failed: not again before the retry time
      const Entry* best = nullptr;
      for (auto& [oid, e] : objects_) {
        const StoredObject& o = *e.object;
        if (e.object.use_count() != 1 || o.error != ErrorKind::none || o.bytes.size == 0) continue;
        if (!best || e.last_use < best->last_use) {
          best = &e;
          id = oid;
        }
      }
      if (!best) return;  // everything is in use: over budget until something is released
      victim = best->object;
      spilling_bytes_ += victim->bytes.size;
    }
    // ... write it without holding the store (gets and puts go on) ...
    std::string path;
    const auto began = std::chrono::steady_clock::now();
    try {
      path = spill_->write(id, victim->bytes);
    } catch (const std::exception& e) {
      // Never an exception out of a put or the progress thread's tick: the
      // objects stay in memory, over budget, and the job goes on.
      std::lock_guard lk(mu_);
      spilling_bytes_ -= victim->bytes.size;
      if (spill_retry_at_ == std::chrono::steady_clock::time_point{})  // once per failure streak
        RAYMPI_LOG_WARN("spilling failed: {}; objects stay in memory over the store's budget ({} bytes) and "
                        "spilling is retried every {} s",
                        e.what(), budget_, kSpillRetry.count());
      spill_retry_at_ = std::chrono::steady_clock::now() + kSpillRetry;
      return;
    }
    // ... and drop it from memory unless someone took it meanwhile.
    std::lock_guard lk(mu_);
    std::uint64_t size = victim->bytes.size;
    spilling_bytes_ -= size;
    auto it = objects_.find(id);
    // Erased (maybe put again under the same id: another object), or in use again.
    if (it == objects_.end() || it->second.object != victim || it->second.object.use_count() > 2) {
      spill_->remove(path);
      continue;
    }
    spilled_[id] = Spilled{std::move(path), size};
    spilled_bytes_ += size;
    spill_retry_at_ = {};  // spilling works (again)
    if (observer_) observer_(TransferKind::spill, id, size, began, std::chrono::steady_clock::now());
    bytes_ -= size;
    objects_.erase(it);
    RAYMPI_LOG_DEBUG("spilled object {} ({} bytes); store at {} of {} bytes", id.value, size, bytes_, budget_);
  }
}

std::size_t ObjectStore::count() const {
  std::lock_guard lk(mu_);
  return objects_.size() + spilled_.size();
}

std::size_t ObjectStore::bytes() const {
  std::lock_guard lk(mu_);
  return bytes_;
}

std::size_t ObjectStore::spilled_count() const {
  std::lock_guard lk(mu_);
  return spilled_.size();
}

std::size_t ObjectStore::spilled_bytes() const {
  std::lock_guard lk(mu_);
  return spilled_bytes_;
}

std::string ObjectStore::spill_folder() const {
  std::lock_guard lk(mu_);
  return spill_ ? spill_->folder() : std::string();
}

StoredPtr make_error_object(ObjectId id, ErrorKind kind, std::string message) {
  auto o = std::make_shared<StoredObject>();
  o->id = id;
  o->error = kind;
  o->error_message = std::move(message);
  return o;
}

}  // namespace raympi::detail
