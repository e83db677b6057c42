// Integration: task failures — TaskError's text, propagation to dependents and
// parents, void tasks, max_retries. Runs at NP 1, 3 and 4 (RAYMPI_NUM_CPUS=4).
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <raympi/raympi.hpp>

#include "test_support.hpp"

namespace raympi_errors_test {
struct ModelDiverged : std::runtime_error {
  using std::runtime_error::runtime_error;
};
}  // namespace raympi_errors_test

namespace {

using raympi::ObjectRef;
using namespace raympi_test;

int thrower(int value) { throw std::invalid_argument("bad value " + std::to_string(value)); }
int throws_custom(int step) { throw raympi_errors_test::ModelDiverged("loss is NaN at step " + std::to_string(step)); }
int throws_int(int) { throw 7; }
int inc(int x) { return x + 1; }
int add(int a, int b) { return a + b; }
void void_thrower(int code) { throw std::runtime_error("void task failed with code " + std::to_string(code)); }
int parent_of_thrower(int value) { return raympi::get(raympi::task(thrower).remote(value)) + 1; }
int parent_catches(int value) {
  try {
    return raympi::get(raympi::task(thrower).remote(value));
  } catch (const raympi::TaskError&) {
    return -1;
  }
}

// Attempt counters of this process, per key. A task throws until its key's
// counter reaches `succeed_at`; retries rerun it on the same node, and the
// pinned `attempts_of` reads the counter there.
std::mutex g_mu;
std::map<int, int> g_attempts;
int flaky(int key, int succeed_at) {
  int attempt;
  {
    std::lock_guard lk(g_mu);
    attempt = ++g_attempts[key];
  }
  if (attempt < succeed_at) throw std::runtime_error("flaky attempt " + std::to_string(attempt));
  return attempt;
}
int attempts_of(int key) {
  std::lock_guard lk(g_mu);
  auto it = g_attempts.find(key);
  return it == g_attempts.end() ? 0 : it->second;
}

}  // namespace

RAYMPI_REMOTE(thrower, throws_custom, throws_int, inc, add, void_thrower, parent_of_thrower, parent_catches, flaky,
              attempts_of);

