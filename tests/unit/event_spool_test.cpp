// timeline/event_spool: one rank's event log in HDF5 (EventSpool, read_event_log).
// The collective merge (write_merged_log) runs on every rank: event_log_merge.cpp.
#include "timeline/event_spool.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include "raympi/errors.hpp"
#include "test_support.hpp"

namespace fs = std::filesystem;
using namespace raympi::detail;

namespace {

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t0) { return std::chrono::duration<double, std::milli>(Clock::now() - t0).count(); }

// Distinct values in every field, derived from (seed, i).
TaskRecord task(std::uint64_t seed, std::uint64_t i) {
  TaskRecord t;
  t.id = seed * 1'000'003 + i;
  t.actor = i % 3 ? 0 : seed + i;
  t.node = int(seed % 7);
  t.row = int(i % 5) - 2;
  t.kind = int(i % 3);
  t.error = int(i % 11 == 0);
  t.attempts = 1 + int(i % 4);
  t.pu = int(i % 9) - 1;
  t.submitted = double(i) * 0.25 + double(seed);
  t.started = t.submitted + 1e-6;
  t.finished = t.started + 1.0 / double(i + 1);
  t.arg_bytes = i * 17;
  t.result_bytes = i * 31 + seed;
  // Short names, names of exactly kNameBytes-1 characters and longer (truncated) ones.
  std::string name = "fn_" + std::to_string(seed) + "_" + std::to_string(i);
  if (i % 4 == 1) name = std::string(TaskRecord::kNameBytes - 1, char('a' + i % 26));
  if (i % 4 == 2) name = "Class.method_" + std::string(100, 'x') + std::to_string(i);
  t.set_name(name);
  return t;
}
EdgeRecord edge(std::uint64_t seed, std::uint64_t i) { return {seed * 1000 + i, seed * 2000 + i * 7}; }
TransferRecord transfer(std::uint64_t seed, std::uint64_t i) {
  TransferRecord t;
  t.object = seed + i;
  t.bytes = i << 20;
  t.from = int(i % 4);
  t.to = int(seed % 4);
  t.kind = int(i % 3);
  t.pad = 0;
  t.started = double(i);
  t.finished = double(i) + 0.5;
  return t;
}
EventBatch batch(std::uint64_t seed, std::size_t tasks, std::size_t edges, std::size_t transfers) {
  EventBatch b;
  for (std::size_t i = 0; i < tasks; ++i) b.tasks.push_back(task(seed, i));
  for (std::size_t i = 0; i < edges; ++i) b.edges.push_back(edge(seed, i));
  for (std::size_t i = 0; i < transfers; ++i) b.transfers.push_back(transfer(seed, i));
  return b;
}

// Field by field, so that a failure names the record and the field.
void expect_equal(const EventBatch& got, const EventBatch& want) {
  ASSERT_EQ(got.tasks.size(), want.tasks.size());
  ASSERT_EQ(got.edges.size(), want.edges.size());
  ASSERT_EQ(got.transfers.size(), want.transfers.size());
  for (std::size_t i = 0; i < want.tasks.size(); ++i) {
    const TaskRecord &a = got.tasks[i], &b = want.tasks[i];
    bool same = a.id == b.id && a.actor == b.actor && a.node == b.node && a.row == b.row && a.kind == b.kind &&
                a.error == b.error && a.attempts == b.attempts && a.pu == b.pu && a.submitted == b.submitted &&
                a.started == b.started && a.finished == b.finished && a.arg_bytes == b.arg_bytes &&
                a.result_bytes == b.result_bytes && a.name_view() == b.name_view() &&
                std::memcmp(a.name, b.name, TaskRecord::kNameBytes) == 0;
    ASSERT_TRUE(same) << "task " << i << ": id " << a.id << " vs " << b.id << ", name '" << a.name_view()
                      << "' vs '" << b.name_view() << "'";
  }
  for (std::size_t i = 0; i < want.edges.size(); ++i)
    ASSERT_TRUE(got.edges[i].consumer == want.edges[i].consumer && got.edges[i].producer == want.edges[i].producer)
        << "edge " << i;
  for (std::size_t i = 0; i < want.transfers.size(); ++i) {
    const TransferRecord &a = got.transfers[i], &b = want.transfers[i];
    ASSERT_TRUE(a.object == b.object && a.bytes == b.bytes && a.from == b.from && a.to == b.to &&
                a.kind == b.kind && a.pad == b.pad && a.started == b.started && a.finished == b.finished)
        << "transfer " << i;
  }
}

