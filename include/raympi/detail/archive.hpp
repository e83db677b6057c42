#pragma once
// cereal archives over raympi's own byte buffers: the binary archive's wire
// format without std::stream overhead (a task argument costs a few ns to
// encode). Contiguous arithmetic containers go through BinaryData as raw bytes.

#include <cereal/cereal.hpp>
#include <cereal/types/array.hpp>
#include <cereal/types/chrono.hpp>
#include <cereal/types/complex.hpp>
#include <cereal/types/deque.hpp>
#include <cereal/types/list.hpp>
#include <cereal/types/map.hpp>
#include <cereal/types/memory.hpp>
#include <cereal/types/optional.hpp>
#include <cereal/types/set.hpp>
#include <cereal/types/string.hpp>
#include <cereal/types/tuple.hpp>
#include <cereal/types/unordered_map.hpp>
#include <cereal/types/unordered_set.hpp>
#include <cereal/types/utility.hpp>
#include <cereal/types/variant.hpp>
#include <cereal/types/vector.hpp>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>

#include "raympi/detail/buffer.hpp"

namespace raympi::detail {

/// @brief cereal output archive appending to a ByteWriter.
class OutArchive : public cereal::OutputArchive<OutArchive, cereal::AllowEmptyClassElision> {
 public:
  explicit OutArchive(ByteWriter& w) : cereal::OutputArchive<OutArchive, cereal::AllowEmptyClassElision>(this), w_(w) {}
  void saveBinary(const void* data, std::size_t size) { w_.write(data, size); }
  ByteWriter& writer() { return w_; }

 private:
  ByteWriter& w_;
};

/// @brief cereal input archive reading from a memory range.
class InArchive : public cereal::InputArchive<InArchive, cereal::AllowEmptyClassElision> {
 public:
  InArchive(const char* data, std::size_t size)
      : cereal::InputArchive<InArchive, cereal::AllowEmptyClassElision>(this), p_(data), end_(data + size) {}
  void loadBinary(void* data, std::size_t size) {
    if (std::size_t(end_ - p_) < size)
      throw cereal::Exception("truncated input: wanted " + std::to_string(size) + " bytes, " +
                              std::to_string(end_ - p_) + " left");
    if (size == 0) return;  // an empty string or vector: data may be null
    std::memcpy(data, p_, size);
    p_ += size;
  }
  const char* position() const { return p_; }
  std::size_t remaining() const { return std::size_t(end_ - p_); }
  /// A container's element count, read from the input: more elements than
  /// bytes left means corrupt input (refused before cereal allocates them).
  void check_count(std::uint64_t n) const {
    if (n > remaining())
      throw cereal::Exception("corrupt input: a container of " + std::to_string(n) + " elements with only " +
                              std::to_string(remaining()) + " bytes left");
  }

 private:
  const char* p_;
  const char* end_;
};

template <class T>
inline std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_SAVE_FUNCTION_NAME(OutArchive& ar, const T& t) {
  ar.saveBinary(std::addressof(t), sizeof(t));
}
template <class T>
inline std::enable_if_t<std::is_arithmetic_v<T>> CEREAL_LOAD_FUNCTION_NAME(InArchive& ar, T& t) {
  if constexpr (std::is_same_v<T, bool>) {  // any other byte than 0 or 1 would be an invalid bool
    std::uint8_t b = 0;
    ar.loadBinary(&b, 1);
    if (b > 1) throw cereal::Exception("corrupt input: a bool of value " + std::to_string(b));
    t = b != 0;
  } else {
    ar.loadBinary(std::addressof(t), sizeof(t));
  }
}
template <class Archive, class T>
inline CEREAL_ARCHIVE_RESTRICT(InArchive, OutArchive) CEREAL_SERIALIZE_FUNCTION_NAME(Archive& ar,
                                                                                      cereal::NameValuePair<T>& t) {
  ar(t.value);
}
template <class Archive, class T>
inline CEREAL_ARCHIVE_RESTRICT(InArchive, OutArchive) CEREAL_SERIALIZE_FUNCTION_NAME(Archive& ar,
                                                                                      cereal::SizeTag<T>& t) {
  ar(t.size);
  // Every element takes at least one byte (elided empty classes aside, which
  // therefore cannot come in containers longer than the rest of the input).
  if constexpr (std::is_same_v<Archive, InArchive>) ar.check_count(std::uint64_t(t.size));
}
template <class T>
inline void CEREAL_SAVE_FUNCTION_NAME(OutArchive& ar, const cereal::BinaryData<T>& bd) {
  ar.saveBinary(bd.data, std::size_t(bd.size));
}
template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(InArchive& ar, cereal::BinaryData<T>& bd) {
  ar.loadBinary(bd.data, std::size_t(bd.size));
}

/// Throws unless `v` is in 0..last (the values of a wire enum).
template <class U>
void check_wire_enum(U v, U last, const char* name) {
  bool negative = false;
  if constexpr (std::is_signed_v<U>) negative = v < 0;
  if (negative || v > last)
    throw cereal::Exception(std::string("corrupt input: ") + name + " " + std::to_string(v) + " is out of range");
}

}  // namespace raympi::detail

/// Declares the enum `E` (written right below its definition, in its
/// namespace) a wire enum with the values 0..`last`: InArchive refuses any
/// other value instead of handing a switch an unknown enumerator. Keep `last`
/// in step when adding enumerators.
#define RAYMPI_WIRE_ENUM(E, last)                                                                                  \
  inline void CEREAL_LOAD_MINIMAL_FUNCTION_NAME(const ::raympi::detail::InArchive&, E& e,                         \
                                                const std::underlying_type_t<E>& v) {                              \
    ::raympi::detail::check_wire_enum(v, static_cast<std::underlying_type_t<E>>(last), #E);                      \
    e = static_cast<E>(v);                                                                                         \
  }

CEREAL_REGISTER_ARCHIVE(raympi::detail::OutArchive)
CEREAL_REGISTER_ARCHIVE(raympi::detail::InArchive)
CEREAL_SETUP_ARCHIVE_TRAITS(raympi::detail::InArchive, raympi::detail::OutArchive)
