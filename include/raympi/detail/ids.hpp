#pragma once
// Object identifiers: the owner rank is encoded in the id so that anyone
// holding a reference knows whom to ask for the object without a lookup.

#include <cstdint>
#include <functional>
#ifdef RAYMPI_COUNT_ID_HASHES
#include <atomic>
#endif

namespace raympi::detail {

/// @brief Identifies one object (and the task that produces it) job-wide.
struct ObjectId {
  std::uint64_t value = 0;

  static constexpr int kOwnerShift = 44;
  /// Marks the ids of actors (their handles are references to this id).
  static constexpr std::uint64_t kActorBit = 1ull << (kOwnerShift - 1);
  static ObjectId make(int owner_rank, std::uint64_t counter) {
    return ObjectId{(std::uint64_t(owner_rank + 1) << kOwnerShift) | (counter & (kActorBit - 1))};
  }
  static ObjectId make_actor(int owner_rank, std::uint64_t counter) {
    return ObjectId{make(owner_rank, counter).value | kActorBit};
  }
  int owner() const { return int(value >> kOwnerShift) - 1; }
  bool is_actor() const { return (value & kActorBit) != 0; }
  bool nil() const { return value == 0; }
  friend bool operator==(ObjectId a, ObjectId b) { return a.value == b.value; }
  friend bool operator!=(ObjectId a, ObjectId b) { return a.value != b.value; }
  friend bool operator<(ObjectId a, ObjectId b) { return a.value < b.value; }
  template <class Archive>
  void serialize(Archive& ar) { ar(value); }
};

#ifdef RAYMPI_COUNT_ID_HASHES
/// Measurement builds only (-DRAYMPI_COUNT_ID_HASHES=ON): every hash of an
/// ObjectId, i.e. every search, insert or erase in a table keyed by id.
std::atomic<std::uint64_t>& id_hash_count();
#endif

}  // namespace raympi::detail

template <>
struct std::hash<raympi::detail::ObjectId> {
  std::size_t operator()(raympi::detail::ObjectId id) const noexcept {
#ifdef RAYMPI_COUNT_ID_HASHES
    raympi::detail::id_hash_count().fetch_add(1, std::memory_order_relaxed);
#endif
    std::uint64_t x = id.value;  // splitmix finaliser: counters are sequential
    x ^= x >> 30; x *= 0xbf58476d1ce4e5b9ull; x ^= x >> 27; x *= 0x94d049bb133111ebull; x ^= x >> 31;
    return std::size_t(x);
  }
};

#if defined(__GLIBCXX__)
// libstdc++ keeps a node's hash code only for hashers it deems slow. With the
// code kept, erase, bucket bookkeeping and rehash never hash an id again, so a
// table keyed by ids hashes exactly once per insert, find or erase.
template <>
struct std::__is_fast_hash<std::hash<raympi::detail::ObjectId>> : std::false_type {};
#endif
