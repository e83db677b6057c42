#pragma once
// What the typed front end sees of an object held in this node's store: its
// bytes, or the error that replaced it, and a cache of the deserialised value
// so that local readers share one copy (get_shared, const T& arguments).

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <typeinfo>

#include "raympi/detail/buffer.hpp"
#include "raympi/detail/ids.hpp"
#include "raympi/detail/serialization.hpp"

namespace raympi::detail {

enum class ErrorKind : int { none = 0, task = 1, infeasible = 2, object_lost = 3, actor_died = 4, serialization = 5, shutdown = 6,
                            node_died = 7,
                            cancelled = 8 };
RAYMPI_WIRE_ENUM(ErrorKind, ErrorKind::cancelled)  // the last ErrorKind: keep in step

/// @brief An immutable object as held by a node's store.
struct StoredObject {
  ObjectId id;
  Buffer bytes;
  ErrorKind error = ErrorKind::none;
  std::string error_message;

  // The cached value is written once (by the producer, or by the first typed
  // reader) and never changes after `type` is published, so readers check it
  // without a lock; `mu` only orders the writers.
  std::mutex mu;
  std::shared_ptr<const void> value;             // written before `type`
  std::atomic<const std::type_info*> type{nullptr};

  /// The deserialised value, cached for every later reader on this node.
  template <class T>
  std::shared_ptr<const T> typed() {
    if (auto v = cached<T>()) return v;
    std::lock_guard lk(mu);
    if (auto v = cached<T>()) return v;
    ContainerScope scope(id);
    auto v = std::make_shared<const T>(deserialize<T>(bytes.data, bytes.size));
    if (!type.load(std::memory_order_relaxed)) {  // the first type read is the one kept
      value = v;
      type.store(&typeid(T), std::memory_order_release);
    }
    return v;
  }
  /// A fresh copy: from the cache when there is one, else straight from the bytes.
  template <class T>
  T copy() {
    if (auto v = cached<T>()) return *v;
    ContainerScope scope(id);
    return deserialize<T>(bytes.data, bytes.size);
  }

 private:
  template <class T>
  std::shared_ptr<const T> cached() const {
    const std::type_info* t = type.load(std::memory_order_acquire);
    if (t && *t == typeid(T)) return std::static_pointer_cast<const T>(value);
    return nullptr;
  }
};
using StoredPtr = std::shared_ptr<StoredObject>;

/// Throws the raympi exception an error object stands for.
[[noreturn]] void throw_stored_error(const StoredObject& o);

}  // namespace raympi::detail
