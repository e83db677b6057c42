// Unit: RAYMPI_REMOTE takes what api.md's registration example names — free
// functions, actor factories (unique_ptr<A> or A*, whose A need not be
// serialisable) and member functions — in one list.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include <raympi/raympi.hpp>

namespace raympi_kinds {
struct Counter {
  explicit Counter(int start) : v(start) {}
  int increment() { return ++v; }
  void reset() { v = 0; }
  int value() const { return v; }
  int v;
};
int add(int a, int b) { return a + b; }
std::unique_ptr<Counter> make_counter(int start) { return std::make_unique<Counter>(start); }
Counter* make_raw_counter(int start) { return new Counter(start); }
}  // namespace raympi_kinds

RAYMPI_REMOTE(raympi_kinds::add, raympi_kinds::make_counter, raympi_kinds::make_raw_counter,
              &raympi_kinds::Counter::increment, &raympi_kinds::Counter::reset, &raympi_kinds::Counter::value);

namespace {

using raympi::detail::find_function;

TEST(RegistrationKinds, FactoriesAreRegisteredUnderTheirNames) {
  auto* f = find_function(reinterpret_cast<const void*>(&raympi_kinds::make_counter));
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->name, "raympi_kinds::make_counter");
  auto* raw = find_function(reinterpret_cast<const void*>(&raympi_kinds::make_raw_counter));
  ASSERT_NE(raw, nullptr);
  EXPECT_NE(f->id, raw->id);
}

TEST(RegistrationKinds, MemberFunctionsGetDistinctIds) {
  auto inc = raympi::detail::Registrar::add(&raympi_kinds::Counter::increment, "&raympi_kinds::Counter::increment");
  auto val = raympi::detail::Registrar::add(&raympi_kinds::Counter::value, "&raympi_kinds::Counter::value");
  EXPECT_EQ(inc->kind, raympi::detail::FunctionKind::method);
  EXPECT_EQ(inc->name, "raympi_kinds::Counter::increment");  // the same record as RAYMPI_REMOTE's
  EXPECT_NE(inc->id, val->id);
}

TEST(RegistrationKinds, FreeFunctionsInTheSameListStillRun) {
  EXPECT_EQ(raympi::get(raympi::task(raympi_kinds::add).remote(40, 2)), 42);
}

}  // namespace
