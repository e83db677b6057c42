#pragma once
// What the typed front end sees of an object held in this node's store: its
// bytes, or the error that replaced it, and a cache of the deserialised value
// so that local readers share one copy (get_shared, const T& arguments).

#include <memory>
#include <mutex>
#include <string>
#include <typeinfo>

#include "raympi/detail/buffer.hpp"
#include "raympi/detail/ids.hpp"
#include "raympi/detail/serialization.hpp"

namespace raympi::detail {

enum class ErrorKind : int { none = 0, task = 1, infeasible = 2, object_lost = 3, actor_died = 4, serialization = 5, shutdown = 6 };

/// @brief An immutable object as held by a node's store.
struct StoredObject {
  ObjectId id;
  Buffer bytes;
  ErrorKind error = ErrorKind::none;
  std::string error_message;

  std::mutex mu;
  std::shared_ptr<const void> value;
  const std::type_info* type = nullptr;

  /// The deserialised value, cached for every later reader on this node.
  template <class T>
  std::shared_ptr<const T> typed() {
    std::lock_guard lk(mu);
    if (type && *type == typeid(T)) return std::static_pointer_cast<const T>(value);
    ContainerScope scope(id);
    auto v = std::make_shared<const T>(deserialize<T>(bytes.data, bytes.size));
    value = v;
    type = &typeid(T);
    return v;
  }
  /// A fresh copy: from the cache when there is one, else straight from the bytes.
  template <class T>
  T copy() {
    {
      std::lock_guard lk(mu);
      if (type && *type == typeid(T)) return *std::static_pointer_cast<const T>(value);
    }
    ContainerScope scope(id);
    return deserialize<T>(bytes.data, bytes.size);
  }
};
using StoredPtr = std::shared_ptr<StoredObject>;

/// Throws the raympi exception an error object stands for.
[[noreturn]] void throw_stored_error(const StoredObject& o);

}  // namespace raympi::detail
