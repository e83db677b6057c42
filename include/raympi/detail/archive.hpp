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
#include <cstring>
#include <string>

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
  void skip(std::size_t n) { p_ += n; }

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
  ar.loadBinary(std::addressof(t), sizeof(t));
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
}
template <class T>
inline void CEREAL_SAVE_FUNCTION_NAME(OutArchive& ar, const cereal::BinaryData<T>& bd) {
  ar.saveBinary(bd.data, std::size_t(bd.size));
}
template <class T>
inline void CEREAL_LOAD_FUNCTION_NAME(InArchive& ar, cereal::BinaryData<T>& bd) {
  ar.loadBinary(bd.data, std::size_t(bd.size));
}

}  // namespace raympi::detail

CEREAL_REGISTER_ARCHIVE(raympi::detail::OutArchive)
CEREAL_REGISTER_ARCHIVE(raympi::detail::InArchive)
CEREAL_SETUP_ARCHIVE_TRAITS(raympi::detail::InArchive, raympi::detail::OutArchive)
