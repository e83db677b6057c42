#pragma once
// Reference handles. Every ObjectRef copy in a process shares one RefEntry
// (an atomic count); the library's reference table turns the process-level
// "no handle left" event into distributed release messages.

#include <atomic>
#include <utility>
#include <vector>

#include "raympi/detail/ids.hpp"

namespace raympi::detail {

/// @brief The part of a reference-table record that handles touch.
struct RefEntry {
  ObjectId id;
  std::atomic<int> handles{1};
};

/// Called (by the library) when the last handle of an entry in this process is gone.
void ref_released(RefEntry* e, ObjectId id) noexcept;

/// @brief Intrusive, thread-safe handle on a RefEntry.
class RefPtr {
 public:
  RefPtr() = default;
  /// Adopts one handle count already taken on `e`.
  static RefPtr adopt(RefEntry* e) { RefPtr p; p.e_ = e; return p; }
  RefPtr(const RefPtr& o) : e_(o.e_) { if (e_) e_->handles.fetch_add(1, std::memory_order_relaxed); }
  RefPtr(RefPtr&& o) noexcept : e_(std::exchange(o.e_, nullptr)) {}
  RefPtr& operator=(RefPtr o) noexcept { std::swap(e_, o.e_); return *this; }
  ~RefPtr() { reset(); }
  void reset() noexcept {
    if (!e_) return;
    ObjectId id = e_->id;  // read while our handle keeps the record alive
    if (e_->handles.fetch_sub(1, std::memory_order_acq_rel) == 1) ref_released(e_, id);
    e_ = nullptr;
  }
  ObjectId id() const { return e_ ? e_->id : ObjectId{}; }
  explicit operator bool() const { return e_ != nullptr; }
  RefEntry* get() const { return e_; }

 private:
  RefEntry* e_ = nullptr;
};

void note_serialized_ref(const RefPtr& p);
RefPtr ref_from_wire(ObjectId id);

/// @brief What every handle on a job-wide id shares (ObjectRef, ActorHandle):
/// validity, the id, comparisons, and serialisation as a counted reference.
template <class Derived>
class RefHandle {
 public:
  RefHandle() = default;
  explicit RefHandle(RefPtr p) : ptr_(std::move(p)) {}

  /// True unless default-constructed.
  bool valid() const { return bool(ptr_); }
  /// The job-wide id, as a number (for logs).
  std::uint64_t id() const { return ptr_.id().value; }
  /// @brief Internal: the handle.
  const RefPtr& handle() const { return ptr_; }

  friend bool operator==(const Derived& a, const Derived& b) { return a.id() == b.id(); }
  friend bool operator!=(const Derived& a, const Derived& b) { return a.id() != b.id(); }
  friend bool operator<(const Derived& a, const Derived& b) { return a.id() < b.id(); }

  template <class Archive>
  void save(Archive& ar) const {
    ar(ptr_.id().value);
    note_serialized_ref(ptr_);
  }
  template <class Archive>
  void load(Archive& ar) {
    ObjectId id;
    ar(id.value);
    ptr_ = ref_from_wire(id);
  }

 protected:
  RefPtr ptr_;
};

/// While alive on a thread, ObjectRefs serialised there are recorded (and kept
/// alive) in `sink`: the refs a message or stored object carries.
class CollectScope {
 public:
  explicit CollectScope(std::vector<RefPtr>* sink);
  ~CollectScope();
  CollectScope(const CollectScope&) = delete;
  CollectScope& operator=(const CollectScope&) = delete;

 private:
  std::vector<RefPtr>* prev_;
};

/// While alive on a thread, ObjectRefs deserialised there come from inside the
/// stored object `container` (which then keeps them alive where needed).
class ContainerScope {
 public:
  explicit ContainerScope(ObjectId container);
  ~ContainerScope();
  ContainerScope(const ContainerScope&) = delete;
  ContainerScope& operator=(const ContainerScope&) = delete;

 private:
  ObjectId prev_;
};

}  // namespace raympi::detail
