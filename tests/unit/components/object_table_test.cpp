// ObjectTable on its own: one record per object, distributed reference
// counting (tokens minted, claimed, returned), pins, and the release actions.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "core/object_table.hpp"

using namespace raympi::detail;

namespace {

struct Recorder {
  std::vector<std::tuple<int, ObjectId, int>> returned;  // (minter, id, count)
  std::vector<ObjectId> freed, actors_unreferenced;
};

class ObjectTableTest : public ::testing::Test {
 protected:
  static constexpr int kRank = 2;
  Recorder rec;
  ObjectTable table{kRank, ObjectTable::Actions{
                               [this](int minter, ObjectId id, int n) { rec.returned.emplace_back(minter, id, n); },
                               [this](ObjectRecord& r) { rec.freed.push_back(r.id); },
                               [this](ObjectId a) { rec.actors_unreferenced.push_back(a); }}};
  void SetUp() override { table.bind_process(); }
};

TEST_F(ObjectTableTest, OwnedRecordIsFreedWhenItsLastHandleGoes) {
  ObjectId id = ObjectId::make(kRank, 1);
  RefPtr a = table.create_owned(id);
  EXPECT_TRUE(ObjectTable::record(a).owned);
  RefPtr b = a;  // copies share the record
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(table.size(), 1u);
  a.reset();
  EXPECT_TRUE(rec.freed.empty()) << "one handle is left";
  b.reset();
  ASSERT_EQ(rec.freed.size(), 1u);
  EXPECT_EQ(rec.freed[0], id);
  EXPECT_EQ(table.size(), 0u);
}

TEST_F(ObjectTableTest, FindAndAcquireReachTheSameRecord) {
  ObjectId id = ObjectId::make(kRank, 7);
  RefPtr a = table.create_owned(id);
  RefPtr found = table.find(id);
  RefPtr acquired = table.acquire(id, ObjectId{});
  EXPECT_EQ(found.get(), a.get());
  EXPECT_EQ(acquired.get(), a.get());
  EXPECT_FALSE(table.find(ObjectId::make(kRank, 8))) << "an unknown id has no record";
}

TEST_F(ObjectTableTest, MintedTokensKeepTheObjectUntilReturned) {
  ObjectId id = ObjectId::make(kRank, 2);
  RefPtr a = table.create_owned(id);
  table.mint({a, a});  // two copies left in messages
  a.reset();
  EXPECT_TRUE(rec.freed.empty()) << "two tokens are still out";
  table.return_children(id, 1);
  EXPECT_TRUE(rec.freed.empty()) << "one token is still out";
  table.return_children(id, 1);
  ASSERT_EQ(rec.freed.size(), 1u);
}

TEST_F(ObjectTableTest, ClaimedTokensGoBackToTheirMinterOnce) {
  ObjectId id = ObjectId::make(5, 3);  // owned by rank 5
  auto first = table.claim({id, id}, 5);
  auto second = table.claim({id}, 4);
  EXPECT_EQ(first[0].get(), second[0].get());
  first.clear();
  EXPECT_TRUE(rec.returned.empty());
  second.clear();
  ASSERT_EQ(rec.returned.size(), 2u);
  std::map<int, int> by_minter;
  for (auto& [m, i, n] : rec.returned) {
    EXPECT_EQ(i, id);
    by_minter[m] += n;
  }
  EXPECT_EQ(by_minter[5], 2);
  EXPECT_EQ(by_minter[4], 1);
  EXPECT_TRUE(rec.freed.empty()) << "a borrowed record frees nothing";
}

TEST_F(ObjectTableTest, TokensMintedByThisRankReturnLocally) {
  ObjectId id = ObjectId::make(kRank, 9);
  RefPtr owner = table.create_owned(id);
  table.mint({owner});
  auto borrowed = table.claim({id}, kRank);  // e.g. a task of this rank's own queue
  owner.reset();
  borrowed.clear();
  EXPECT_TRUE(rec.returned.empty()) << "nothing crosses ranks";
  ASSERT_EQ(rec.freed.size(), 1u);
}

TEST_F(ObjectTableTest, RefReadFromAStoredObjectPinsTheContainer) {
  ObjectId container = ObjectId::make(kRank, 10), inner = ObjectId::make(6, 1);
  RefPtr c = table.create_owned(container);
  RefPtr i = table.acquire(inner, container);
  c.reset();
  EXPECT_TRUE(rec.freed.empty()) << "the inner ref pins its container";
  i.reset();
  ASSERT_EQ(rec.freed.size(), 1u);
  EXPECT_EQ(rec.freed[0], container);
}

TEST_F(ObjectTableTest, ActorHandlesReportTheirLastRelease) {
  ObjectId actor = ObjectId::make_actor(kRank, 11);
  RefPtr h = table.create_owned(actor);
  h.reset();
  ASSERT_EQ(rec.actors_unreferenced.size(), 1u);
  EXPECT_EQ(rec.actors_unreferenced[0], actor);
}

TEST_F(ObjectTableTest, DisabledTableSendsNothing) {
  RefPtr a = table.create_owned(ObjectId::make(kRank, 12));
  auto b = table.claim({ObjectId::make(3, 1)}, 3);
  table.disable();
  a.reset();
  b.clear();
  EXPECT_TRUE(rec.freed.empty());
  EXPECT_TRUE(rec.returned.empty());
  EXPECT_EQ(table.size(), 0u);
}

TEST_F(ObjectTableTest, RefsDeserialisedWithoutATableAreAnError) {
  ObjectTable other{1, {}};
  other.bind_process();
  EXPECT_EQ(current_object_table(), &other);
  {
    ObjectTable temp{1, {}};
    temp.bind_process();
  }  // unbinds itself
  EXPECT_EQ(current_object_table(), nullptr);
  EXPECT_THROW(ref_from_wire(ObjectId::make(1, 1)), std::exception);
}

}  // namespace
