#pragma once
/// @file object_ref.hpp
/// @brief ObjectRef: a future for an object in the distributed store.

#include <cstdint>
#include <type_traits>

#include "raympi/detail/refs.hpp"

namespace raympi {

/// @brief A cheap, copyable, serialisable handle on an object that a task
/// returns or `put` stores. The object lives while any ObjectRef to it lives,
/// on any rank.
///
/// @code
/// raympi::ObjectRef<int> r = raympi::task(add).remote(1, 2);
/// raympi::ObjectRef<int> s = raympi::task(add).remote(r, 5);   // r is a dependency
/// int v = raympi::get(s);                                       // 8
/// @endcode
template <class T>
class ObjectRef {
 public:
  static_assert(!std::is_reference_v<T> && !std::is_const_v<T>,
                "raympi::ObjectRef<T>: T must be a plain value type (no reference, no const).");
  using value_type = T;

  /// A null reference (refers to nothing).
  ObjectRef() = default;
  /// @brief Internal: wraps a handle the runtime made.
  explicit ObjectRef(detail::RefPtr p) : ptr_(std::move(p)) {}

  /// True unless default-constructed.
  bool valid() const { return bool(ptr_); }
  /// The job-wide object id, as a number (for logs).
  std::uint64_t id() const { return ptr_.id().value; }
  /// The rank that owns the object (its submitter or `put` caller).
  int owner_rank() const { return ptr_.id().owner(); }

  friend bool operator==(const ObjectRef& a, const ObjectRef& b) { return a.id() == b.id(); }
  friend bool operator!=(const ObjectRef& a, const ObjectRef& b) { return a.id() != b.id(); }
  friend bool operator<(const ObjectRef& a, const ObjectRef& b) { return a.id() < b.id(); }

  /// @brief Internal: the handle.
  const detail::RefPtr& handle() const { return ptr_; }

  template <class Archive>
  void save(Archive& ar) const {
    ar(ptr_.id().value);
    detail::note_serialized_ref(ptr_);
  }
  template <class Archive>
  void load(Archive& ar) {
    detail::ObjectId id;
    ar(id.value);
    ptr_ = detail::ref_from_wire(id);
  }

 private:
  detail::RefPtr ptr_;
};

namespace detail {
template <class T>
struct is_object_ref : std::false_type {};
template <class T>
struct is_object_ref<ObjectRef<T>> : std::true_type {};
template <class T>
inline constexpr bool is_object_ref_v = is_object_ref<std::remove_cvref_t<T>>::value;
}  // namespace detail

}  // namespace raympi
