// Recycled large memory blocks (see buffer.hpp): object buffers of 1 MiB and
// more are mapped once and reused, so a store that receives, serialises and
// drops objects in a loop writes into memory whose pages already exist.
// Writing into fresh memory runs at a fifth of memcpy speed on the nodes we
// measured (a page fault and a zeroed page per 4 KiB); reuse runs at memcpy
// speed. Free blocks are kept per size class up to a byte limit and for a
// few seconds; trim_block_pool (called from the runtime's tick) gives the
// older ones back, so an idle job does not sit on memory it no longer needs.
//
// The tick also gives back what malloc keeps. glibc returns freed small
// chunks to the system only from the top of the main heap: after 100,000
// small objects were put and dropped (records, buffers, table entries) a
// process stayed ~60 MiB larger until exit. trim_malloc_heap calls
// malloc_trim(0), which releases the free pages of every arena, when the
// process's resident set is kHeapTrimBytes above the least it has been
// (below that, little can be gained). Reading it costs one /proc read, at
// most twice a second. A trim walks malloc's free lists (a few ms after a
// large free), so one that releases little, because the memory is in use,
// doubles the wait before the next, up to kHeapTrimMaxGap; one that releases
// much keeps the pace. Nothing of it runs per task, allocation or free.
#include <fcntl.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#include "raympi/detail/buffer.hpp"

namespace raympi::detail {

namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kKeepFree = std::chrono::seconds(5);
constexpr auto kHeapLookEvery = std::chrono::milliseconds(500);
constexpr auto kHeapTrimMinGap = std::chrono::seconds(1);
constexpr auto kHeapTrimMaxGap = std::chrono::seconds(32);
constexpr std::size_t kHeapTrimBytes = std::size_t(16) << 20;

struct FreeBlock {
  char* p;
  Clock::time_point since;
};

struct Pool {
  std::mutex mu;
  std::unordered_map<std::size_t, std::vector<FreeBlock>> free;  // by capacity (a size class)
  std::size_t retained = 0;                                      // bytes in `free`
  std::size_t limit = std::size_t(1) << 30;
};

Pool& pool() {
  static Pool* p = new Pool;  // never destroyed: blocks may come back during static destruction
  return *p;
}

// Four classes per doubling above 1 MiB: at most 25 % of a block unused, and
// objects of similar size reuse each other's blocks.
std::size_t size_class(std::size_t n) {
  if (n <= kPooledBytes) return kPooledBytes;
  std::size_t top = std::size_t(1) << (63 - __builtin_clzll(n - 1));  // highest power of two below n
  std::size_t step = top / 4;
  return (n + step - 1) / step * step;
}

// Takes the blocks released more than kKeepFree ago out of the pool (lock held).
void collect_old(Pool& p, Clock::time_point now, std::vector<std::pair<char*, std::size_t>>& out) {
  for (auto it = p.free.begin(); it != p.free.end();) {
    auto& v = it->second;
    auto keep = std::stable_partition(v.begin(), v.end(), [&](const FreeBlock& b) { return now - b.since < kKeepFree; });
    for (auto b = keep; b != v.end(); ++b) {
      out.emplace_back(b->p, it->first);
      p.retained -= it->first;
    }
    v.erase(keep, v.end());
    it = v.empty() ? p.free.erase(it) : std::next(it);
  }
}

void unmap(const std::vector<std::pair<char*, std::size_t>>& blocks) {
  for (auto& [ptr, cap] : blocks) munmap(ptr, cap);
}

// This process's resident bytes (/proc/self/statm); 0 when /proc cannot be
// read, which disables the heap trim.
std::size_t resident_bytes() {
  int fd = ::open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  char text[128];
  ssize_t n = ::read(fd, text, sizeof text - 1);
  ::close(fd);
  if (n <= 0) return 0;
  text[n] = 0;
  unsigned long long pages_total = 0, pages_resident = 0;
  if (std::sscanf(text, "%llu %llu", &pages_total, &pages_resident) != 2) return 0;
  return std::size_t(pages_resident) * std::size_t(::sysconf(_SC_PAGESIZE));
}

struct HeapTrim {
  std::mutex mu;
  Clock::time_point next_look, next_trim;
  Clock::duration gap = kHeapTrimMinGap;  // before the next trim; doubles while trims release little
  std::size_t floor = std::numeric_limits<std::size_t>::max();  // the least resident_bytes seen
};

HeapTrim& heap_trim() {
  static HeapTrim* h = new HeapTrim;  // never destroyed, like the pool
  return *h;
}

// malloc_trim(0) when the process is kHeapTrimBytes above its least RSS
// (see the top of the file); rate-limited unless `now_regardless`.
void trim_malloc_heap(bool now_regardless) {
#ifdef __GLIBC__
  if (now_regardless) {
    malloc_trim(0);
    return;
  }
  HeapTrim& h = heap_trim();
  std::unique_lock lk(h.mu, std::try_to_lock);
  if (!lk.owns_lock()) return;  // another thread is at it
  auto now = Clock::now();
  if (now < h.next_look) return;
  h.next_look = now + kHeapLookEvery;
  std::size_t before = resident_bytes();
  if (before == 0) return;
  h.floor = std::min(h.floor, before);
  if (before - h.floor < kHeapTrimBytes || now < h.next_trim) return;
  malloc_trim(0);
  std::size_t after = resident_bytes();
  h.floor = std::min(h.floor, after);
  bool released = before > after && before - after >= kHeapTrimBytes / 2;
  h.gap = released ? kHeapTrimMinGap : std::min<Clock::duration>(h.gap * 2, kHeapTrimMaxGap);
  h.next_trim = now + h.gap;
#else
  (void)now_regardless;  // no malloc_trim outside glibc
#endif
}

}  // namespace

