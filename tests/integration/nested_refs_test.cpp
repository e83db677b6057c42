// Integration: nested refs. put(ref) stores the ref itself and gives an
// ObjectRef<ObjectRef<T>>; passed where a task's or actor method's parameter
// is ObjectRef<T>, the outer ref is a dependency that resolves to the inner
// ref (the call receives a handle, not the value); the inner object lives as
// long as the outer one. Each case runs with the consumer on the driver's
// node and (at NP 4) on the other node. Runs at NP 1, 3 and 4.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <raympi/raympi.hpp>

#include "test_support.hpp"

namespace {

using raympi::ObjectRef;
using namespace raympi_test;
using Doubles = std::vector<double>;

// Receives a handle: the inner ref of a nested one, or a plain ref passed as is.
int read_inner(ObjectRef<int> inner) { return raympi::get(inner) + 1000; }
// Where the handle's object was made, and that the call got a handle (not a value).
std::uint64_t inner_id(ObjectRef<int> inner) { return inner.id(); }
double sum_inner(ObjectRef<Doubles> inner) {
  double s = 0;
  for (double x : raympi::get(inner)) s += x;
  return s;
}
// A task that returns a ref: its result is an ObjectRef<ObjectRef<int>>.
ObjectRef<int> make_ref(int v) { return raympi::put(v); }
// Two levels: the parameter is itself a nested ref.
int read_two_levels(ObjectRef<ObjectRef<int>> middle) { return raympi::get(raympi::get(middle)); }

struct Reader {
  int offset = 0;
  int read(ObjectRef<int> inner) const { return raympi::get(inner) + offset; }
};
std::unique_ptr<Reader> make_reader(int offset) { return std::make_unique<Reader>(Reader{offset}); }

}  // namespace

RAYMPI_REMOTE(read_inner, inner_id, sum_inner, make_ref, read_two_levels, make_reader, &Reader::read);

namespace {

// Parameter: whether the consumer runs on the other node.
class NestedRefs : public ::testing::TestWithParam<bool> {
 protected:
  int target() const { return GetParam() ? other_rank() : driver_rank(); }
};

TEST_P(NestedRefs, PutOfARefGivesARefToTheRef) {
  ObjectRef<int> inner = raympi::put(7);
  ObjectRef<ObjectRef<int>> outer = raympi::put(inner);
  ObjectRef<int> back = raympi::get(outer);
  EXPECT_EQ(back, inner) << "get of the outer ref gives the very inner ref";
  EXPECT_EQ(raympi::get(back), 7);
  // put of an lvalue and of an rvalue ref alike; and two levels deep.
  ObjectRef<ObjectRef<ObjectRef<int>>> deep = raympi::put(raympi::put(raympi::put(9)));
  EXPECT_EQ(raympi::get(raympi::get(raympi::get(deep))), 9);
}

TEST_P(NestedRefs, ATaskTakingObjectRefReceivesTheInnerRef) {
  ObjectRef<int> inner = raympi::put(5);
  auto outer = raympi::put(inner);
  // The outer ref is a dependency resolved to the inner ref, wherever the task runs.
  EXPECT_EQ(raympi::get(on_node(read_inner, target()).remote(outer)), 1005);
  EXPECT_EQ(raympi::get(on_node(inner_id, target()).remote(outer)), inner.id());
  // The inner ref passed directly still travels as a handle.
  EXPECT_EQ(raympi::get(on_node(read_inner, target()).remote(inner)), 1005);
  // A nested ref passed where the parameter is the nested type travels as a handle.
  auto deeper = raympi::put(outer);
  EXPECT_EQ(raympi::get(on_node(read_two_levels, target()).remote(outer)), 5);
  EXPECT_EQ(raympi::get(on_node(read_two_levels, target()).remote(deeper)), 5);
}

TEST_P(NestedRefs, ATaskThatReturnsARefFeedsATaskTakingARef) {
  // make_ref runs on one node and puts there; read_inner resolves the
  // returned ref (a dependency) and then fetches the inner object itself.
  ObjectRef<ObjectRef<int>> made = on_node(make_ref, target()).remote(41);
  EXPECT_EQ(raympi::get(on_node(read_inner, driver_rank()).remote(made)), 1041);
  EXPECT_EQ(raympi::get(raympi::get(made)), 41);
}

TEST_P(NestedRefs, AnActorMethodTakingObjectRefReceivesTheInnerRef) {
  auto reader = raympi::actor(make_reader).resource(node_tag(target()), 0.001).remote(100);
  ObjectRef<int> inner = raympi::put(23);
  auto outer = raympi::put(inner);
  EXPECT_EQ(raympi::get(reader.task(&Reader::read).remote(outer)), 123);
  EXPECT_EQ(raympi::get(reader.task(&Reader::read).remote(inner)), 123);
}

TEST_P(NestedRefs, TheInnerObjectLivesAsLongAsTheOuterOne) {
  ObjectRef<ObjectRef<Doubles>> outer;
  std::uint64_t inner_number = 0;
  {
    ObjectRef<Doubles> inner = raympi::put(Doubles(50'000, 2.0));  // 400 KB: a store object
    inner_number = inner.id();
    outer = raympi::put(inner);
  }  // the caller's last handle on the inner object is gone
  // Give frees time to happen if the stored ref did not keep the object.
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ObjectRef<Doubles> again = raympi::get(outer);
  EXPECT_EQ(again.id(), inner_number);
  EXPECT_EQ(raympi::get(again).size(), 50'000u);
  EXPECT_EQ(raympi::get(on_node(sum_inner, target()).remote(outer)), 100'000.0);
}

INSTANTIATE_TEST_SUITE_P(Placement, NestedRefs, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "OtherNode" : "DriverNode"; });

}  // namespace
