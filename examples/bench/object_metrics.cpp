// raympi-bench's object-store metrics: put and get of small objects, and the
// bandwidth of a large put next to memcpy.
#include "bench_harness.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

// single_client_put_calls: put a small int (the ref is dropped at once).
void Bench::put_calls() {
  run("single_client_put_calls", "", [&](const std::string& name) {
    int i = 0;
    Measure m = timeit([&] { raympi::ObjectRef<int> r = raympi::put(i++); (void)r; }, 1, opt.warmup, opt.duration);
    report(tally, name, m, "ops/s", fmt("%.3f us per op", 1e6 / m.rate), {Target::kMinRate, 1'000'000.0});
  });
}

// single_client_get_calls: get the same small put object again and again.
void Bench::get_calls() {
  run("single_client_get_calls", "", [&](const std::string& name) {
    raympi::ObjectRef<int> r = raympi::put(0);
    Measure m = timeit(
        [&] {
          if (raympi::get(r) != 0) throw std::runtime_error("get returned a wrong value");
        },
        1, opt.warmup, opt.duration);
    report(tally, name, m, "ops/s", fmt("%.3f us per op", 1e6 / m.rate), {Target::kMinRate, 1'000'000.0});
  });
}

// single_client_put_gigabytes: put a large std::vector<char>; GB/s, next to
// a plain memcpy of the same size measured in the same run.
void Bench::put_gigabytes() {
  run("single_client_put_gigabytes", "", [&](const std::string& name) {
    const auto bytes = static_cast<std::size_t>(opt.put_mb * 1e6);
    std::vector<char> data(bytes);
    for (std::size_t i = 0; i < bytes; ++i) data[i] = static_cast<char>(i * 131u);
    const double gb = static_cast<double>(bytes) / 1e9;
    const double base_time = std::min(opt.duration, 0.5);

    // memcpy into a buffer already touched: the machine's copy ceiling.
    std::vector<char> warm(bytes, 1);
    Measure copy_warm = timeit(
        [&] {
          std::memcpy(warm.data(), data.data(), bytes);
          asm volatile("" : : "r"(warm.data()) : "memory");
        },
        gb, std::min(opt.warmup, 0.1), base_time);
    warm = {};
    // memcpy into fresh memory, as a store that allocates per object pays (page faults).
    Measure copy_fresh = timeit(
        [&] {
          std::unique_ptr<char[]> fresh(new char[bytes]);
          std::memcpy(fresh.get(), data.data(), bytes);
          asm volatile("" : : "r"(fresh.get()) : "memory");
        },
        gb, std::min(opt.warmup, 0.1), base_time);

    Measure m = timeit([&] { raympi::ObjectRef<std::vector<char>> r = raympi::put(data); (void)r; }, gb,
                       opt.warmup, opt.duration);
    report(tally, name, m, "GB/s",
           fmt("%g MB per put; ", opt.put_mb) + fmt("memcpy %.2f GB/s", copy_warm.rate) +
               fmt(" (fresh buffer %.2f GB/s); ", copy_fresh.rate) + fmt("put/memcpy %.2f", m.rate / copy_warm.rate),
           {});
  });
}

}  // namespace bench
