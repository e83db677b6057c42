// OwnerTable on its own rank: the owner's side of objects (pending, ready,
// failed, freed), wired to real leaf components of one rank: the object
// table, store, fetcher, GCS client and server, and the loopback transport.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "core/actor_router.hpp"
#include "core/context.hpp"
#include "core/fetcher.hpp"
#include "core/gcs_client.hpp"
#include "core/gcs_server.hpp"
#include "core/object_table.hpp"
#include "core/owner_table.hpp"
#include "store/object_store.hpp"
#include "transport/transport.hpp"
#include "component_support.hpp"

using namespace raympi::detail;

namespace {

using component_test::eventually;
using component_test::Gate;
using component_test::bytes_of;

class OwnerTableTest : public ::testing::Test {
 protected:
  Context cx;
  LoopbackTransport transport{Transport::Tuning{}};
  ObjectStore store;
  ObjectTable objects{0, ObjectTable::Actions{[](int, ObjectId, int) {},
                                              [this](ObjectRecord& r) { owners.free(r); },
                                              [this](ObjectId a) { router.forget(a); }}};
  OwnerTable owners{cx};
  Fetcher fetcher{cx};
  GcsClient gcs{cx};
  ActorRouter router{cx};
  GcsServer server{cx, std::make_unique<Gcs>(std::vector<NodeRecordWire>{}, std::vector<std::string>{})};

  void SetUp() override {
    cx.rank = 0;
    cx.roles = Roles::for_size(1);
    cx.transport = &transport;
    cx.store = &store;
    cx.objects = &objects;
    cx.owners = &owners;
    cx.fetcher = &fetcher;
    cx.gcs = &gcs;
    cx.router = &router;
    cx.gcs_server = &server;
    objects.bind_process();
    // Messages this rank sends itself (location answers) come back through the progress thread.
    transport.start(Transport::Hooks{[this](int src, Buffer msg) {
                                       if (msg_type(msg) == MsgType::locate) owners.on_locate(decode_msg<IdMsg>(msg).id, src);
                                     },
                                     [](Clock::time_point now) { return now + std::chrono::seconds(1); }});
  }
  void TearDown() override { transport.stop(); }

