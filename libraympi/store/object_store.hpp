#pragma once
// The node's object store: immutable objects by id, in memory. (Spilling to
// HDF5 and the UCX data plane arrive with the data-plane issue.)

#include <mutex>
#include <unordered_map>

#include "core/adaptive_mutex.hpp"
#include "raympi/detail/object_store_view.hpp"

namespace raympi::detail {

/// @brief Objects held on this node (primary copies, secondary copies, errors).
class ObjectStore {
 public:
  StoredPtr get(ObjectId id) const;
  /// Inserts unless present; returns the object now held under that id.
  StoredPtr put(StoredPtr o);
  void erase(ObjectId id);
  std::size_t count() const;
  std::size_t bytes() const;

 private:
  mutable AdaptiveMutex mu_;
  std::unordered_map<ObjectId, StoredPtr> objects_;
  std::size_t bytes_ = 0;
};

StoredPtr make_error_object(ObjectId id, ErrorKind kind, std::string message);

}  // namespace raympi::detail
