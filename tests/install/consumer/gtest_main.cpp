// A GoogleTest program registered with the installed add_raympi_test():
// it provides its own main() because raympi must be initialised first.
#include <raympi/raympi.hpp>

#include <gtest/gtest.h>

TEST(Consumer, LambdaTask) {
  EXPECT_EQ(raympi::get(raympi::task([](int x) { return x * 2; }).remote(21)), 42);
}

int main(int argc, char** argv) {
  raympi::init(argc, argv);  // returns on the driver rank only
  ::testing::InitGoogleTest(&argc, argv);
  const int status = RUN_ALL_TESTS();
  raympi::shutdown();
  return status;
}
