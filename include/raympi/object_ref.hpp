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
class ObjectRef : public detail::RefHandle<ObjectRef<T>> {
 public:
  static_assert(!std::is_reference_v<T> && !std::is_const_v<T>,
                "raympi::ObjectRef<T>: T must be a plain value type (no reference, no const).");
  using value_type = T;

  /// A null reference (refers to nothing).
  ObjectRef() = default;
  /// @brief Internal: wraps a handle the runtime made.
  explicit ObjectRef(detail::RefPtr p) : detail::RefHandle<ObjectRef<T>>(std::move(p)) {}

  // valid(), id(), ==, <, serialisation: see detail::RefHandle.

  /// The rank that owns the object (its submitter or `put` caller).
  int owner_rank() const { return this->ptr_.id().owner(); }
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
