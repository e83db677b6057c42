// Decoders of bytes from other ranks on truncated and corrupted real messages:
// every control message type (as the runtime dispatches them), MpiTransport's
// batches, timeline replies, init's node table and registry check, object
// values and task arguments. Malformed input must be a raympi::Error naming
// the problem, never a crash, a huge allocation or a silent misread. The
// fuzzers of tests/fuzz (docs/fuzzing.md) search the same decoders at length;
// this runs in every build.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "core/registry.hpp"
#include "wire_decoders.hpp"
#include "wire_samples.hpp"

RAYMPI_REMOTE(raympi::wire_samples::sample_task);

namespace {

using namespace raympi;
using namespace raympi::detail;
using raympi::wire_samples::Sample;

std::vector<Sample> real_messages() {
  return wire_samples::control_messages(find_function(reinterpret_cast<const void*>(&wire_samples::sample_task)));
}

// Decodes what MpiTransport received; the re-encoding of every message in it.
std::vector<Buffer> decode_received(const Buffer& mpi_message) {
  std::vector<Buffer> out;
  wire_decoders::for_each_received(mpi_message,
                                   [&](const Buffer& m) { out.push_back(wire_decoders::decode_control_message(m)); });
  return out;
}

// A copy of `b` that the test may change, exactly `size` bytes long.
Buffer copy_of(const Buffer& b, std::size_t size) {
  char* p = nullptr;
  Buffer out = allocate_buffer(size, p);
  if (size) std::memcpy(p, b.data, std::min(size, b.size));
  return out;
}

char* bytes_of(Buffer& b) { return const_cast<char*>(b.data); }

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(WireDecoding, EveryRealMessageDecodesAndReencodesTheSame) {
  auto messages = real_messages();
  ASSERT_GE(messages.size(), 29u);
  for (auto& s : messages) {
    SCOPED_TRACE(s.name);
    std::vector<Buffer> once = decode_received(s.bytes);
    ASSERT_FALSE(once.empty());
    if (s.name != "batch") {
      ASSERT_EQ(once.size(), 1u);
      EXPECT_TRUE(wire_decoders::same_bytes(once[0], s.bytes)) << "load and save disagree";
    } else {
      EXPECT_EQ(once.size(), 3u) << "the batch holds three messages";
    }
  }
}

TEST(WireDecoding, EveryTruncationIsAnErrorOrAShorterValidMessage) {
  for (auto& s : real_messages()) {
    SCOPED_TRACE(s.name);
    for (std::size_t n = 0; n < s.bytes.size; ++n) {
      Buffer cut = copy_of(s.bytes, n);
      std::vector<Buffer> out;
      std::string error = error_of([&] { out = decode_received(cut); });
      if (error.empty() && s.name == "batch") {
        EXPECT_LT(out.size(), 3u) << "a batch cut between frames holds fewer messages";
      } else if (error.empty()) {
        // Only the trailing length word of a message without trailing bytes
        // can be cut unnoticed (decoders that take no trailing block never read it).
        EXPECT_GE(n + 8, s.bytes.size) << "a message cut to " << n << " bytes decoded";
      }
    }
  }
}

TEST(WireDecoding, EveryCorruptedByteIsAnErrorOrAValidMessage) {
  for (auto& s : real_messages()) {
    SCOPED_TRACE(s.name);
    for (std::size_t i = 0; i < s.bytes.size; ++i) {
      for (unsigned char v : {0x00, 0x02, 0x7F, 0x80, 0xFF}) {
        Buffer bad = copy_of(s.bytes, s.bytes.size);
        bytes_of(bad)[i] = char(v);
        try {
          for (Buffer& once : decode_received(bad)) {  // what decodes must re-encode stably
            std::vector<Buffer> twice = decode_received(once);
            ASSERT_EQ(twice.size(), 1u);
            EXPECT_TRUE(wire_decoders::same_bytes(once, twice[0])) << "byte " << i << " = " << int(v);
          }
        } catch (const Error&) {
        }
      }
    }
  }
}

TEST(WireDecoding, SpecificCorruptionsNameTheirCause) {
  const auto messages = real_messages();
  auto find = [&](const std::string& name) {
    for (auto& s : messages)
      if (s.name == name) return copy_of(s.bytes, s.bytes.size);
    ADD_FAILURE() << name;
    return Buffer{};
  };
  // A count of 2^60 ids: refused before cereal allocates them.
  Buffer ids = find("free_objects");
  const std::uint64_t huge = std::uint64_t(1) << 60;
  std::memcpy(bytes_of(ids) + 1, &huge, 8);
  EXPECT_NE(error_of([&] { decode_received(ids); }).find("container of 1152921504606846976 elements"),
            std::string::npos);
  // A trailing block longer than what follows.
  Buffer data = find("data");
  std::uint64_t n = 0;
  const std::size_t len_at = data.size - wire_samples::serialized(std::string("an inline object")).size - 8;
  std::memcpy(&n, data.data + len_at, 8);
  n += 1;
  std::memcpy(bytes_of(data) + len_at, &n, 8);
  EXPECT_NE(error_of([&] { decode_received(data); }).find("trailing block"), std::string::npos);
  // An enum out of range (LocationMsg's state, right after the id).
  Buffer loc = find("location_failed");
  bytes_of(loc)[1 + 8] = 9;
  EXPECT_NE(error_of([&] { decode_received(loc); }).find("LocState 9 is out of range"), std::string::npos);
  // A bool that is neither 0 nor 1 (ActorKillMsg's no_restart, after the actor id).
  Buffer kill = find("actor_kill");
  bytes_of(kill)[1 + 8] = 2;
  EXPECT_NE(error_of([&] { decode_received(kill); }).find("a bool of value 2"), std::string::npos);
  // An empty message, an unknown type.
  EXPECT_NE(error_of([&] { decode_received(Buffer{}); }).find("unknown type 0"), std::string::npos);
  Buffer unknown = find("locate");
  bytes_of(unknown)[0] = char(200);
  EXPECT_NE(error_of([&] { decode_received(unknown); }).find("unknown type 200"), std::string::npos);
  EXPECT_NE(error_of([&] { decode_msg<IdMsg>(Buffer{}); }).find("empty message"), std::string::npos);
}

TEST(WireDecoding, MalformedBatchesAreRefusedWhole) {
  Buffer batch;
  for (auto& s : real_messages())
    if (s.name == "batch") batch = copy_of(s.bytes, s.bytes.size);
  ASSERT_TRUE(is_batch(batch));
  std::uint32_t first = 0;
  std::memcpy(&first, batch.data + 1, 4);
  for (std::uint32_t bad : {first + 1, std::uint32_t(0), std::uint32_t(0xFFFFFFFF)}) {
    Buffer b = copy_of(batch, batch.size);
    std::memcpy(bytes_of(b) + 1, &bad, 4);
    int delivered = 0;
    std::string error = error_of([&] { for_each_batched(b, [&](const Buffer&) { ++delivered; }); });
    EXPECT_NE(error.find("malformed message batch"), std::string::npos) << bad;
    EXPECT_EQ(delivered, 0) << "nothing of a malformed batch is delivered";
  }
  Buffer cut = copy_of(batch, batch.size - 1);
  EXPECT_NE(error_of([&] { for_each_batched(cut, [](const Buffer&) {}); }).find("runs past the end"),
            std::string::npos);
  Buffer marker_only = copy_of(batch, 1);
  EXPECT_NE(error_of([&] { for_each_batched(marker_only, [](const Buffer&) {}); }).find("holds no message"),
            std::string::npos);
}

TEST(WireDecoding, TimelineRecordCountsCannotWrapAround) {
  const Buffer bytes = encode_records(wire_samples::sample_records());
  EXPECT_EQ(decode_records(bytes, 2, 1, 1).tasks.size(), 2u);
  // 2^57 task records of 128 bytes wrap to 0 bytes in 64 bits.
  static_assert(sizeof(TaskRecord) == 128);
  const Buffer edges = bytes.sub(0, sizeof(EdgeRecord));
  EXPECT_NE(error_of([&] { decode_records(edges, std::uint64_t(1) << 57, 1, 0); }).find("a corrupt reply"),
            std::string::npos);
  EXPECT_NE(error_of([&] { decode_records(bytes, 2, 1, 2); }).find("a corrupt reply"), std::string::npos);
}

TEST(WireDecoding, NodeTableEntriesAndRegistriesFromOtherRanks) {
  const Buffer node = wire_samples::node_description();
  EXPECT_TRUE(wire_decoders::same_bytes(wire_decoders::decode_node_description(node.data, node.size), node));
  for (std::size_t n = 0; n < node.size; ++n)
    EXPECT_THROW(wire_decoders::decode_node_description(node.data, n), SerializationError) << n;

  const std::string same = encode_registry_keys({"add|int (*)(int, int)", "scale|double (*)(double)"});
  EXPECT_NO_THROW(check_registry_agreement({same, same, same}));
  const std::string other = encode_registry_keys({"add|int (*)(int, int)", "extra_fn|void (*)()"});
  std::string error = error_of([&] { check_registry_agreement({same, same, other}); });
  EXPECT_NE(error.find("'scale' is registered on rank 0 but not on rank 2"), std::string::npos) << error;
  EXPECT_NE(error.find("'extra_fn' is registered on rank 2 but not on rank 0"), std::string::npos) << error;
  EXPECT_FALSE(error_of([&] { check_registry_agreement({same, std::string("\n\n\xff|")}); }).empty());
}

TEST(WireDecoding, ObjectValuesAndTaskArguments) {
  // A value whose element count exceeds the bytes: an error before any allocation.
  ByteWriter w;
  {
    OutArchive ar(w);
    ar(cereal::make_size_tag(std::uint64_t(1) << 40));
  }
  Buffer huge = w.finish();
  EXPECT_THROW(deserialize<std::vector<std::string>>(huge.data, huge.size), SerializationError);
  EXPECT_THROW(deserialize<std::vector<double>>(huge.data, huge.size), SerializationError);

  // sample_task's invoker: its real arguments run; a dependency slot past the
  // task's dependencies or an unknown flag is an error, not a read out of bounds.
  auto run = [](const Buffer& args) {
    InArchive ar(args.data, args.size);
    Invocation inv;
    inv.args = &ar;
    invoke_function<double, std::vector<double>, int, std::string>(
        reinterpret_cast<const void*>(&wire_samples::sample_task), inv);
    return deserialize<double>(inv.result.data, inv.result.size);
  };
  const Buffer args = wire_samples::sample_arguments();
  EXPECT_EQ(run(args), 2.0 + 7 + 5);  // sample_task: the sizes plus n
  Buffer dep = copy_of(args, args.size);
  bytes_of(dep)[0] = 1;  // kArgDependency, slot read from the next 4 bytes; no dependencies here
  EXPECT_THROW(run(dep), SerializationError);
  Buffer flag = copy_of(args, args.size);
  bytes_of(flag)[0] = 5;
  EXPECT_THROW(run(flag), SerializationError);
  for (std::size_t n = 0; n < args.size; ++n) EXPECT_THROW(run(copy_of(args, n)), SerializationError) << n;
}

}  // namespace
