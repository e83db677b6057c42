// Fuzz target: a node's timeline_reply as the driver receives it
// (TimelineService::on_reply): the counts, the raw records after them, and
// the Chrome trace the driver writes from them, which must be valid JSON
// whatever the records hold. Malformed input must be a raympi::Error.
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>

#include "fuzz_support.hpp"
#include "timeline/chrome_trace.hpp"
#include "wire_samples.hpp"

std::vector<raympi::wire_samples::Sample> fuzz_seeds() {
  using namespace raympi::detail;
  const EventBatch records = raympi::wire_samples::sample_records();
  const Buffer bytes = encode_records(records);
  const Buffer none = bytes.sub(0, 0);
  TimelineRequestMsg counts{1, 2, records.tasks.size(), records.edges.size(), records.transfers.size()};
  return {{"timeline_reply", encode_msg(MsgType::timeline_reply, counts, &bytes)},
          {"timeline_reply_empty", encode_msg(MsgType::timeline_reply, TimelineRequestMsg{2, 3, 0, 0, 0}, &none)}};
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace raympi;
  static const std::string path = std::string(access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp") +
                                  "/raympi-fuzz-trace-" + std::to_string(getpid()) + ".json";
  detail::EventBatch records;
  detail::TimelineRequestMsg m;
  try {
    detail::Buffer bytes;
    m = detail::decode_msg<detail::TimelineRequestMsg>(fuzz::received(data, size), &bytes);
    records = detail::decode_records(bytes, m.tasks, m.edges, m.transfers);
  } catch (const Error&) {
    return 0;
  }
  detail::TraceInfo info;
  info.ranks = 4;
  info.hosts[m.node] = "node-a";
  detail::TraceCounts counts = detail::write_chrome_trace(path, records, info);
  if (counts.spans != records.tasks.size() || counts.transfers != records.transfers.size())
    fuzz::fail("timeline", "the trace lost records");
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::remove(path.c_str());
  if (!nlohmann::json::accept(text)) fuzz::fail("timeline", "the trace is not valid JSON");
  return 0;
}
