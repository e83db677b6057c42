// ObjectStore (libraympi/store/object_store.hpp) on its own: put/get/erase,
// accounting, and the memory budget with a real SpillDir (HDF5 files in a
// fresh temporary folder). No raympi::init, no MPI.
#include <gtest/gtest.h>

#include <stdlib.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "store/object_store.hpp"
#include "store/spill.hpp"

namespace {

namespace fs = std::filesystem;
using raympi::detail::Buffer;
using raympi::detail::ErrorKind;
using raympi::detail::make_error_object;
using raympi::detail::ObjectId;
using raympi::detail::ObjectStore;
using raympi::detail::SpillDir;
using raympi::detail::StoredObject;
using raympi::detail::StoredPtr;

ObjectId oid(std::uint64_t n) { return ObjectId::make(0, n); }

// Deterministic, id-dependent bytes (so a mix-up between objects shows).
std::vector<char> pattern(std::uint64_t seed, std::size_t size) {
  std::vector<char> v(size);
  std::uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
  for (auto& c : v) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = char(x);
  }
  return v;
}

StoredPtr make_object(ObjectId id, const std::vector<char>& bytes) {
  auto o = std::make_shared<StoredObject>();
  o->id = id;
  char* data = nullptr;
  o->bytes = raympi::detail::allocate_buffer(bytes.size(), data);
  if (!bytes.empty()) std::memcpy(data, bytes.data(), bytes.size());
  return o;
}

StoredPtr make_object(ObjectId id, std::size_t size) { return make_object(id, pattern(id.value, size)); }

bool same_bytes(const StoredPtr& o, const std::vector<char>& expected) {
  return o && o->bytes.size == expected.size() &&
         (expected.empty() || std::memcmp(o->bytes.data, expected.data(), expected.size()) == 0);
}

// A fresh folder under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/raympi-store-test-XXXXXX";
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed for " + tmpl);
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::set<std::string> files_in(const std::string& folder) {
  std::set<std::string> out;
  std::error_code ec;
  if (!fs::exists(folder, ec)) return out;
  for (auto& e : fs::directory_iterator(folder)) out.insert(e.path().filename().string());
  return out;
}

// A store with a budget and its spill folder in a temporary directory.
struct SpillingStore {
  explicit SpillingStore(std::size_t budget) {
    job_dir = tmp.path() + "/job";
    store.configure(budget, std::make_unique<SpillDir>(job_dir, 0));
  }
  TempDir tmp;
  std::string job_dir;
  ObjectStore store;
};

TEST(ObjectStore, PutGetErase) {
  ObjectStore store;
  auto expected = pattern(1, 123);
  StoredPtr put = store.put(make_object(oid(1), expected));
  ASSERT_TRUE(put);
  EXPECT_EQ(put->id, oid(1));

  StoredPtr got = store.get(oid(1));
  EXPECT_EQ(got, put) << "get hands out the object held, not a copy";
  EXPECT_TRUE(same_bytes(got, expected));
  EXPECT_EQ(store.get(oid(2)), nullptr) << "unknown ids are null";

  store.erase(oid(1));
  EXPECT_EQ(store.get(oid(1)), nullptr);
  EXPECT_EQ(store.count(), 0u);
  EXPECT_EQ(store.bytes(), 0u);
  EXPECT_TRUE(same_bytes(got, expected)) << "a reader's pointer stays valid after erase";
  store.erase(oid(1));  // erasing twice (or an unknown id) is harmless
  EXPECT_EQ(store.count(), 0u);
}

TEST(ObjectStore, PutOfAnExistingIdReturnsTheHeldObject) {
  ObjectStore store;
  auto first_bytes = pattern(10, 64);
  StoredPtr first = store.put(make_object(oid(10), first_bytes));
  StoredPtr second = make_object(oid(10), pattern(11, 200));
  StoredPtr held = store.put(second);
  EXPECT_EQ(held, first) << "the object already held under the id wins";
  EXPECT_NE(held, second);
  EXPECT_TRUE(same_bytes(store.get(oid(10)), first_bytes));
  EXPECT_EQ(store.count(), 1u);
  EXPECT_EQ(store.bytes(), 64u) << "a duplicate put must not count its bytes";
}

TEST(ObjectStore, CountAndBytesAccounting) {
  ObjectStore store;
  store.put(make_object(oid(1), 100));
  store.put(make_object(oid(2), 200));
  store.put(make_object(oid(3), 300));
  EXPECT_EQ(store.count(), 3u);
  EXPECT_EQ(store.bytes(), 600u);
  store.erase(oid(2));
  EXPECT_EQ(store.count(), 2u);
  EXPECT_EQ(store.bytes(), 400u);
  store.erase(oid(99));
  EXPECT_EQ(store.count(), 2u);
  EXPECT_EQ(store.bytes(), 400u);
  store.put(make_object(oid(4), 0));  // empty objects count, with no bytes
  EXPECT_EQ(store.count(), 3u);
  EXPECT_EQ(store.bytes(), 400u);
  EXPECT_EQ(store.spilled_count(), 0u);
  EXPECT_EQ(store.spilled_bytes(), 0u);
  EXPECT_EQ(store.spill_folder(), "") << "no SpillDir configured";
}

