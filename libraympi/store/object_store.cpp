#include "store/object_store.hpp"

#include "core/log.hpp"

namespace raympi::detail {

void ObjectStore::configure(std::size_t budget, std::unique_ptr<SpillDir> spill) {
  std::lock_guard lk(mu_);
  budget_ = spill ? budget : 0;
  spill_ = std::move(spill);
}

StoredPtr ObjectStore::get(ObjectId id) {
  std::lock_guard lk(mu_);
  auto it = objects_.find(id);
  if (it != objects_.end()) {
    it->second.last_use = ++clock_;
    return it->second.object;
  }
  auto sp = spilled_.find(id);
  if (sp == spilled_.end()) return nullptr;
  // Restore: read it back, hand it out, and make room for it if needed.
  auto o = std::make_shared<StoredObject>();
  o->id = id;
  o->bytes = spill_->read(sp->second.path, sp->second.size);
  spill_->remove(sp->second.path);
  spilled_bytes_ -= sp->second.size;
  spilled_.erase(sp);
  objects_[id] = Entry{o, ++clock_};
  bytes_ += o->bytes.size;
  RAYMPI_LOG_DEBUG("restored object {} ({} bytes) from its spill file", id.value, o->bytes.size);
  enforce_locked();  // `o` is held here, so it stays
  return o;
}

StoredPtr ObjectStore::put(StoredPtr o) {
  std::lock_guard lk(mu_);
  if (auto sp = spilled_.find(o->id); sp != spilled_.end()) {  // a copy arrived for a spilled object
    spill_->remove(sp->second.path);
    spilled_bytes_ -= sp->second.size;
    spilled_.erase(sp);
  }
  auto [it, inserted] = objects_.try_emplace(o->id, Entry{o, ++clock_});
  if (inserted) bytes_ += o->bytes.size;
  StoredPtr held = it->second.object;
  if (inserted) enforce_locked();
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
  auto sp = spilled_.find(id);
  if (sp == spilled_.end()) return;
  spill_->remove(sp->second.path);  // freed objects release their spill space
  spilled_bytes_ -= sp->second.size;
  spilled_.erase(sp);
}

void ObjectStore::enforce_budget() {
  std::lock_guard lk(mu_);
  enforce_locked();
}

void ObjectStore::enforce_locked() {
  while (budget_ > 0 && bytes_ > budget_) {
    // The least recently used object that nothing on this node holds (a
    // running task, a get, a send in flight all hold theirs).
    Entry* victim = nullptr;
    ObjectId victim_id;
    for (auto& [id, e] : objects_) {
      const StoredObject& o = *e.object;
      if (e.object.use_count() != 1 || o.error != ErrorKind::none || o.bytes.size == 0) continue;
      if (!victim || e.last_use < victim->last_use) {
        victim = &e;
        victim_id = id;
      }
    }
    if (!victim) return;  // everything is in use: over budget until something is released
    std::uint64_t size = victim->object->bytes.size;
    std::string path = spill_->write(victim_id, victim->object->bytes);
    spilled_[victim_id] = Spilled{std::move(path), size};
    spilled_bytes_ += size;
    bytes_ -= size;
    objects_.erase(victim_id);
    RAYMPI_LOG_DEBUG("spilled object {} ({} bytes); store at {} of {} bytes", victim_id.value, size, bytes_, budget_);
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
