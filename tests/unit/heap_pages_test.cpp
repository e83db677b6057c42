// Unit: huge pages for malloc's heap (libraympi/base/heap_pages.cpp). The
// GLIBC_TUNABLES parsing the launcher and the start-up hint rely on, and,
// in this process (ctest starts it as `raympi run` would, with
// GLIBC_TUNABLES=glibc.malloc.hugetlb=1), huge pages really backing the heap.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "base/heap_pages.hpp"

namespace {

using raympi::detail::asks_for_hugetlb;
using raympi::detail::heap_pages;
using raympi::detail::tunables_with_hugetlb;

TEST(HeapPages, ReadsTheHugetlbTunableAsGlibcDoes) {
  EXPECT_TRUE(asks_for_hugetlb("glibc.malloc.hugetlb=1"));
  EXPECT_TRUE(asks_for_hugetlb("glibc.malloc.hugetlb=2"));
  EXPECT_TRUE(asks_for_hugetlb("glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1"));
  EXPECT_FALSE(asks_for_hugetlb(""));
  EXPECT_FALSE(asks_for_hugetlb("glibc.malloc.hugetlb=0"));
  EXPECT_FALSE(asks_for_hugetlb("glibc.malloc.arena_max=2"));
  EXPECT_FALSE(asks_for_hugetlb("glibc.malloc.hugetlb=1:glibc.malloc.hugetlb=0")) << "the last setting wins";
  EXPECT_FALSE(asks_for_hugetlb("xglibc.malloc.hugetlb=1")) << "only a whole tunable name counts";
}

TEST(HeapPages, AddsHugetlbAndKeepsTheUsersTunables) {
  EXPECT_EQ(tunables_with_hugetlb(nullptr), "glibc.malloc.hugetlb=1");
  EXPECT_EQ(tunables_with_hugetlb(""), "glibc.malloc.hugetlb=1");
  EXPECT_EQ(tunables_with_hugetlb("glibc.malloc.arena_max=2"), "glibc.malloc.arena_max=2:glibc.malloc.hugetlb=1");
  EXPECT_EQ(tunables_with_hugetlb("glibc.malloc.hugetlb=2"), "glibc.malloc.hugetlb=2") << "already asked: unchanged";
}

TEST(HeapPages, HintsOnlyWhereHugePagesMustBeAskedFor) {
  auto madvise = heap_pages("madvise", nullptr);
  EXPECT_NE(madvise.hint.find("GLIBC_TUNABLES=glibc.malloc.hugetlb=1"), std::string::npos) << madvise.hint;
  EXPECT_NE(heap_pages("madvise", "glibc.malloc.arena_max=4").hint.find("arena_max=4:glibc.malloc.hugetlb=1"),
            std::string::npos)
      << "the hint keeps the user's tunables";
  EXPECT_TRUE(heap_pages("madvise", "glibc.malloc.hugetlb=1").hint.empty());
  EXPECT_TRUE(heap_pages("always", nullptr).hint.empty()) << "the kernel gives huge pages by itself";
  EXPECT_TRUE(heap_pages("never", nullptr).hint.empty()) << "nothing to gain";
}

long anon_huge_kib() {
  std::ifstream f("/proc/self/smaps_rollup");
  std::string key;
  long value = 0;
  while (f >> key) {
    if (key == "AnonHugePages:" && f >> value) return value;
    f.ignore(1 << 20, '\n');
  }
  return -1;
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitizerMalloc = true;  // the sanitizer's allocator replaces glibc's malloc
#else
constexpr bool kSanitizerMalloc = false;
#endif

TEST(HeapPages, TheHeapGetsHugePagesAsTheTestsAreStarted) {
  if (kSanitizerMalloc) GTEST_SKIP() << "a sanitizer's allocator replaces malloc (GLIBC_TUNABLES does not apply)";
  auto pages = heap_pages();
  if (pages.thp_mode != "madvise" && pages.thp_mode != "always")
    GTEST_SKIP() << "transparent huge pages are '" << pages.thp_mode << "' here";
  ASSERT_TRUE(pages.hint.empty()) << "ctest starts tests as `raympi run` starts ranks: " << pages.hint;
  const long before = anon_huge_kib();
  ASSERT_GE(before, 0) << "/proc/self/smaps_rollup unreadable";
  // 64 MiB of small records, the runtime's kind of allocation.
  std::vector<std::unique_ptr<char[]>> records;
  for (int i = 0; i < (64 << 20) / 256; ++i) {
    records.emplace_back(new char[256]);
    records.back()[0] = char(i);
  }
  const long after = anon_huge_kib();
  EXPECT_GE(after - before, 32 << 10) << "64 MiB of small allocations should mostly sit on 2 MiB pages (KiB: "
                                      << before << " -> " << after << ")";
}

}  // namespace