namespace {

std::string task_error_text(const std::function<void()>& f) {
  try {
    f();
  } catch (const raympi::TaskError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected raympi::TaskError, got: " << e.what();
    return {};
  }
  ADD_FAILURE() << "expected raympi::TaskError, nothing was thrown";
  return {};
}

#define EXPECT_CONTAINS(text, part) \
  EXPECT_NE(std::string(text).find(part), std::string::npos) << "'" << (part) << "' not in: " << (text)

TEST(Errors, TaskErrorCarriesFunctionRankTypeAndMessage) {
  for (int r : node_ranks()) {
    auto ref = on_node(thrower, r).remote(42);
    std::string what = task_error_text([&] { (void)raympi::get(ref); });
    EXPECT_CONTAINS(what, "thrower");
    EXPECT_CONTAINS(what, "rank " + std::to_string(r));
    EXPECT_CONTAINS(what, "std::invalid_argument");
    EXPECT_CONTAINS(what, "bad value 42");
  }
}

TEST(Errors, UserExceptionTypeIsNamed) {
  auto ref = on_node(throws_custom, other_rank()).remote(17);
  std::string what = task_error_text([&] { (void)raympi::get(ref); });
  EXPECT_CONTAINS(what, "throws_custom");
  EXPECT_CONTAINS(what, "ModelDiverged");
  EXPECT_CONTAINS(what, "loss is NaN at step 17");
}

TEST(Errors, NonStdExceptionStillFailsTheTask) {
  auto ref = raympi::task(throws_int).remote(1);
  std::string what = task_error_text([&] { (void)raympi::get(ref); });
  EXPECT_CONTAINS(what, "throws_int");
}

TEST(Errors, TaskErrorIsARaympiError) {
  EXPECT_THROW((void)raympi::get(raympi::task(thrower).remote(1)), raympi::Error);
}

TEST(Errors, PropagatesToDependents) {
  auto bad = raympi::task(thrower).remote(5);
  auto d1 = raympi::task(inc).remote(bad);
  auto d2 = on_node(add, other_rank()).remote(d1, 1);
  auto ok = raympi::task(inc).remote(1);
  std::string what = task_error_text([&] { (void)raympi::get(d2); });
  EXPECT_CONTAINS(what, "thrower");
  EXPECT_CONTAINS(what, "bad value 5");
  EXPECT_CONTAINS(what, "std::invalid_argument");
  EXPECT_THROW((void)raympi::get(d1), raympi::TaskError);
  EXPECT_THROW((void)raympi::get(bad), raympi::TaskError) << "getting it twice rethrows twice";
  EXPECT_EQ(raympi::get(ok), 2) << "an unrelated task is unaffected";
}

TEST(Errors, GetVectorRethrowsAFailure) {
  std::vector<ObjectRef<int>> refs{raympi::task(inc).remote(1), raympi::task(thrower).remote(2),
                                   raympi::task(inc).remote(3)};
  EXPECT_THROW((void)raympi::get(refs), raympi::TaskError);
}

TEST(Errors, PropagatesThroughANestedGet) {
  std::string what = task_error_text([] { (void)raympi::get(raympi::task(parent_of_thrower).remote(9)); });
  EXPECT_CONTAINS(what, "thrower");
  EXPECT_CONTAINS(what, "bad value 9");
  EXPECT_EQ(raympi::get(raympi::task(parent_catches).remote(3)), -1) << "a parent may catch its child's TaskError";
}

TEST(Errors, VoidTaskFailureIsRethrownByGet) {
  ObjectRef<void> done = raympi::task(void_thrower).remote(3);
  std::string what = task_error_text([&] { raympi::get(done); });
  EXPECT_CONTAINS(what, "void_thrower");
  EXPECT_CONTAINS(what, "void task failed with code 3");
  EXPECT_CONTAINS(what, "std::runtime_error");
}

TEST(Errors, FailedObjectsCountAsReadyForWait) {
  auto bad = raympi::task(thrower).remote(1);
  auto wr = raympi::wait(std::vector<ObjectRef<int>>{bad}, 1, std::chrono::seconds(60));
  EXPECT_EQ(wr.ready.size(), 1u);
  EXPECT_THROW((void)raympi::get(bad), raympi::TaskError);
}

// Pinned to the last node: on 4 ranks the retries run on rank 3, not the driver's.
TEST(Errors, MaxRetriesRerunsAFailingTask) {
  int r = other_rank();
  int key = fresh_key();
  // Fails on attempts 1 and 2, succeeds on attempt 3: max_retries(2) allows 3 attempts.
  auto ok = on_node(flaky, r).max_retries(2).remote(key, 3);
  EXPECT_EQ(raympi::get(ok), 3);
  EXPECT_EQ(raympi::get(on_node(attempts_of, r).remote(key)), 3);
}

TEST(Errors, TooFewRetriesFail) {
  int r = other_rank();
  int key = fresh_key();
  auto bad = on_node(flaky, r).max_retries(1).remote(key, 3);
  std::string what = task_error_text([&] { (void)raympi::get(bad); });
  EXPECT_CONTAINS(what, "flaky attempt 2");  // the last attempt's error is final
  EXPECT_EQ(raympi::get(on_node(attempts_of, r).remote(key)), 2);
}

TEST(Errors, NoRetriesByDefault) {
  int r = other_rank();
  int key = fresh_key();
  EXPECT_THROW((void)raympi::get(on_node(flaky, r).remote(key, 2)), raympi::TaskError);
  EXPECT_EQ(raympi::get(on_node(attempts_of, r).remote(key)), 1);
  int key2 = fresh_key();
  EXPECT_EQ(raympi::get(on_node(flaky, r).max_retries(5).remote(key2, 1)), 1) << "a success is not retried";
  EXPECT_EQ(raympi::get(on_node(attempts_of, r).remote(key2)), 1);
}

}  // namespace
