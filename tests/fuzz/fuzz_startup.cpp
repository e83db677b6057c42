// Fuzz target: what init exchanges between ranks (core/lifecycle.cpp): one
// rank's NodeDesc of the node-table exchange (first byte even), or every
// rank's registry keys for the agreement check (first byte odd; ranks
// separated by NUL bytes). Malformed input must be a raympi::Error.
#include <string>
#include <vector>

#include "core/registry.hpp"
#include "fuzz_support.hpp"
#include "wire_samples.hpp"

std::vector<raympi::wire_samples::Sample> fuzz_seeds() {
  using raympi::wire_samples::Sample;
  auto with_mode = [](char mode, const std::string& bytes) {
    std::string s(1, mode);
    s += bytes;
    char* p = nullptr;
    raympi::detail::Buffer b = raympi::detail::allocate_buffer(s.size(), p);
    s.copy(p, s.size());
    return b;
  };
  raympi::detail::Buffer node = raympi::wire_samples::node_description();
  using raympi::detail::encode_registry_keys;
  const std::string same = encode_registry_keys({"add|int (*)(int, int)", "scale|double (*)(double)"});
  const std::string other = encode_registry_keys({"add|int (*)(int, int)", "extra_fn|void (*)()"});
  return {Sample{"node_description", with_mode(0, std::string(node.data, node.size))},
          Sample{"registries_agree", with_mode(1, same + '\0' + same + '\0' + same)},
          Sample{"registries_differ", with_mode(1, same + '\0' + other)}};
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace raympi;
  if (size == 0) return 0;
  const char* rest = reinterpret_cast<const char*>(data) + 1;
  const std::size_t n = size - 1;
  if (data[0] % 2 == 0) {
    detail::Buffer once;
    try {
      once = wire_decoders::decode_node_description(rest, n);
    } catch (const Error&) {
      return 0;
    }
    fuzz::expect_stable(
        once, [](const detail::Buffer& b) { return wire_decoders::decode_node_description(b.data, b.size); },
        "node description");
  } else {
    std::vector<std::string> gathered(1);
    for (std::size_t i = 0; i < n; ++i) {
      if (rest[i] == '\0') gathered.emplace_back();
      else gathered.back().push_back(rest[i]);
    }
    try {
      detail::check_registry_agreement(gathered);
    } catch (const Error&) {
      // the registries differ: init's answer
    }
  }
  return 0;
}
