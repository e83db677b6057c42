#pragma once
// The node's object store: immutable objects by id, in memory up to a budget
// (Config::object_store_memory); beyond it, the least recently used objects
// that nothing on this node is using are spilled to HDF5 files (store/spill.*)
// and come back transparently on get. Nothing referenced is lost: an object
// leaves the store only through erase (its last reference is gone).

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/adaptive_mutex.hpp"
#include "raympi/detail/object_store_view.hpp"
#include "store/spill.hpp"
#include "timeline/records.hpp"

namespace raympi::detail {

/// @brief Objects held on this node (primary copies, secondary copies, errors).
class ObjectStore {
 public:
  /// Memory budget in bytes (0: unlimited) and where spilled objects go.
  void configure(std::size_t budget, std::unique_ptr<SpillDir> spill);
  /// Told of every spill and restore (for the timeline); set before use.
  using Observer = std::function<void(TransferKind, ObjectId, std::uint64_t bytes, std::chrono::steady_clock::time_point began,
                                      std::chrono::steady_clock::time_point ended)>;
  void set_observer(Observer o) { observer_ = std::move(o); }
  /// The object, restored from its spill file if it was spilled; null if unknown.
  StoredPtr get(ObjectId id);
  /// The objects of `ids` held in memory, into the null slots of `out` (one
  /// lock for all; spilled ones are left to get). Returns how many it found.
  std::size_t get_in_memory(const std::vector<ObjectId>& ids, std::vector<StoredPtr>& out);
  /// Inserts unless present; returns the object now held under that id.
  StoredPtr put(StoredPtr o);
  /// Drops the object (from memory or its spill file).
  void erase(ObjectId id);
  /// Spills unused objects while over budget (also done by put).
  void enforce_budget();
  std::size_t count() const;
  std::size_t bytes() const;
  std::size_t spilled_count() const;
  std::size_t spilled_bytes() const;
  std::string spill_folder() const;

 private:
  // After a failed spill write (disk full, folder gone): objects stay in
  // memory over budget and spilling is not tried again before this (mu_).
  std::chrono::steady_clock::time_point spill_retry_at_{};
  static constexpr std::chrono::seconds kSpillRetry{5};
  Observer observer_;
  struct Entry {
    StoredPtr object;
    std::uint64_t last_use = 0;
  };
  struct Spilled {
    std::string path;
    std::uint64_t size = 0;
  };

  mutable AdaptiveMutex mu_;
  std::unordered_map<ObjectId, Entry> objects_;
  std::unordered_map<ObjectId, Spilled> spilled_;
  /// Deletes a spilled object's file and forgets it (mu_ held).
  void drop_spilled(std::unordered_map<ObjectId, Spilled>::iterator it);
  std::size_t bytes_ = 0, spilled_bytes_ = 0, budget_ = 0;
  std::size_t spilling_bytes_ = 0;  // being written out right now
  std::uint64_t clock_ = 0;
  std::unique_ptr<SpillDir> spill_;
};

StoredPtr make_error_object(ObjectId id, ErrorKind kind, std::string message);

}  // namespace raympi::detail
