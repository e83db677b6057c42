#pragma once
// Typed (de)serialisation with errors that name the type.

#include <string>
#include <typeinfo>
#include <vector>

#include "raympi/detail/archive.hpp"
#include "raympi/detail/refs.hpp"

namespace raympi::detail {

std::string demangle(const char* mangled);
[[noreturn]] void throw_serialization_error(const char* what, const std::type_info& type, const char* detail);

template <class T>
constexpr bool is_serializable_v =
    cereal::traits::is_output_serializable<T, OutArchive>::value && cereal::traits::is_input_serializable<T, InArchive>::value;

template <class T>
void serialize_into(ByteWriter& w, const T& v) {
  static_assert(is_serializable_v<T>,
                "raympi: this type cannot be sent between ranks. Give it a cereal `template <class Archive> void "
                "serialize(Archive& ar) { ar(member1, member2); }` member (or save/load pair), or use std types.");
  try {
    OutArchive ar(w);
    ar(v);
  } catch (const cereal::Exception& e) {
    throw_serialization_error("serialise", typeid(T), e.what());
  }
}

/// Serialises `v`, recording the ObjectRefs it contains in `refs`.
template <class T>
Buffer serialize_value(const T& v, std::vector<RefPtr>* refs) {
  ByteWriter w;
  CollectScope scope(refs);
  serialize_into(w, v);
  return w.finish();
}

template <class T>
T deserialize(const char* data, std::size_t size) {
  static_assert(is_serializable_v<T>, "raympi: this type cannot be received: give it a cereal serialize function.");
  try {
    InArchive ar(data, size);
    T v{};
    ar(v);
    return v;
  } catch (const cereal::Exception& e) {
    throw_serialization_error("deserialise", typeid(T), e.what());
  }
}

}  // namespace raympi::detail