TEST(ObjectStore, WithoutASpillDirTheBudgetIsIgnored) {
  ObjectStore store;
  store.configure(100, nullptr);  // a budget without a place to spill means unlimited
  for (std::uint64_t i = 1; i <= 5; ++i) store.put(make_object(oid(i), 1000));
  store.enforce_budget();
  EXPECT_EQ(store.count(), 5u);
  EXPECT_EQ(store.bytes(), 5000u);
  EXPECT_EQ(store.spilled_count(), 0u);
}

TEST(ObjectStore, OverBudgetTheLeastRecentlyUsedUnusedObjectSpills) {
  SpillingStore s(3000);
  ObjectStore& store = s.store;
  store.put(make_object(oid(1), 1000));
  store.put(make_object(oid(2), 1000));
  store.put(make_object(oid(3), 1000));
  EXPECT_EQ(store.spilled_count(), 0u) << "at the budget, not over it";
  EXPECT_TRUE(files_in(store.spill_folder()).empty());
  ASSERT_TRUE(store.get(oid(1)));  // 1 is now more recent than 2 and 3

  store.put(make_object(oid(4), 1000));
  EXPECT_EQ(store.spilled_count(), 1u);
  EXPECT_EQ(store.spilled_bytes(), 1000u);
  EXPECT_EQ(store.bytes(), 3000u);
  EXPECT_EQ(store.count(), 4u) << "spilled objects are still in the store";
  EXPECT_EQ(store.spill_folder(), s.job_dir + "/rank-0");
  auto files = files_in(store.spill_folder());
  ASSERT_EQ(files.size(), 1u);
  const std::string file2 = *files.begin();
  EXPECT_NE(file2.find(std::to_string(oid(2).value)), std::string::npos)
      << "object 2 was the least recently used; spilled file: " << file2;

  // Restoring 2 brings the store over budget again: the least recently used of
  // the others (3) goes out, 2 (held by us) stays.
  StoredPtr two = store.get(oid(2));
  ASSERT_TRUE(two);
  EXPECT_TRUE(same_bytes(two, pattern(oid(2).value, 1000)));
  EXPECT_EQ(store.spilled_count(), 1u);
  EXPECT_EQ(store.bytes(), 3000u);
  files = files_in(store.spill_folder());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_NE(*files.begin(), file2) << "the restored object's file is deleted";
  EXPECT_NE(files.begin()->find(std::to_string(oid(3).value)), std::string::npos) << *files.begin();
  EXPECT_TRUE(same_bytes(store.get(oid(3)), pattern(oid(3).value, 1000)));
}

TEST(ObjectStore, SpilledObjectsComeBackByteExact) {
  SpillingStore s(1);  // everything unused spills
  ObjectStore& store = s.store;
  // Odd sizes, an empty one, and pooled ones (>= 1 MiB, raympi's block pool).
  const std::vector<std::size_t> sizes{1, 7, 4096, 65537, std::size_t(1) << 20, (std::size_t(3) << 20) + 5, 0};
  std::vector<std::vector<char>> expected;
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    expected.push_back(pattern(1000 + i, sizes[i]));
    store.put(make_object(oid(100 + i), expected.back()));
  }
  store.enforce_budget();
  std::size_t nonempty = 0, total = 0;
  for (auto sz : sizes) {
    nonempty += sz > 0;
    total += sz;
  }
  EXPECT_EQ(store.spilled_count(), nonempty) << "every unused non-empty object spills (empty ones need no room)";
  EXPECT_EQ(store.spilled_bytes(), total);
  EXPECT_EQ(store.bytes(), 0u);
  EXPECT_EQ(files_in(store.spill_folder()).size(), nonempty);
  EXPECT_EQ(store.count(), sizes.size());

  for (std::size_t i = 0; i < sizes.size(); ++i) {
    StoredPtr o = store.get(oid(100 + i));
    ASSERT_TRUE(o) << "object " << i;
    EXPECT_EQ(o->id, oid(100 + i));
    EXPECT_EQ(o->error, ErrorKind::none);
    EXPECT_TRUE(same_bytes(o, expected[i])) << "object " << i << " of " << sizes[i] << " bytes differs after restore";
  }
}

TEST(ObjectStore, EraseOfASpilledObjectDeletesItsFile) {
  SpillingStore s(1000);
  ObjectStore& store = s.store;
  store.put(make_object(oid(1), 800));
  store.put(make_object(oid(2), 800));  // over: 1 spills
  ASSERT_EQ(store.spilled_count(), 1u);
  ASSERT_EQ(files_in(store.spill_folder()).size(), 1u);
  EXPECT_EQ(store.count(), 2u);

  store.erase(oid(1));
  EXPECT_EQ(store.spilled_count(), 0u);
  EXPECT_EQ(store.spilled_bytes(), 0u);
  EXPECT_EQ(store.count(), 1u);
  EXPECT_TRUE(files_in(store.spill_folder()).empty()) << "the spill file outlived erase";
  EXPECT_EQ(store.get(oid(1)), nullptr);
  EXPECT_EQ(store.bytes(), 800u) << "erasing a spilled object leaves the in-memory bytes alone";
}

