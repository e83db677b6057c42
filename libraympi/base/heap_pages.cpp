// Huge pages for malloc's heap.
//
// The runtime keeps a few small records per task, object and actor (the
// task, its result's record, hash-table nodes, the actor's host): 100,000
// actors are ~270 MiB of them, reached in random order through hash tables.
// With 4 KiB pages that is a page fault per page as the heap grows and a TLB
// miss on most lookups; in a virtual machine (nested paging) both cost
// several times more. On the 2-core VM of our CI, 100,000 actors on one
// node at np 3 were made by the driver about twice as fast with 2 MiB pages
// and all built ~1.5x as fast (figures in docs/performance.md, "Huge pages").
//
// Linux backs anonymous memory with huge pages by itself only in THP
// "always" mode (RHEL's default). In "madvise" mode (Debian's, Ubuntu's) a
// range must be advised, which glibc (2.35+) does for all its heaps when the
// process starts with GLIBC_TUNABLES=glibc.malloc.hugetlb=1. A tunable is
// read when the process starts, so the library cannot set it for itself:
// `raympi run`, the Slurm templates and the test harness set it, and
// raympi::init says so (log level info) where it is missing. The runtime
// does not change malloc's settings behind the application's back (mallopt
// is the application's).
#include "base/heap_pages.hpp"

#include <cstdlib>
#include <fstream>

namespace raympi::detail {

namespace {
constexpr std::string_view kHugetlb = "glibc.malloc.hugetlb=";
}  // namespace

bool asks_for_hugetlb(std::string_view tunables) {
  // The last setting wins, as in glibc; tunables are separated by ':'.
  bool on = false;
  for (std::size_t at = tunables.find(kHugetlb); at != std::string_view::npos; at = tunables.find(kHugetlb, at + 1)) {
    if (at > 0 && tunables[at - 1] != ':') continue;
    std::string_view value = tunables.substr(at + kHugetlb.size());
    value = value.substr(0, value.find(':'));
    on = value == "1" || value == "2";
  }
  return on;
}

std::string tunables_with_hugetlb(const char* current) {
  std::string t = current ? current : "";
  if (asks_for_hugetlb(t)) return t;
  return t.empty() ? std::string(kHugetlb) + "1" : t + ":" + std::string(kHugetlb) + "1";
}

HeapPages heap_pages(std::string_view thp_mode, const char* tunables) {
  HeapPages h;
  h.thp_mode = std::string(thp_mode);
  h.glibc_hugetlb = tunables && asks_for_hugetlb(tunables);
#ifdef __GLIBC__
  if (thp_mode == "madvise" && !h.glibc_hugetlb)
    h.hint = "malloc's heap uses 4 KiB pages (transparent huge pages are in madvise mode and "
             "GLIBC_TUNABLES does not ask for them): start the ranks with GLIBC_TUNABLES=" +
             tunables_with_hugetlb(tunables) + " (raympi run and the Slurm templates do) for faster task, "
             "object and actor bookkeeping; see docs/performance.md, \"Huge pages\"";
#endif
  return h;
}

HeapPages heap_pages() {
  std::string mode;
  std::ifstream f("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string line;
  if (std::getline(f, line)) {
    auto open = line.find('['), close = line.find(']');
    if (open != std::string::npos && close != std::string::npos && close > open)
      mode = line.substr(open + 1, close - open - 1);
  }
  return heap_pages(mode, std::getenv("GLIBC_TUNABLES"));
}

}  // namespace raympi::detail