  std::uint64_t live_objects() {
    // Flushed and answered by the server in place: this rank is the GCS.
    return gcs.query(GcsQueryKind::tables).counters["objects_live"];
  }
  RefPtr submit_pending(ObjectId id) {
    RefPtr ref = objects.create_owned(id);
    owners.pending(ref);
    return ref;
  }
};

TEST_F(OwnerTableTest, PutObjectLivesUntilItsLastRefGoes) {
  RefPtr ref = owners.put(bytes_of("hello"), nullptr, nullptr, {});
  ObjectId id = ref.id();
  ASSERT_TRUE(store.get(id));
  EXPECT_EQ(owners.count(), 1u);
  EXPECT_EQ(live_objects(), 1u);
  ref.reset();
  EXPECT_FALSE(store.get(id)) << "freeing the object drops the store's copy";
  EXPECT_EQ(owners.count(), 0u);
  EXPECT_EQ(live_objects(), 0u);
}

TEST_F(OwnerTableTest, WaitersRunWhenThePendingObjectResolves) {
  ObjectId id = owners.next_id();
  RefPtr ref = submit_pending(id);
  std::atomic<int> ran{0};
  owners.when_resolved(ObjectTable::record(ref), [&] { ++ran; });
  EXPECT_EQ(ran.load(), 0) << "still pending";
  store.put(make_error_object(id, ErrorKind::none, ""));
  owners.ready(ObjectTable::record(ref), 0, 8, {});
  EXPECT_EQ(ran.load(), 1);
  owners.when_resolved(ObjectTable::record(ref), [&] { ++ran; });
  EXPECT_EQ(ran.load(), 2) << "a resolved object runs the callback at once";
  EXPECT_EQ(ObjectTable::record(ref).state, ObjectRecord::State::ready);
  EXPECT_EQ(ObjectTable::record(ref).locations.to_vector(), std::vector<int>{0});
}

TEST_F(OwnerTableTest, PendingObjectKeepsItselfUntilItResolves) {
  ObjectId id = owners.next_id();
  RefPtr ref = submit_pending(id);
  RefPtr keep_record = ref;  // the test's own view of the record...
  ObjectRecord* r = &ObjectTable::record(ref);
  keep_record.reset();
  ref.reset();  // ...and every user reference dropped while the task "runs"
  EXPECT_EQ(owners.count(), 1u) << "a pending object outlives its refs";
  ASSERT_TRUE(objects.find(id)) << "its record stays reachable for the task's completion";
  auto result = std::make_shared<StoredObject>();
  result->id = id;
  result->bytes = bytes_of("x");
  store.put(result);
  result.reset();
  owners.ready(*r, 0, 1, {});
  EXPECT_EQ(owners.count(), 0u) << "resolved with no reference left: discarded";
  EXPECT_FALSE(store.get(id));
  EXPECT_FALSE(objects.find(id));
}

TEST_F(OwnerTableTest, FailedObjectBecomesAnErrorObjectForEveryReader) {
  ObjectId id = owners.next_id();
  RefPtr ref = submit_pending(id);
  owners.failed(ObjectTable::record(ref), ErrorKind::task, "raympi::TaskError: boom");
  StoredPtr o = store.get(id);
  ASSERT_TRUE(o);
  EXPECT_EQ(o->error, ErrorKind::task);
  EXPECT_EQ(o->error_message, "raympi::TaskError: boom");
  std::atomic<bool> got{false};
  fetcher.fetch(id, [&](const StoredPtr& f) { got = f->error == ErrorKind::task; });
  EXPECT_TRUE(got.load());
}

TEST_F(OwnerTableTest, FetchOfAPendingOwnedObjectCompletesWhenItIsReady) {
  ObjectId id = owners.next_id();
  RefPtr ref = submit_pending(id);
  std::atomic<bool> got{false};
  std::string seen;
  fetcher.fetch(id, [&](const StoredPtr& o) {
    seen.assign(o->bytes.data, o->bytes.size);
    got = true;
  });
  EXPECT_FALSE(got.load());
  EXPECT_EQ(fetcher.count(), 1u);
  auto result = std::make_shared<StoredObject>();
  result->id = id;
  result->bytes = bytes_of("payload");
  store.put(result);
  owners.ready(ObjectTable::record(ref), 0, 7, {});
  ASSERT_TRUE(eventually([&] { return got.load(); }));
  EXPECT_EQ(seen, "payload");
  EXPECT_EQ(fetcher.count(), 0u);
}

TEST_F(OwnerTableTest, LocateOfAFreedObjectSaysItIsLost) {
  ObjectId id = owners.next_id();
  std::atomic<bool> got{false};
  ErrorKind kind = ErrorKind::none;
  fetcher.fetch(id, [&](const StoredPtr& o) {
    kind = o->error;
    got = true;
  });
  ASSERT_TRUE(eventually([&] { return got.load(); }));
  EXPECT_EQ(kind, ErrorKind::object_lost);
}

TEST_F(OwnerTableTest, LocalityCountsOnlyReadyDependencies) {
  RefPtr a = owners.put(bytes_of(std::string(1000, 'a')), nullptr, nullptr, {});
  RefPtr pending = submit_pending(owners.next_id());
  RefPtr handle_only = owners.put(bytes_of("h"), nullptr, nullptr, {});
  Locality loc = owners.locality_of({a, pending, handle_only}, {a.id(), pending.id()});
  ASSERT_EQ(loc.size(), 1u);
  EXPECT_EQ(loc[0].first, 0);
  EXPECT_EQ(loc[0].second, 1000u);
  // A pending record keeps itself alive until it resolves (LeakSanitizer saw it leak).
  owners.discard(ObjectTable::record(pending));
}

TEST_F(OwnerTableTest, PendingCallKnowsTheActorItKeepsAlive) {
  ObjectId actor = owners.next_id(true);
  RefPtr actor_ref = objects.create_owned(actor);
  RefPtr call = objects.create_owned(owners.next_id());
  owners.pending(call, actor_ref);
  EXPECT_TRUE(owners.pending_call_of(ObjectTable::record(call), actor));
  EXPECT_FALSE(owners.pending_call_of(ObjectTable::record(call), owners.next_id(true)));
  store.put(make_error_object(call.id(), ErrorKind::none, ""));
  owners.ready(ObjectTable::record(call), 0, 0, {});
  EXPECT_FALSE(owners.pending_call_of(ObjectTable::record(call), actor)) << "resolved: keeps nothing";
}

TEST_F(OwnerTableTest, OnlyCountsAndAggregatesReachTheGcs) {
  auto record = [](std::uint64_t n, ErrorKind e, const char* name, double took, int attempts) {
    TaskRecord r;
    r.id = ObjectId::make(0, n).value;
    r.error = int(e);
    r.started = 1.0;
    r.finished = 1.0 + took;
    r.attempts = attempts;
    r.set_name(name);
    return r;
  };
  gcs.record_task(record(1, ErrorKind::none, "f", 0.5, 1));
  gcs.record_task(record(2, ErrorKind::task, "f", 1.5, 3));
  gcs.record_task(record(3, ErrorKind::none, "g", 0.25, 1));
  gcs.bytes_in(100);
  gcs.spilled(7);
  auto counters = gcs.query(GcsQueryKind::tables).counters;
  EXPECT_EQ(counters["tasks_seen"], 3u);
  EXPECT_EQ(counters["tasks_failed"], 1u);
  auto summary = gcs.query(GcsQueryKind::summary);
  ASSERT_EQ(summary.functions.size(), 2u);
  const FunctionStats& f = summary.functions.at("f");
  EXPECT_EQ(f.count, 2u);
  EXPECT_EQ(f.failed, 1u);
  EXPECT_EQ(f.retries, 2u);
  EXPECT_DOUBLE_EQ(f.total_s, 2.0);
  EXPECT_DOUBLE_EQ(f.max_s, 1.5);
  EXPECT_EQ(summary.functions.at("g").count, 1u);
  ASSERT_EQ(summary.node_stats.count(cx.rank), 1u);
  EXPECT_EQ(summary.node_stats.at(cx.rank).tasks, 3u);
  EXPECT_EQ(summary.node_stats.at(cx.rank).bytes_in, 100u);
  EXPECT_EQ(summary.node_stats.at(cx.rank).spilled_bytes, 7u);
  // Sent once: a second flush adds nothing.
  gcs.flush();
  EXPECT_EQ(gcs.query(GcsQueryKind::summary).functions.at("f").count, 2u);
}

}  // namespace
