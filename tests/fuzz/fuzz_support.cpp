// Linked into every fuzz target. With RAYMPI_FUZZ_WRITE_SEEDS=<folder> a
// target writes its seed corpus (real messages from raympi's encoders, see
// fuzz_seeds in each target) into that folder and exits instead of fuzzing:
// that is how tests/fuzz/corpus/<target>/ was made.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "fuzz_support.hpp"
#include "wire_samples.hpp"

std::vector<raympi::wire_samples::Sample> fuzz_seeds();

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* dir = std::getenv("RAYMPI_FUZZ_WRITE_SEEDS");
  if (!dir) return 0;
  std::filesystem::create_directories(dir);
  std::size_t n = 0, bytes = 0;
  for (auto& s : fuzz_seeds()) {
    std::ofstream(std::string(dir) + "/" + s.name, std::ios::binary).write(s.bytes.data, std::streamsize(s.bytes.size));
    ++n;
    bytes += s.bytes.size;
  }
  std::printf("wrote %zu seeds (%zu bytes) to %s\n", n, bytes, dir);
  std::exit(0);
}