// A fresh folder under TMPDIR (or /tmp), removed at the end.
struct TempDir {
  fs::path dir;
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/raympi-event-spool-XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  std::string file(const std::string& name) const { return (dir / name).string(); }
};

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const raympi::Error& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("NOT a raympi::Error: ") + e.what();
  }
  return "no exception";
}

}  // namespace

TEST(EventSpool, AppendInBatchesThenReadAll) {
  TempDir tmp;
  const std::string path = tmp.file("rank-0.h5");
  EventSpool spool(path);
  EXPECT_EQ(spool.path(), path);
  EXPECT_EQ(spool.records(), 0u);
  EventBatch want;
  // Batches of every shape, some crossing the 4096-record chunks, some with a kind missing.
  const std::size_t shapes[][3] = {{3, 2, 1}, {0, 5, 0}, {5000, 0, 7}, {1, 1, 1}, {4095, 4097, 0}, {0, 0, 0}, {10, 0, 4100}};
  std::uint64_t seed = 1;
  for (const auto& s : shapes) {
    EventBatch b = batch(seed++, s[0], s[1], s[2]);
    spool.append(b);
    want.append(std::move(b));
    EXPECT_EQ(spool.records(), want.size());
  }
  expect_equal(spool.read_all(), want);
  // A reader of the file (here: a second open in this process) sees every flushed batch.
  expect_equal(read_event_log(path), want);
  EXPECT_TRUE(read_rank_counts(path).empty());  // a spool has no "ranks"
}

TEST(EventSpool, ReopenAfterClose) {
  TempDir tmp;
  const std::string path = tmp.file("closed.h5");
  EventBatch want = batch(42, 100, 50, 25);
  {
    EventSpool spool(path);
    spool.append(want);
  }
  expect_equal(read_event_log(path), want);
  // Creating it again truncates.
  EventSpool again(path);
  EXPECT_EQ(again.records(), 0u);
  expect_equal(again.read_all(), EventBatch{});
  expect_equal(read_event_log(path), EventBatch{});
}

TEST(EventSpool, ZeroRecords) {
  TempDir tmp;
  const std::string path = tmp.file("empty.h5");
  EventSpool spool(path);
  spool.append(EventBatch{});
  EXPECT_EQ(spool.records(), 0u);
  EventBatch got = spool.read_all();
  EXPECT_EQ(got.size(), 0u);
  EXPECT_EQ(read_event_log(path).size(), 0u);
}

