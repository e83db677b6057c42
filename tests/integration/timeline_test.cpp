// Integration: raympi::timeline(path) and raympi::summary() on a real job.
// Runs at NP 1, 3 and 4 with RAYMPI_NUM_CPUS=4 and RAYMPI_EVENT_BUFFER=64, so
// that node ranks spool most records to their HDF5 file and the trace must
// read them back.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <unistd.h>
#include <vector>

#include <raympi/raympi.hpp>

#include "test_support.hpp"

namespace {

using json = nlohmann::json;
using namespace raympi_test;

int timeline_inc(int x) { return x + 1; }
int timeline_add(int a, int b) { return a + b; }
int timeline_fails(int x) { throw std::runtime_error("timeline test failure " + std::to_string(x)); }
std::vector<char> timeline_blob(int n) { return std::vector<char>(std::size_t(n), 'x'); }
std::size_t timeline_size(const std::vector<char>& v) { return v.size(); }

class TimelineCounter {
 public:
  int bump() { return ++n_; }

 private:
  int n_ = 0;
};
TimelineCounter* make_timeline_counter() { return new TimelineCounter; }

}  // namespace

RAYMPI_REMOTE(timeline_inc, timeline_add, timeline_fails, timeline_blob, timeline_size, make_timeline_counter,
              &TimelineCounter::bump);

