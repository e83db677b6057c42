#pragma once
// Whether malloc's heap gets transparent huge pages (see heap_pages.cpp).

#include <string>
#include <string_view>

namespace raympi::detail {

/// @brief How this process's malloc heap is paged.
struct HeapPages {
  std::string thp_mode;        ///< the kernel's THP mode: "always", "madvise", "never" ("" if unknown)
  bool glibc_hugetlb = false;  ///< GLIBC_TUNABLES asks malloc to advise its heaps (glibc.malloc.hugetlb=1 or 2)
  /// Empty when the heap gets huge pages (or cannot); else what to set, and why.
  std::string hint;
};

/// The value of GLIBC_TUNABLES that asks malloc for huge pages, keeping the
/// other tunables of `current` (null or empty: none).
std::string tunables_with_hugetlb(const char* current);
/// Whether `tunables` (a GLIBC_TUNABLES value) turns malloc's huge pages on.
bool asks_for_hugetlb(std::string_view tunables);
/// The HeapPages for a kernel mode and a GLIBC_TUNABLES value (null: unset).
HeapPages heap_pages(std::string_view thp_mode, const char* tunables);
/// This process's: /sys/kernel/mm/transparent_hugepage/enabled and its environment.
HeapPages heap_pages();

}  // namespace raympi::detail
