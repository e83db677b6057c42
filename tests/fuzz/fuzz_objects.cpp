// Fuzz target: object bytes and task arguments as a node reads them after
// they came from another rank (a pulled or inlined object read through
// StoredObject, a task's argument bytes read by its invoker). The first byte
// picks the type read; the last choice runs sample_task's invoker on the
// bytes with two stored dependencies. Malformed input must be a raympi::Error
// (SerializationError). A value read re-encodes to bytes that read back equal.
#include <array>
#include <deque>
#include <list>
#include <map>
#include <cstring>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <variant>
#include <vector>

#include "core/object_table.hpp"
#include "fuzz_support.hpp"
#include "wire_samples.hpp"

namespace {

using namespace raympi;
using namespace raympi::detail;

enum class Shade : std::uint8_t { light, dark };
struct Shape {  // a user type: cereal serialize member, nested containers, a bool and an enum
  std::string name;
  std::vector<std::pair<float, float>> points;
  bool closed = false;
  Shade shade = Shade::light;
  std::optional<std::map<std::string, double>> tags;
  template <class A>
  void serialize(A& ar) { ar(name, points, closed, shade, tags); }
};

using SharedPair = std::pair<std::shared_ptr<std::vector<int>>, std::shared_ptr<std::vector<int>>>;
using ValueTypes = std::tuple<std::vector<double>, std::string, std::map<std::string, std::vector<std::int32_t>>,
                              std::tuple<int, std::string, std::optional<double>>,
                              std::variant<int, std::string, std::vector<float>>, std::vector<Shape>, SharedPair,
                              std::vector<bool>, std::unordered_map<std::int64_t, std::set<std::string>>,
                              std::deque<std::list<std::uint16_t>>, std::optional<std::array<std::int16_t, 3>>,
                              std::vector<ObjectRef<int>>>;
constexpr std::size_t kValueTypes = std::tuple_size_v<ValueTypes>;

// ObjectRefs read from the bytes resolve through a real reference table (tokens returned, owned objects freed).
ObjectTable& reference_table() {
  static ObjectTable* table = [] {
    auto* t = new ObjectTable(2, ObjectTable::Actions{[](int, ObjectId, int) {}, [](ObjectRecord&) {},
                                                       [](ObjectId) {}});
    t->bind_process();
    return t;
  }();
  return *table;
}

StoredPtr stored(ObjectId id, Buffer bytes) {
  auto o = std::make_shared<StoredObject>();
  o->id = id;
  o->bytes = std::move(bytes);
  return o;
}

template <class T>
void read_value(const Buffer& bytes) {
  StoredPtr o = stored(ObjectId::make(3, 1), bytes);
  T value;
  try {
    value = o->copy<T>();  // what get() does with a pulled object's bytes
  } catch (const Error&) {
    return;
  }
  std::vector<RefPtr> refs;
  Buffer once = serialize_value(value, &refs);
  // Unordered containers re-encode in their own iteration order: those compare as values.
  if constexpr (std::is_same_v<T, std::unordered_map<std::int64_t, std::set<std::string>>>) {
    if (stored(ObjectId::make(3, 2), once)->copy<T>() != value) fuzz::fail("object value", "reads back different");
  } else {
    fuzz::expect_stable(once, [](const Buffer& b) {
      std::vector<RefPtr> r;
      return serialize_value(stored(ObjectId::make(3, 3), b)->copy<T>(), &r);
    }, "object value");
  }
}

template <std::size_t... I>
void read_value_of(std::size_t which, const Buffer& bytes, std::index_sequence<I...>) {
  ((which == I ? read_value<std::tuple_element_t<I, ValueTypes>>(bytes) : void()), ...);
}

// The invoker of sample_task(std::vector<double>, int, std::string) on argument bytes from another rank.
void run_task(const Buffer& args) {
  static const StoredPtr deps[2] = {stored(ObjectId::make(3, 5), wire_samples::serialized(std::vector<double>{1, 2})),
                                    stored(ObjectId::make(3, 6), wire_samples::serialized(7))};
  InArchive ar(args.data, args.size);
  Invocation inv;
  inv.args = &ar;
  inv.deps = deps;
  inv.num_deps = 2;
  try {
    invoke_function<double, std::vector<double>, int, std::string>(
        reinterpret_cast<const void*>(&wire_samples::sample_task), inv);
  } catch (const Error&) {
  }
}

}  // namespace

std::vector<wire_samples::Sample> fuzz_seeds() {
  RefPtr held = reference_table().create_owned(ObjectId::make(2, 8));
  auto shared = std::make_shared<std::vector<int>>(std::vector<int>{1, 2, 3});
  std::map<std::string, double> tags{{"area", 2.5}};
  ValueTypes examples;
  std::get<0>(examples) = {1.5, -2, 1e300};
  std::get<1>(examples) = "hello";
  std::get<2>(examples) = {{"a", {1, 2}}, {"b", {}}};
  std::get<3>(examples) = {7, "seven", 7.5};
  std::get<4>(examples) = std::vector<float>{0.5f};
  std::get<5>(examples) = {Shape{"square", {{0, 0}, {0, 1}, {1, 1}, {1, 0}}, true, Shade::dark, tags}, Shape{}};
  std::get<6>(examples) = {shared, shared};
  std::get<7>(examples) = {true, false, true};
  std::get<8>(examples) = {{-1, {"x", "y"}}};
  std::get<9>(examples) = {{1, 2}, {}, {3}};
  std::get<10>(examples) = std::array<std::int16_t, 3>{4, 5, 6};
  std::get<11>(examples) = {ObjectRef<int>(held), ObjectRef<int>()};
  std::vector<wire_samples::Sample> out;
  auto add = [&](std::uint8_t which, const std::string& name, const Buffer& bytes) {
    char* p = nullptr;
    Buffer b = allocate_buffer(bytes.size + 1, p);
    p[0] = char(which);
    std::memcpy(p + 1, bytes.data, bytes.size);
    out.push_back({name, b});
  };
  [&]<std::size_t... I>(std::index_sequence<I...>) {
    std::vector<RefPtr> refs;
    (add(std::uint8_t(I), "value_" + std::to_string(I), serialize_value(std::get<I>(examples), &refs)), ...);
  }(std::make_index_sequence<kValueTypes>{});
  add(std::uint8_t(kValueTypes), "task_arguments", wire_samples::sample_arguments());
  ByteWriter w;  // the first two parameters as dependencies (encode_argument's layout for an ObjectRef)
  {
    OutArchive ar(w);
    ar(std::uint8_t(kArgDependency), std::uint32_t(0), std::uint8_t(kArgDependency), std::uint32_t(1),
       std::uint8_t(kArgValue), std::string("label"));
  }
  add(std::uint8_t(kValueTypes), "task_arguments_deps", w.finish());
  return out;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  reference_table();
  const Buffer rest = fuzz::received(data + 1, size - 1);
  const std::size_t which = data[0] % (kValueTypes + 1);
  if (which == kValueTypes) run_task(rest);
  else read_value_of(which, rest, std::make_index_sequence<kValueTypes>{});
  return 0;
}
