#pragma once
// What every fuzz target shares: the input as a received buffer, and the
// checks that turn a wrong answer into a crash libFuzzer reports.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include "raympi/detail/buffer.hpp"
#include "wire_decoders.hpp"

namespace raympi::fuzz {

/// libFuzzer's input is a heap copy of exactly `size` bytes: ASan reports any read past it.
inline detail::Buffer received(const std::uint8_t* data, std::size_t size) {
  return detail::Buffer{nullptr, reinterpret_cast<const char*>(data), size};
}

[[noreturn]] inline void fail(const char* what, const char* detail = "") {
  std::fprintf(stderr, "raympi fuzz: %s %s\n", what, detail);
  std::abort();
}

/// `once` is raympi's own encoding of what a decoder read: decoding it again
/// must succeed and give the same encoding back (load and save agree).
template <class Decode>
void expect_stable(const detail::Buffer& once, Decode&& decode, const char* what) {
  detail::Buffer twice;
  try {
    twice = decode(once);
  } catch (const std::exception& e) {
    fail(what, (std::string("re-encoded, does not decode: ") + e.what()).c_str());
  }
  if (!wire_decoders::same_bytes(once, twice)) fail(what, "decodes to a different encoding the second time");
}

}  // namespace raympi::fuzz