char* acquire_block(std::size_t& size) {
  std::size_t cap = size_class(size);
  Pool& p = pool();
  {
    std::lock_guard lk(p.mu);
    auto it = p.free.find(cap);
    if (it != p.free.end() && !it->second.empty()) {
      char* b = it->second.back().p;  // the most recently used: warmest in cache
      it->second.pop_back();
      p.retained -= cap;
      size = cap;
      return b;
    }
  }
  void* m = mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) {
    trim_block_pool(true);  // other classes' free blocks may be what the system is missing
    m = mmap(nullptr, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) throw std::bad_alloc();
  }
  size = cap;
  return static_cast<char*>(m);
}

void release_block(char* ptr, std::size_t capacity) noexcept {
  Pool& p = pool();
  std::vector<std::pair<char*, std::size_t>> drop;
  {
    std::lock_guard lk(p.mu);
    auto now = Clock::now();
    collect_old(p, now, drop);
    if (p.retained + capacity <= p.limit) {
      p.free[capacity].push_back({ptr, now});
      p.retained += capacity;
    } else {
      drop.emplace_back(ptr, capacity);
    }
  }
  unmap(drop);
}

void trim_block_pool(bool everything) noexcept {
  Pool& p = pool();
  std::vector<std::pair<char*, std::size_t>> drop;
  {
    std::lock_guard lk(p.mu);
    collect_old(p, everything ? Clock::time_point::max() : Clock::now(), drop);
  }
  unmap(drop);
  trim_malloc_heap(everything);
}

void set_block_pool_limit(std::size_t bytes) noexcept {
  std::lock_guard lk(pool().mu);
  pool().limit = bytes;
}

std::size_t pooled_free_bytes() noexcept {
  std::lock_guard lk(pool().mu);
  return pool().retained;
}

Buffer allocate_buffer(std::size_t size, char*& data) {
  std::size_t cap = size;  // below kPooledBytes: malloc'd, freed by free_bytes as such
  data = size >= kPooledBytes ? acquire_block(cap) : static_cast<char*>(std::malloc(size ? size : 1));
  if (!data) throw std::bad_alloc();
  return adopt_bytes(data, cap, size);
}

}  // namespace raympi::detail
