// Unit: typed (de)serialisation through raympi::detail::serialize_value /
// deserialize — the code every argument, result and object goes through.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

#include <raympi/raympi.hpp>

namespace {

using raympi::detail::deserialize;
using raympi::detail::serialize_value;

template <class T>
raympi::detail::Buffer bytes_of(const T& v) {
  std::vector<raympi::detail::RefPtr> refs;
  auto b = serialize_value(v, &refs);
  EXPECT_TRUE(refs.empty()) << "a value without ObjectRefs recorded refs";
  return b;
}

template <class T>
T round_trip(const T& v) {
  auto b = bytes_of(v);
  return deserialize<T>(b.data, b.size);
}

struct Particle {
  std::string name;
  std::array<double, 3> position{};
  std::vector<int> tags;
  std::optional<double> charge;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(name, position, tags, charge);
  }
  bool operator==(const Particle&) const = default;
};

struct Ensemble {
  std::map<std::string, Particle> by_name;
  std::vector<Particle> ordered;
  std::uint64_t step = 0;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(by_name, ordered, step);
  }
  bool operator==(const Ensemble&) const = default;
};

TEST(Serialization, VectorOfDoublesTravelsAsRawBytes) {
  std::vector<double> v(1000);
  for (std::size_t i = 0; i < v.size(); ++i) v[i] = std::sin(double(i)) * 1e6;
  v[7] = std::numeric_limits<double>::quiet_NaN();
  v[8] = -0.0;
  v[9] = std::numeric_limits<double>::infinity();
  auto b = bytes_of(v);
  // A 64-bit element count, then the elements' bytes exactly as in memory.
  ASSERT_EQ(b.size, sizeof(std::uint64_t) + v.size() * sizeof(double));
  std::uint64_t count = 0;
  std::memcpy(&count, b.data, sizeof count);
  EXPECT_EQ(count, v.size());
  EXPECT_EQ(std::memcmp(b.data + sizeof count, v.data(), v.size() * sizeof(double)), 0);
  auto back = deserialize<std::vector<double>>(b.data, b.size);
  ASSERT_EQ(back.size(), v.size());
  EXPECT_EQ(std::memcmp(back.data(), v.data(), v.size() * sizeof(double)), 0);  // NaN and -0.0 bit-exact
}

TEST(Serialization, OtherArithmeticVectorsAreRawToo) {
  std::vector<std::int32_t> ints(257);
  for (std::size_t i = 0; i < ints.size(); ++i) ints[i] = std::int32_t(i * 7919) - 1000;
  EXPECT_EQ(bytes_of(ints).size, sizeof(std::uint64_t) + ints.size() * sizeof(std::int32_t));
  EXPECT_EQ(round_trip(ints), ints);
  std::vector<float> floats{1.5f, -2.25f, 3e30f};
  EXPECT_EQ(bytes_of(floats).size, sizeof(std::uint64_t) + floats.size() * sizeof(float));
  EXPECT_EQ(round_trip(floats), floats);
}

TEST(Serialization, EmptyContainers) {
  EXPECT_TRUE(round_trip(std::vector<double>{}).empty());
  EXPECT_TRUE(round_trip(std::string{}).empty());
  EXPECT_TRUE((round_trip(std::map<std::string, int>{}).empty()));
}

TEST(Serialization, Strings) {
  std::string with_nul("a\0b\0c", 5);
  EXPECT_EQ(round_trip(with_nul), with_nul);
  std::string utf8 = "h\xC3\xA9llo w\xC3\xB6rld \xE2\x82\xAC";
  EXPECT_EQ(round_trip(utf8), utf8);
  std::string big(1 << 20, 'x');
  for (std::size_t i = 0; i < big.size(); i += 4099) big[i] = char('a' + i % 26);
  EXPECT_EQ(round_trip(big), big);
  std::vector<std::string> words{"alpha", "", "gamma", std::string(300, 'z')};
  EXPECT_EQ(round_trip(words), words);
}

TEST(Serialization, Maps) {
  std::map<std::string, std::vector<double>> m{{"a", {1, 2, 3}}, {"b", {}}, {"c", {-4.5}}};
  EXPECT_EQ(round_trip(m), m);
  std::map<int, std::string> im{{-3, "minus three"}, {0, ""}, {42, "answer"}};
  EXPECT_EQ(round_trip(im), im);
  std::unordered_map<std::string, int> um{{"x", 1}, {"y", 2}, {"z", 3}};
  EXPECT_EQ(round_trip(um), um);
}

TEST(Serialization, TuplesPairsOptionalsVariants) {
  auto t = std::make_tuple(1, 2.5, std::string("three"), std::vector<int>{4, 5});
  EXPECT_EQ(round_trip(t), t);
  std::pair<std::string, double> p{"pi", 3.14159};
  EXPECT_EQ(round_trip(p), p);
  std::optional<int> none, some = 9;
  EXPECT_EQ(round_trip(none), none);
  EXPECT_EQ(round_trip(some), some);
  std::variant<int, std::string> vi = 5, vs = std::string("five");
  EXPECT_EQ(round_trip(vi), vi);
  EXPECT_EQ(round_trip(vs), vs);
  std::vector<std::vector<int>> nested{{1}, {}, {2, 3, 4}};
  EXPECT_EQ(round_trip(nested), nested);
}

TEST(Serialization, UserStructWithSerializeMember) {
  Particle p{"electron", {1.0, -2.0, 3.5}, {1, 1, 2, 3, 5}, -1.0};
  EXPECT_EQ(round_trip(p), p);
  Particle bare{"photon", {}, {}, std::nullopt};
  EXPECT_EQ(round_trip(bare), bare);
}

TEST(Serialization, NestedUserStructs) {
  Ensemble e;
  e.step = 123456789012345ull;
  for (int i = 0; i < 20; ++i) {
    Particle p{"p" + std::to_string(i), {double(i), double(i) / 2, -double(i)}, std::vector<int>(std::size_t(i), i),
               i % 2 ? std::optional<double>(i) : std::nullopt};
    e.by_name[p.name] = p;
    e.ordered.push_back(p);
  }
  EXPECT_EQ(round_trip(e), e);
}

TEST(Serialization, TruncatedInputThrowsSerializationErrorNamingTheType) {
  auto b = bytes_of(std::vector<double>(10, 1.0));
  try {
    (void)deserialize<std::vector<double>>(b.data, b.size - 1);
    FAIL() << "deserialising truncated bytes did not throw";
  } catch (const raympi::SerializationError& e) {
    EXPECT_NE(std::string(e.what()).find("vector<double"), std::string::npos) << e.what();
  }
  try {
    (void)deserialize<Particle>(b.data, 3);
    FAIL() << "deserialising truncated bytes did not throw";
  } catch (const raympi::SerializationError& e) {
    EXPECT_NE(std::string(e.what()).find("Particle"), std::string::npos) << e.what();
  }
}

TEST(Serialization, SerializationErrorIsARaympiError) {
  auto b = bytes_of(std::string("abc"));
  EXPECT_THROW((void)deserialize<std::string>(b.data, 2), raympi::Error);
}

}  // namespace
