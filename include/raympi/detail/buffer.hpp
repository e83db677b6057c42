#pragma once
// Immutable byte buffers shared between the store, messages and transports
// without copies: a view plus whatever keeps the bytes alive.

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

namespace raympi::detail {

/// @brief Read-only bytes with shared ownership.
struct Buffer {
  std::shared_ptr<const void> owner;
  const char* data = nullptr;
  std::size_t size = 0;

  Buffer sub(std::size_t offset, std::size_t n) const { return Buffer{owner, data + offset, n}; }
};

/// @brief A growable malloc'd byte array (realloc avoids zero-filling).
class ByteWriter {
 public:
  ByteWriter() = default;
  explicit ByteWriter(std::size_t reserve) { grow(reserve); }
  ByteWriter(const ByteWriter&) = delete;
  ByteWriter& operator=(const ByteWriter&) = delete;
  ~ByteWriter() { std::free(data_); }

  void write(const void* p, std::size_t n) {
    if (size_ + n > cap_) grow(size_ + n);
    if (n) std::memcpy(data_ + size_, p, n);
    size_ += n;
  }
  char* extend(std::size_t n) {
    if (size_ + n > cap_) grow(size_ + n);
    char* p = data_ + size_;
    size_ += n;
    return p;
  }
  std::size_t size() const { return size_; }
  char* data() { return data_; }
  void patch(std::size_t offset, const void* p, std::size_t n) { std::memcpy(data_ + offset, p, n); }

  /// Hands the bytes over to a shared Buffer; the writer is empty afterwards.
  Buffer finish() {
    Buffer b;
    char* p = data_;
    b.owner = std::shared_ptr<const void>(p, [](const void* q) { std::free(const_cast<void*>(q)); });
    b.data = p;
    b.size = size_;
    data_ = nullptr;
    size_ = cap_ = 0;
    return b;
  }

 private:
  void grow(std::size_t need) {
    std::size_t cap = cap_ ? cap_ : 64;
    while (cap < need) cap *= 2;
    char* p = static_cast<char*>(std::realloc(data_, cap));
    if (!p) throw std::bad_alloc();
    data_ = p;
    cap_ = cap;
  }
  char* data_ = nullptr;
  std::size_t size_ = 0;
  std::size_t cap_ = 0;
};

}  // namespace raympi::detail
