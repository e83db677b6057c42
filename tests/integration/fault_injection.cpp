// No exception escapes a runtime thread: RAYMPI_INJECT_FAULT=<point> makes
// one place of the runtime throw once per process (libraympi/base/
// fault_injection.hpp), and the job must go on, with the error delivered to
// whoever waited (docs/reliability.md):
//
//   fault_injection task          a worker's run of a task: that task fails, the next runs
//   fault_injection tick          the progress thread's tick (every rank): the job goes on
//   fault_injection ucx_transfer  a UCX transfer's completion: that get fails, the next works
//   fault_injection spill_read    restoring a spilled object: that get fails, the next works
//   fault_injection event_log     the event log's writer thread: the job goes on
//
// The driver prints "INJECT_OK <what>" per check passed, "INJECT_FAIL <what>" otherwise.
#include <cstdio>
#include <cstdint>
#include <string>
#include <vector>

#include <raympi/raympi.hpp>

namespace {

int twice(int x) { return 2 * x; }
std::vector<std::uint8_t> filled(std::uint64_t size) { return std::vector<std::uint8_t>(size, 7); }

}  // namespace

RAYMPI_REMOTE(twice, filled);

namespace {

int failures = 0;

void check(bool ok, const std::string& what) {
  std::printf("%s %s\n", ok ? "INJECT_OK" : "INJECT_FAIL", what.c_str());
  std::fflush(stdout);
  if (!ok) ++failures;
}

// The text of what get(ref) throws ("" when it returns).
template <class T>
std::string error_of(const raympi::ObjectRef<T>& ref) {
  try {
    raympi::get(ref);
    return "";
  } catch (const raympi::Error& e) {
    return e.what();
  }
}

bool has(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

bool many_tasks_run() {
  std::vector<raympi::ObjectRef<int>> refs;
  for (int i = 0; i < 1000; ++i) refs.push_back(raympi::task(twice).remote(i));
  auto got = raympi::get(refs);
  for (int i = 0; i < 1000; ++i)
    if (got[std::size_t(i)] != 2 * i) return false;
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  raympi::init(argc, argv);
  const std::string mode = argc > 1 ? argv[1] : "";
  const auto nodes = raympi::nodes();
  if (mode == "task") {
    std::string e = error_of(raympi::task(twice).remote(1));
    check(has(e, "internal error") && has(e, "injected fault"), "the task failed with: " + e);
    check(raympi::get(raympi::task(twice).remote(2)) == 4, "the next task ran");
  } else if (mode == "tick" || mode == "event_log") {
    check(many_tasks_run(), "1000 tasks ran after the injected fault");
  } else if (mode == "ucx_transfer") {
    int other = -1;
    for (auto& n : nodes)
      if (!n.is_driver) other = n.rank;
    if (other < 0 || !raympi::detail::local_stats().data_plane) {
      check(false, "needs two node ranks and the UCX data plane");
    } else {
      auto on_other = [&] { return raympi::task(filled).resource("node:" + std::to_string(other), 0.01); };
      auto first = on_other().remote(std::uint64_t(2) << 20);
      std::string e = error_of(first);
      check(has(e, "injected fault"), "the interrupted transfer's get failed with: " + e);
      check(raympi::get(on_other().remote(std::uint64_t(3) << 20)).size() == (3u << 20), "the next transfer worked");
    }
  } else if (mode == "spill_read") {
    // Over the store's budget (RAYMPI_OBJECT_STORE_MEMORY=64M): the first objects are spilled.
    std::vector<raympi::ObjectRef<std::vector<std::uint8_t>>> refs;
    for (int i = 0; i < 96; ++i) refs.push_back(raympi::put(std::vector<std::uint8_t>(1u << 20, std::uint8_t(i))));
    std::string e = error_of(refs[0]);
    check(has(e, "spill file") && has(e, "injected fault"), "the failed restore's get failed with: " + e);
    auto again = raympi::get(refs[0]);
    check(again.size() == (1u << 20) && again[0] == 0, "the object was read back on the next get");
  } else {
    check(false, "unknown mode '" + mode + "'");
  }
  raympi::shutdown();
  return failures == 0 ? 0 : 1;
}
