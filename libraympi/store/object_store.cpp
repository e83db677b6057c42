#include "store/object_store.hpp"

namespace raympi::detail {

StoredPtr ObjectStore::get(ObjectId id) const {
  std::lock_guard lk(mu_);
  auto it = objects_.find(id);
  return it == objects_.end() ? nullptr : it->second;
}

StoredPtr ObjectStore::put(StoredPtr o) {
  std::lock_guard lk(mu_);
  auto [it, inserted] = objects_.try_emplace(o->id, o);
  if (inserted) bytes_ += o->bytes.size;
  return it->second;
}

void ObjectStore::erase(ObjectId id) {
  StoredPtr dropped;  // destroyed outside the lock
  std::lock_guard lk(mu_);
  auto it = objects_.find(id);
  if (it == objects_.end()) return;
  bytes_ -= it->second->bytes.size;
  dropped = std::move(it->second);
  objects_.erase(it);
}

std::size_t ObjectStore::count() const {
  std::lock_guard lk(mu_);
  return objects_.size();
}

std::size_t ObjectStore::bytes() const {
  std::lock_guard lk(mu_);
  return bytes_;
}

StoredPtr make_error_object(ObjectId id, ErrorKind kind, std::string message) {
  auto o = std::make_shared<StoredObject>();
  o->id = id;
  o->error = kind;
  o->error_message = std::move(message);
  return o;
}

}  // namespace raympi::detail
