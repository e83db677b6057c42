// Fuzz target: what MpiTransport receives from another rank (one control
// message or a batch of them), decoded as the runtime's dispatcher decodes
// every MsgType (wire_decoders.hpp). Malformed input must be a raympi::Error.
#include "fuzz_support.hpp"
#include "wire_samples.hpp"

RAYMPI_REMOTE(raympi::wire_samples::sample_task);  // task messages name a function that resolves

std::vector<raympi::wire_samples::Sample> fuzz_seeds() {
  return raympi::wire_samples::control_messages(
      raympi::detail::find_function(reinterpret_cast<const void*>(&raympi::wire_samples::sample_task)));
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace raympi;
  try {
    wire_decoders::for_each_received(fuzz::received(data, size), [](const detail::Buffer& msg) {
      detail::Buffer once;
      try {
        once = wire_decoders::decode_control_message(msg);
      } catch (const Error&) {
        return;  // refused: what a malformed message must get
      }
      fuzz::expect_stable(once, wire_decoders::decode_control_message, "control message");
    });
  } catch (const Error&) {
    // a malformed batch: refused before any of it was delivered
  }
  return 0;
}