namespace {

struct Trace {
  json all;
  std::vector<json> spans;                         // "X" events
  std::map<std::pair<int, int>, std::string> rows;  // thread names
  std::map<std::uint64_t, std::pair<json, json>> flows;
  std::vector<json> named(const std::string& name) const {
    std::vector<json> out;
    for (auto& s : spans)
      if (s["name"] == name) out.push_back(s);
    return out;
  }
};

Trace write_trace() {
  std::string path = "/tmp/raympi-timeline-test-" + std::to_string(getpid()) + ".json";
  raympi::timeline(path);
  std::ifstream in(path);
  Trace t;
  t.all = json::parse(in);
  std::remove(path.c_str());
  for (auto& e : t.all.at("traceEvents")) {
    if (e["ph"] == "X") t.spans.push_back(e);
    if (e["ph"] == "M" && e["name"] == "thread_name") t.rows[{e["pid"], e["tid"]}] = e["args"]["name"];
    if (e["ph"] == "s") t.flows[e["id"]].first = e;
    if (e["ph"] == "f") t.flows[e["id"]].second = e;
  }
  return t;
}

TEST(Timeline, EveryTaskIsASpanOnANamedRowWithItsDetails) {
  std::vector<raympi::ObjectRef<int>> refs;
  for (int i = 0; i < 300; ++i) refs.push_back(raympi::task(timeline_inc).remote(i));  // 300 records: spooled
  ASSERT_EQ(raympi::get(refs).back(), 300);
  Trace t = write_trace();
  auto incs = t.named("timeline_inc");
  ASSERT_GE(incs.size(), 300u) << "every task of the job so far, the spooled ones too";
  const std::vector<int> nodes = node_ranks();
  const std::set<int> node_set(nodes.begin(), nodes.end());
  for (auto& s : incs) {
    EXPECT_EQ(s["cat"], "task");
    EXPECT_TRUE(node_set.count(s["pid"].get<int>())) << s.dump();
    EXPECT_TRUE(t.rows.count({s["pid"], s["tid"]})) << "every row is named: " << s.dump();
    EXPECT_GE(s["dur"].get<double>(), 0.0);
    EXPECT_GE(s["ts"].get<double>(), s["args"]["submitted_us"].get<double>() - 50.0)
        << "starts after it was submitted (clocks agree within the bound)";
    EXPECT_EQ(s["args"]["result_bytes"].get<int>(), int(sizeof(int))) << "an int result, raw bytes: " << s.dump();
    EXPECT_TRUE(s["args"].contains("task_id"));
    EXPECT_TRUE(s["args"].contains("queue_wait_us"));
  }
  EXPECT_TRUE(t.all["otherData"].contains("clock_error_us"));
  for (auto& [row, name] : t.rows)
    if (row.second >= 0 && row.second < 999999) EXPECT_EQ(name.rfind("worker ", 0), 0u) << name;
}

TEST(Timeline, DependenciesAreFlowArrowsFromProducerToConsumer) {
  auto a = on_node(timeline_inc, driver_rank()).remote(1);
  auto b = on_node(timeline_inc, other_rank()).remote(2);
  auto c = on_node(timeline_add, driver_rank()).remote(a, b);
  ASSERT_EQ(raympi::get(c), 5);
  Trace t = write_trace();
  auto adds = t.named("timeline_add");
  ASSERT_FALSE(adds.empty());
  const json& add = adds.back();
  int arrows_in = 0, crossing = 0;
  for (auto& [id, ends] : t.flows) {
    ASSERT_FALSE(ends.first.is_null()) << "flow " << id << " has its start";
    ASSERT_FALSE(ends.second.is_null()) << "flow " << id << " has its end";
    EXPECT_EQ(ends.second["bp"], "e");
    if (ends.second["pid"] == add["pid"] && ends.second["tid"] == add["tid"] && ends.second["ts"] == add["ts"]) {
      ++arrows_in;
      crossing += ends.first["pid"] != ends.second["pid"];
    }
  }
  EXPECT_EQ(arrows_in, 2) << "one arrow per input";
  EXPECT_EQ(crossing, driver_rank() == other_rank() ? 0 : 1) << "the input made on the other node";
}

TEST(Timeline, ErrorsRetriesAndActorRows) {
  auto bad = raympi::task(timeline_fails).remote(7);
  EXPECT_THROW(raympi::get(bad), raympi::TaskError);
  auto retried = raympi::task(timeline_fails);
  retried.max_retries(2);
  EXPECT_THROW(raympi::get(retried.remote(8)), raympi::TaskError);
  auto counter = raympi::actor(make_timeline_counter).remote();
  for (int i = 0; i < 3; ++i) raympi::get(counter.task(&TimelineCounter::bump).remote());
  Trace t = write_trace();
  auto fails = t.named("timeline_fails");
  ASSERT_GE(fails.size(), 2u);
  std::set<int> attempts;
  for (auto& f : fails) {
    EXPECT_EQ(f["args"]["error"], "task");
    attempts.insert(f["args"]["attempts"].get<int>());
  }
  EXPECT_TRUE(attempts.count(1) && attempts.count(3)) << "one run, and three (two retries)";
  auto bumps = t.named("TimelineCounter::bump");
  ASSERT_EQ(bumps.size(), 3u);
  std::pair<int, int> row{bumps[0]["pid"], bumps[0]["tid"]};
  for (auto& b : bumps) {
    EXPECT_EQ(b["cat"], "actor_call");
    EXPECT_EQ(std::make_pair(b["pid"].get<int>(), b["tid"].get<int>()), row) << "one row per actor";
  }
  ASSERT_TRUE(t.rows.count(row));
  EXPECT_EQ(t.rows[row].rfind("TimelineCounter#", 0), 0u) << t.rows[row];
  int creations = 0;
  for (auto& s : t.spans)
    if (s["cat"] == "actor_create" && s["pid"] == row.first && s["tid"] == row.second) ++creations;
  EXPECT_EQ(creations, 1);
}

TEST(Timeline, PulledObjectsAreTransferSpansAndTaskArguments) {
  if (driver_rank() == other_rank()) GTEST_SKIP() << "one node: nothing moves between ranks";
  const int n = 1 << 20;
  auto blob = on_node(timeline_blob, other_rank()).remote(n);
  ASSERT_EQ(raympi::get(on_node(timeline_size, driver_rank()).remote(blob)), std::size_t(n));
  Trace t = write_trace();
  bool pulled = false;
  for (auto& s : t.spans)
    if (s["cat"] == "transfer" && s["pid"] == driver_rank() && s["args"]["from"] == other_rank() &&
        s["args"]["bytes"].get<std::uint64_t>() >= std::uint64_t(n)) {
      pulled = true;
      EXPECT_TRUE(t.rows.count({s["pid"], s["tid"]}));
    }
  EXPECT_TRUE(pulled) << "the 1 MiB pull appears on the driver node's transport row";
  auto sizes = t.named("timeline_size");
  ASSERT_FALSE(sizes.empty());
  const json& args = sizes.back()["args"];
  ASSERT_TRUE(args.contains("fetched")) << args.dump();
  EXPECT_EQ(args["fetched"][0]["from"], other_rank());
  EXPECT_GE(args["arg_bytes"].get<std::uint64_t>(), std::uint64_t(n));
}

TEST(Timeline, SummaryCountsPerFunctionAndNode) {
  std::vector<raympi::ObjectRef<int>> refs;
  for (int i = 0; i < 50; ++i) refs.push_back(raympi::task(timeline_inc).remote(i));
  raympi::get(refs);
  EXPECT_THROW(raympi::get(raympi::task(timeline_fails).remote(1)), raympi::TaskError);
  std::string s;
  ASSERT_TRUE(eventually([&] {  // other nodes' aggregates arrive within their 5 ms batches
    s = raympi::summary();
    return s.find("timeline_inc") != std::string::npos && s.find("timeline_fails") != std::string::npos;
  })) << s;
  EXPECT_NE(s.find("tasks and actor calls"), std::string::npos) << s;
  for (int r : node_ranks()) EXPECT_NE(s.find("rank " + std::to_string(r)), std::string::npos) << s;
  EXPECT_NE(s.find("objects:"), std::string::npos) << s;
}

TEST(Timeline, UnwritablePathIsAClearError) {
  try {
    raympi::timeline("/nonexistent-folder/trace.json");
    FAIL() << "no error";
  } catch (const raympi::Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent-folder/trace.json"), std::string::npos) << e.what();
  }
}

}  // namespace
