#pragma once
// Immutable byte buffers shared between the store, messages and transports
// without copies: a view plus whatever keeps the bytes alive.

#include <algorithm>
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

/// Buffers of at least this size come from a per-process pool of recycled
/// blocks whose pages are already mapped (libraympi/base/block_pool.cpp):
/// writing into fresh memory costs a page fault per 4 KiB, about a fifth of
/// memcpy speed.
inline constexpr std::size_t kPooledBytes = std::size_t(1) << 20;
/// A block of at least `size` bytes from the pool; `size` becomes its capacity.
char* acquire_block(std::size_t& size);
/// Returns a block from acquire_block (kept for reuse, or unmapped).
void release_block(char* p, std::size_t capacity) noexcept;
/// Gives the pool's free blocks older than a few seconds (all: `everything`) back to the system.
void trim_block_pool(bool everything = false) noexcept;
/// The most free bytes the pool keeps for reuse.
void set_block_pool_limit(std::size_t bytes) noexcept;
/// Bytes of freed blocks the pool keeps for reuse.
std::size_t pooled_free_bytes() noexcept;
/// A writable buffer of `size` bytes (pooled when large); `data` is set to its bytes.
Buffer allocate_buffer(std::size_t size, char*& data);

/// Frees bytes of `capacity` from the pool (kPooledBytes and up) or malloc.
inline void free_bytes(char* p, std::size_t capacity) noexcept {
  if (capacity >= kPooledBytes) release_block(p, capacity);
  else std::free(p);
}
/// A Buffer of `size` bytes owning `p`, which free_bytes(p, capacity) releases.
inline Buffer adopt_bytes(char* p, std::size_t capacity, std::size_t size) {
  Buffer b;
  b.owner = std::shared_ptr<const void>(
      p, [capacity](const void* q) { free_bytes(const_cast<char*>(static_cast<const char*>(q)), capacity); });
  b.data = p;
  b.size = size;
  return b;
}

/// @brief A growable byte array (realloc avoids zero-filling; large ones are pooled blocks).
class ByteWriter {
 public:
  ByteWriter() = default;
  explicit ByteWriter(std::size_t reserve) {
    if (reserve > kInlineBytes) grow(reserve);
  }
  ByteWriter(const ByteWriter&) = delete;
  ByteWriter& operator=(const ByteWriter&) = delete;
  ~ByteWriter() {
    if (data_ != inline_) free_bytes(data_, cap_);
  }

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
  /// Small contents (arguments, results, control messages) take one
  /// allocation that holds both the bytes and the count that shares them.
  Buffer finish() {
    Buffer b;
    if (data_ == inline_) {
      std::shared_ptr<char[]> bytes = std::make_shared_for_overwrite<char[]>(size_ ? size_ : 1);
      if (size_) std::memcpy(bytes.get(), inline_, size_);
      b.data = bytes.get();
      b.size = size_;
      b.owner = std::move(bytes);
    } else {
      b = adopt_bytes(data_, cap_, size_);
    }
    data_ = inline_;
    size_ = 0;
    cap_ = kInlineBytes;
    return b;
  }

 private:
  static constexpr std::size_t kInlineBytes = 192;
  void grow(std::size_t need) {
    std::size_t cap = cap_;
    while (cap < need) cap *= 2;
    if (cap < kPooledBytes) {
      char* p = static_cast<char*>(data_ == inline_ ? std::malloc(cap) : std::realloc(data_, cap));
      if (!p) throw std::bad_alloc();
      if (data_ == inline_ && size_) std::memcpy(p, inline_, size_);
      data_ = p;
      cap_ = cap;
      return;
    }
    // Pooled blocks come in size classes: one big write takes the class that
    // fits it (no doubling); many small ones still grow geometrically.
    cap = std::max(need, cap_ + cap_ / 2);
    char* p = acquire_block(cap);
    if (size_) std::memcpy(p, data_, size_);
    if (data_ != inline_) free_bytes(data_, cap_);
    data_ = p;
    cap_ = cap;
  }
  char inline_[kInlineBytes];
  char* data_ = inline_;
  std::size_t size_ = 0;
  std::size_t cap_ = kInlineBytes;
};

}  // namespace raympi::detail