TEST(ObjectStore, ACopyArrivingForASpilledObjectReplacesItsFile) {
  SpillingStore s(1000);
  ObjectStore& store = s.store;
  store.put(make_object(oid(1), 800));
  store.put(make_object(oid(2), 800));
  ASSERT_EQ(store.spilled_count(), 1u);

  auto fresh = pattern(77, 800);
  StoredPtr copy = make_object(oid(1), fresh);
  StoredPtr held = store.put(copy);
  EXPECT_EQ(held, copy) << "the arriving copy is the one held now";
  EXPECT_EQ(store.count(), 2u);
  // The copy pushed the store over budget again: 2 (unused) spills instead.
  EXPECT_EQ(store.spilled_count(), 1u);
  auto files = files_in(store.spill_folder());
  ASSERT_EQ(files.size(), 1u);
  EXPECT_NE(files.begin()->find(std::to_string(oid(2).value)), std::string::npos) << *files.begin();
  EXPECT_TRUE(same_bytes(store.get(oid(1)), fresh));
}

TEST(ObjectStore, AnObjectHeldByAStoredPtrIsNeverSpilled) {
  SpillingStore s(1000);
  ObjectStore& store = s.store;
  StoredPtr a = store.put(make_object(oid(1), 1000));
  StoredPtr b = store.put(make_object(oid(2), 1000));
  store.enforce_budget();
  EXPECT_EQ(store.spilled_count(), 0u) << "both objects are in use";
  EXPECT_EQ(store.bytes(), 2000u) << "over budget until something is released";
  EXPECT_TRUE(files_in(store.spill_folder()).empty());

  // A get holds the object too.
  b.reset();
  StoredPtr b_again = store.get(oid(2));
  store.enforce_budget();
  EXPECT_EQ(store.spilled_count(), 0u);

  b_again.reset();
  store.enforce_budget();
  EXPECT_EQ(store.spilled_count(), 1u);
  EXPECT_EQ(store.bytes(), 1000u);
  EXPECT_EQ(store.get(oid(1)), a) << "the held object stayed in memory (same pointer)";
  EXPECT_TRUE(same_bytes(a, pattern(oid(1).value, 1000)));
}

TEST(ObjectStore, ErrorObjectsAreMadeAndNeverSpilled) {
  StoredPtr e = make_error_object(oid(5), ErrorKind::task, "it broke");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->id, oid(5));
  EXPECT_EQ(e->error, ErrorKind::task);
  EXPECT_EQ(e->error_message, "it broke");
  EXPECT_EQ(e->bytes.size, 0u);

  SpillingStore s(1);
  ObjectStore& store = s.store;
  store.put(std::move(e));
  store.put(make_error_object(oid(6), ErrorKind::actor_died, "gone"));
  store.put(make_object(oid(7), 10));
  store.enforce_budget();
  EXPECT_EQ(store.spilled_count(), 1u) << "only the plain object spills";
  StoredPtr got = store.get(oid(5));
  ASSERT_TRUE(got);
  EXPECT_EQ(got->error, ErrorKind::task);
  EXPECT_EQ(got->error_message, "it broke");
  EXPECT_EQ(store.get(oid(6))->error, ErrorKind::actor_died);
}

TEST(ObjectStore, TheSpillFolderGoesWithTheStore) {
  TempDir tmp;
  const std::string job_dir = tmp.path() + "/job";
  std::string folder;
  {
    ObjectStore store;
    store.configure(100, std::make_unique<SpillDir>(job_dir, 3));
    folder = store.spill_folder();
    EXPECT_EQ(folder, job_dir + "/rank-3");
    EXPECT_FALSE(fs::exists(folder)) << "the folder is made on the first spill only";
    store.put(make_object(oid(1), 100));
    store.put(make_object(oid(2), 100));
    ASSERT_EQ(store.spilled_count(), 1u);
    EXPECT_TRUE(fs::is_directory(folder));
    EXPECT_EQ(fs::status(job_dir).permissions() & fs::perms::all, fs::perms::owner_all) << "job folder is 0700";
  }
  EXPECT_FALSE(fs::exists(folder)) << "the rank's spill folder outlived its store";
  EXPECT_FALSE(fs::exists(job_dir)) << "the last rank removes the job's folder";
}

TEST(SpillDir, ReadingWithTheWrongSizeFailsNamingTheFile) {
  TempDir tmp;
  SpillDir dir(tmp.path() + "/job", 0);
  auto bytes = pattern(3, 100);
  std::string path = dir.write(oid(3), make_object(oid(3), bytes)->bytes);
  EXPECT_TRUE(fs::exists(path));
  Buffer back = dir.read(path, 100);
  ASSERT_EQ(back.size, 100u);
  EXPECT_EQ(std::memcmp(back.data, bytes.data(), 100), 0);
  try {
    dir.read(path, 99);
    ADD_FAILURE() << "a size mismatch must throw";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  dir.remove(path);
  EXPECT_FALSE(fs::exists(path));
}

}  // namespace