TEST(EventSpool, HundredThousandTasksRoundTrip) {
  TempDir tmp;
  const std::size_t n = 100'000;
  EventBatch big = batch(7, n, 0, 0);

  // One batch of 100k.
  {
    EventSpool spool(tmp.file("one-batch.h5"));
    auto t0 = Clock::now();
    spool.append(big);
    double one = ms_since(t0);
    t0 = Clock::now();
    EventBatch got = spool.read_all();
    double read = ms_since(t0);
    std::printf("[ timing ] append of 100000 task records in one batch: %.2f ms; read_all: %.2f ms\n", one, read);
    expect_equal(got, big);
  }
  // Ten batches of 10k (the writer thread's usual shape).
  EventSpool spool(tmp.file("ten-batches.h5"));
  double worst = 0, total = 0;
  for (std::size_t b = 0; b < 10; ++b) {
    EventBatch part;
    part.tasks.assign(big.tasks.begin() + std::ptrdiff_t(b * 10'000), big.tasks.begin() + std::ptrdiff_t((b + 1) * 10'000));
    auto t0 = Clock::now();
    spool.append(part);
    double ms = ms_since(t0);
    worst = std::max(worst, ms);
    total += ms;
  }
  std::printf("[ timing ] append of 10 x 10000 task records: %.2f ms in all, %.2f ms the slowest batch\n", total,
              worst);
  EXPECT_EQ(spool.records(), n);
  expect_equal(spool.read_all(), big);
  expect_equal(read_event_log(spool.path()), big);
  // "A few ms" for 10k records; the bound leaves room for a loaded machine.
  EXPECT_LT(worst, 250.0);
}

TEST(EventSpool, MissingFolderThrowsNamingThePath) {
  TempDir tmp;
  const std::string path = tmp.file("no-such-folder/rank-0.h5");
  std::string what = error_of([&] { EventSpool spool(path); });
  EXPECT_NE(what.find(path), std::string::npos) << what;
  EXPECT_EQ(what.find("NOT a raympi::Error"), std::string::npos) << what;
  EXPECT_NE(what.find("No such file or directory"), std::string::npos) << what;  // HDF5's cause
  std::printf("[ message ] %s\n", what.c_str());
}

TEST(EventSpool, ReadOnlyFolderThrowsNamingThePath) {
  TempDir tmp;
  const fs::path ro = tmp.dir / "read-only";
  fs::create_directory(ro);
  // Root ignores permission bits: the folder is made immutable instead (ext4, xfs, ...).
  raympi_test::UnwritableFolder unwritable(ro.string());
  if (!unwritable.ok()) GTEST_SKIP() << "cannot make a read-only folder here (root without FS_IOC_SETFLAGS)";
  const std::string path = (ro / "rank-0.h5").string();
  std::string what = error_of([&] { EventSpool spool(path); });
  EXPECT_NE(what.find(path), std::string::npos) << what;
  EXPECT_EQ(what.find("NOT a raympi::Error"), std::string::npos) << what;
  std::printf("[ message ] %s\n", what.c_str());
}

TEST(EventSpool, UnwritableSystemFolderThrows) {
  // /sys refuses new files even to root.
  const std::string path = "/sys/raympi-event-spool-test.h5";
  std::string what = error_of([&] { EventSpool spool(path); });
  EXPECT_NE(what.find(path), std::string::npos) << what;
  EXPECT_EQ(what.find("NOT a raympi::Error"), std::string::npos) << what;
}

TEST(EventLog, ReadErrorsNameThePath) {
  TempDir tmp;
  const std::string missing = tmp.file("missing.h5");
  std::string what = error_of([&] { read_event_log(missing); });
  EXPECT_NE(what.find(missing), std::string::npos) << what;
  EXPECT_EQ(what.find("NOT a raympi::Error"), std::string::npos) << what;

  // Not HDF5 at all.
  const std::string text = tmp.file("text.h5");
  std::FILE* f = std::fopen(text.c_str(), "w");
  ASSERT_NE(f, nullptr);
  std::fputs("not an HDF5 file\n", f);
  std::fclose(f);
  what = error_of([&] { read_event_log(text); });
  EXPECT_NE(what.find(text), std::string::npos) << what;
  EXPECT_EQ(what.find("NOT a raympi::Error"), std::string::npos) << what;
}

TEST(EventLog, RankLogPath) {
  EXPECT_EQ(rank_log_path("/a/b/log.h5", 3), "/a/b/log.rank3.h5");
  EXPECT_EQ(rank_log_path("/a/b/log", 0), "/a/b/log.rank0");
  EXPECT_EQ(rank_log_path("x.hdf5", 12), "x.hdf5.rank12");
}
