// Unit: the function registry as the front end sees it: unregistered
// functions are refused with a message that says what to add, registered
// functions and captureless lambdas run.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include <raympi/raympi.hpp>

// External linkage on purpose: the library names the function via dladdr.
namespace raympi_unit {
int unregistered_fn(int x) { return x + 1; }
int registered_add(int a, int b) { return a + b; }
int registered_noexcept(int a) noexcept { return -a; }
std::string registered_greet(const std::string& who) { return "hello " + who; }
}  // namespace raympi_unit

namespace {
int unregistered_internal(int x) { return x; }
}  // namespace

RAYMPI_REMOTE(raympi_unit::registered_add, raympi_unit::registered_noexcept, raympi_unit::registered_greet);

namespace {

TEST(Registry, UnregisteredFunctionThrowsNamingRaympiRemote) {
  try {
    (void)raympi::task(raympi_unit::unregistered_fn);
    FAIL() << "task(unregistered_fn) did not throw";
  } catch (const raympi::Error& e) {
    std::string what = e.what();
    EXPECT_NE(what.find("RAYMPI_REMOTE"), std::string::npos) << what;
    EXPECT_NE(what.find("unregistered_fn"), std::string::npos) << what;
  }
}

TEST(Registry, UnregisteredInternalFunctionThrowsToo) {
  try {
    (void)raympi::task(unregistered_internal).remote(1);
    FAIL() << "task(unregistered_internal) did not throw";
  } catch (const raympi::Error& e) {
    EXPECT_NE(std::string(e.what()).find("RAYMPI_REMOTE"), std::string::npos) << e.what();
  }
}

TEST(Registry, RegisteredFunctionsRun) {
  EXPECT_EQ(raympi::get(raympi::task(raympi_unit::registered_add).remote(20, 22)), 42);
  EXPECT_EQ(raympi::get(raympi::task(raympi_unit::registered_noexcept).remote(5)), -5);
  EXPECT_EQ(raympi::get(raympi::task(raympi_unit::registered_greet).remote(std::string("world"))), "hello world");
  EXPECT_EQ(raympi::get(raympi::task(raympi_unit::registered_greet).remote("literal")), "hello literal");
}

TEST(Registry, CapturelessLambdaNeedsNoRegistration) {
  EXPECT_EQ(raympi::get(raympi::task([](int a, int b) { return a * b; }).remote(6, 7)), 42);
  EXPECT_EQ(raympi::get(raympi::task([] { return std::string("no args"); }).remote()), "no args");
  auto square = [](int x) { return x * x; };
  auto r = raympi::task(square).remote(3);
  auto rr = raympi::task(square).remote(r);  // a lambda's result as a dependency
  EXPECT_EQ(raympi::get(rr), 81);
  std::vector<raympi::ObjectRef<int>> refs;
  for (int i = 0; i < 10; ++i) refs.push_back(raympi::task(square).remote(i));
  EXPECT_EQ(raympi::get(refs), (std::vector<int>{0, 1, 4, 9, 16, 25, 36, 49, 64, 81}));
}

}  // namespace
