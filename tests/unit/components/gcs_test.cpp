// The GCS tables (libraympi/gcs/gcs.hpp) fed by hand-made messages: the node
// table, task counters, the actor table and actor names. No raympi::init, no
// MPI.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "gcs/gcs.hpp"
#include "component_support.hpp"

namespace {

using component_test::eventually;
using component_test::Gate;
using component_test::bytes_of;

using namespace std::chrono_literals;
using raympi::detail::ActorEvent;
using raympi::detail::ActorState;
using raympi::detail::ErrorKind;
using raympi::detail::Gcs;
using raympi::detail::GcsEventsMsg;
using raympi::detail::GcsQueryKind;
using raympi::detail::GcsQueryMsg;
using raympi::detail::GcsReplyMsg;
using raympi::detail::NodeLoadMsg;
using raympi::detail::NodeRecordWire;
using raympi::detail::ObjectId;

NodeRecordWire node(int rank, std::string host, double cpus, double gpus = 0) {
  NodeRecordWire w;
  w.rank = rank;
  w.host = std::move(host);
  w.total = {{"CPU", cpus}, {"GPU", gpus}};
  return w;
}

ObjectId actor_id(std::uint64_t n) { return ObjectId::make_actor(2, n); }

ActorEvent actor_event(ObjectId id, ActorState state, int node = 2, int restarts = 0, std::string message = {}) {
  ActorEvent e;
  e.actor = id;
  e.node = node;
  e.state = state;
  e.restarts = restarts;
  e.actor_class = "Counter";
  e.message = std::move(message);
  return e;
}

GcsEventsMsg actors_batch(int node, std::vector<ActorEvent> events) {
  GcsEventsMsg m;
  m.node = node;
  m.actors = std::move(events);
  return m;
}


// Objects created / freed on a node: GcsEventsMsg carries them as counts.
void objects_created(GcsEventsMsg& m, const std::vector<std::pair<ObjectId, std::uint64_t>>& objects) {
  m.objects_created += objects.size();
}
void objects_freed(GcsEventsMsg& m, const std::vector<ObjectId>& ids) { m.objects_freed += ids.size(); }

GcsReplyMsg ask(Gcs& gcs, std::uint64_t request = 1) {
  GcsQueryMsg q;
  q.request = request;
  q.kind = GcsQueryKind::nodes;
  return gcs.answer(q);
}

const NodeRecordWire* find_node(const GcsReplyMsg& r, int rank) {
  for (auto& n : r.nodes)
    if (n.rank == rank) return &n;
  return nullptr;
}

Gcs two_nodes(std::size_t dead_actor_limit = 100000) {
  return Gcs({node(2, "alpha", 4), node(3, "beta", 8, 2)}, {"f", "g", "h"}, dead_actor_limit);
}

// ---------------------------------------------------------------------------

TEST(Gcs, NodeTableComesFromTheWireRecords) {
  Gcs gcs = two_nodes();
  GcsReplyMsg r = ask(gcs, 42);
  EXPECT_EQ(r.request, 42u) << "the reply names the request";
  ASSERT_EQ(r.nodes.size(), 2u);
  EXPECT_EQ(r.nodes[0].rank, 2);
  EXPECT_EQ(r.nodes[1].rank, 3);
  EXPECT_EQ(r.nodes[0].host, "alpha");
  EXPECT_EQ(r.nodes[1].host, "beta");
  EXPECT_EQ(r.nodes[1].total.at("CPU"), 8.0);
  EXPECT_EQ(r.nodes[1].total.at("GPU"), 2.0);
  EXPECT_EQ(r.nodes[1].available, r.nodes[1].total) << "a fresh node has everything free";
  EXPECT_TRUE(r.nodes[0].alive);
  EXPECT_EQ(r.nodes[0].finished, 0u);
  EXPECT_LT(r.nodes[0].since_heartbeat, 5.0);
  EXPECT_EQ(r.counters.at("functions"), 3u);
  EXPECT_EQ(r.counters.at("tasks_seen"), 0u);
  EXPECT_EQ(r.counters.at("actors_alive"), 0u);
}

TEST(Gcs, LoadReportsUpdateAvailabilityAndFinished) {
  Gcs gcs = two_nodes();
  NodeLoadMsg m;
  m.rank = 3;
  m.available = {{"CPU", 5}, {"GPU", 1}};
  m.finished = 17;
  m.running = 3;
  gcs.on_load(m);
  GcsReplyMsg r = ask(gcs);
  const NodeRecordWire* n3 = find_node(r, 3);
  const NodeRecordWire* n2 = find_node(r, 2);
  ASSERT_TRUE(n3 && n2);
  EXPECT_EQ(n3->available.at("CPU"), 5.0);
  EXPECT_EQ(n3->available.at("GPU"), 1.0);
  EXPECT_EQ(n3->finished, 17u);
  EXPECT_EQ(n3->total.at("CPU"), 8.0) << "a load report leaves the totals alone";
  EXPECT_EQ(n2->available.at("CPU"), 4.0) << "another node's report changed node 2";
  EXPECT_EQ(n2->finished, 0u);

  NodeLoadMsg stranger;
  stranger.rank = 9;
  stranger.available = {{"CPU", 1}};
  gcs.on_load(stranger);
  EXPECT_EQ(ask(gcs).nodes.size(), 2u) << "a report from an unknown rank must not add a node";
}

TEST(Gcs, ANodeDeclaredDeadStaysDeadAndTakesItsActorsAndNames) {
  // Silence alone shows as time since the last heartbeat; the verdict is the
  // membership's (core/membership), recorded by mark_dead, and it is final.
  Gcs gcs = two_nodes();
  ASSERT_TRUE(find_node(ask(gcs), 2)->alive);
  ASSERT_TRUE(eventually([&] { return find_node(ask(gcs), 2)->since_heartbeat > 0.05; }, 10));
  EXPECT_TRUE(find_node(ask(gcs), 2)->alive) << "silence is not a verdict";
  EXPECT_EQ(gcs.register_actor("counter", actor_id(1), "Counter"), "");
  gcs.on_events(actors_batch(2, {actor_event(actor_id(1), ActorState::alive, 2)}));
  gcs.mark_dead(2, "rank 2 (host h), which died (test)");
  EXPECT_FALSE(find_node(ask(gcs), 2)->alive);
  EXPECT_TRUE(find_node(ask(gcs), 3)->alive);
  auto a = gcs.actor(actor_id(1));
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->state, ActorState::dead);
  EXPECT_NE(a->message.find("rank 2"), std::string::npos) << a->message;
  EXPECT_FALSE(gcs.lookup_actor("counter").has_value()) << "the dead actor's name is free again";
  NodeLoadMsg m;
  m.rank = 2;
  m.available = {{"CPU", 4}};
  gcs.on_load(m);
  EXPECT_FALSE(find_node(ask(gcs), 2)->alive) << "a dead node never comes back";
}

TEST(Gcs, TaskCountersAddUpTheNodesCounts) {
  Gcs gcs = two_nodes();
  GcsEventsMsg m;
  m.node = 2;
  m.tasks_finished = 3;
  m.tasks_failed = 1;
  gcs.on_events(m);
  GcsReplyMsg r = ask(gcs);
  EXPECT_EQ(r.counters.at("tasks_seen"), 3u);
  EXPECT_EQ(r.counters.at("tasks_failed"), 1u);
  EXPECT_EQ(r.counters.count("tasks_kept"), 0u) << "the GCS keeps no per-task record";

  m.node = 3;
  m.tasks_finished = 2;
  m.tasks_failed = 1;
  gcs.on_events(m);
  r = ask(gcs);
  EXPECT_EQ(r.counters.at("tasks_seen"), 5u);
  EXPECT_EQ(r.counters.at("tasks_failed"), 2u);
}

TEST(Gcs, ObjectsCreatedThenFreedLeaveObjectsLiveWhereItWas) {
  Gcs gcs = two_nodes();
  auto before = ask(gcs).counters;
  GcsEventsMsg created;
  created.node = 2;
  objects_created(created, {{ObjectId::make(2, 1), 100}, {ObjectId::make(2, 2), 200}, {ObjectId::make(3, 1), 0}});
  gcs.on_events(created);
  auto during = ask(gcs).counters;
  EXPECT_EQ(during.at("objects_live"), before.at("objects_live") + 3);
  EXPECT_EQ(during.at("objects_seen"), before.at("objects_seen") + 3);

  GcsEventsMsg freed;
  freed.node = 2;
  objects_freed(freed, {ObjectId::make(2, 1), ObjectId::make(2, 2), ObjectId::make(3, 1)});
  gcs.on_events(freed);
  auto after = ask(gcs).counters;
  EXPECT_EQ(after.at("objects_live"), before.at("objects_live"));
  EXPECT_EQ(after.at("objects_seen"), before.at("objects_seen") + 3) << "objects_seen counts every object ever";
}

TEST(Gcs, ActorsAreCountedByState) {
  Gcs gcs = two_nodes();
  gcs.on_events(actors_batch(2, {actor_event(actor_id(1), ActorState::pending),
                                 actor_event(actor_id(2), ActorState::alive),
                                 actor_event(actor_id(3), ActorState::alive),
                                 actor_event(actor_id(4), ActorState::restarting, 3, 1, "it crashed")}));
  auto c = ask(gcs).counters;
  EXPECT_EQ(c.at("actors_pending"), 1u);
  EXPECT_EQ(c.at("actors_alive"), 2u);
  EXPECT_EQ(c.at("actors_restarting"), 1u);
  EXPECT_EQ(c.at("actors_dead"), 0u);
  EXPECT_EQ(c.at("actor_restarts"), 1u);

  // Later batches move actors between states.
  gcs.on_events(actors_batch(2, {actor_event(actor_id(1), ActorState::alive),
                                 actor_event(actor_id(4), ActorState::alive, 3, 1),
                                 actor_event(actor_id(3), ActorState::dead, 2, 0, "killed")}));
  c = ask(gcs).counters;
  EXPECT_EQ(c.at("actors_pending"), 0u);
  EXPECT_EQ(c.at("actors_alive"), 3u);
  EXPECT_EQ(c.at("actors_restarting"), 0u);
  EXPECT_EQ(c.at("actors_dead"), 1u);
  EXPECT_EQ(c.at("actor_restarts"), 1u);

  auto four = gcs.actor(actor_id(4));
  ASSERT_TRUE(four);
  EXPECT_EQ(four->node, 3);
  EXPECT_EQ(four->state, ActorState::alive);
  EXPECT_EQ(four->restarts, 1);
  EXPECT_EQ(four->actor_class, "Counter");
  EXPECT_EQ(four->message, "it crashed") << "an event without a message keeps the last one";
  EXPECT_EQ(gcs.actor(actor_id(3))->message, "killed");
  EXPECT_FALSE(gcs.actor(actor_id(99)));
}

TEST(Gcs, RegisterActorRefusesATakenNameNamingTheFix) {
  Gcs gcs = two_nodes();
  EXPECT_EQ(gcs.register_actor("counter", actor_id(1), "Counter"), "");
  gcs.on_events(actors_batch(2, {actor_event(actor_id(1), ActorState::alive, 2)}));
  std::string why = gcs.register_actor("counter", actor_id(2), "Counter");
  ASSERT_FALSE(why.empty()) << "a taken name was given out twice";
  EXPECT_NE(why.find("\"counter\""), std::string::npos) << why;
  EXPECT_NE(why.find("taken"), std::string::npos) << why;
  EXPECT_NE(why.find(std::to_string(actor_id(1).value)), std::string::npos) << "names the holder: " << why;
  EXPECT_NE(why.find("rank 2"), std::string::npos) << why;
  EXPECT_NE(why.find("choose another name"), std::string::npos) << why;
  EXPECT_NE(why.find("kill()"), std::string::npos) << why;
  EXPECT_NE(why.find("get_actor(\"counter\")"), std::string::npos) << why;

  auto found = gcs.lookup_actor("counter");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->first, actor_id(1)) << "a refused registration must not steal the name";
  EXPECT_EQ(found->second, "Counter");
  EXPECT_EQ(ask(gcs).counters.at("actor_names"), 1u);
  EXPECT_EQ(gcs.register_actor("other", actor_id(2), "Counter"), "") << "other names are free";
}

TEST(Gcs, LookupActorFindsLiveNamedActorsOnly) {
  Gcs gcs = two_nodes();
  EXPECT_FALSE(gcs.lookup_actor("nobody"));
  ASSERT_EQ(gcs.register_actor("a", actor_id(1), "ClassA"), "");
  ASSERT_EQ(gcs.register_actor("b", actor_id(2), "ClassB"), "");
  auto a = gcs.lookup_actor("a");
  auto b = gcs.lookup_actor("b");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->first, actor_id(1));
  EXPECT_EQ(a->second, "ClassA");
  EXPECT_EQ(b->first, actor_id(2));
  EXPECT_EQ(b->second, "ClassB");
  auto rec = gcs.actor(actor_id(1));
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->name, "a");
  EXPECT_EQ(rec->state, ActorState::pending);
}

TEST(Gcs, ForgetActorFreesItsName) {
  Gcs gcs = two_nodes();
  ASSERT_EQ(gcs.register_actor("svc", actor_id(1), "Svc"), "");
  gcs.on_events(actors_batch(2, {actor_event(actor_id(1), ActorState::alive)}));
  gcs.forget_actor(actor_id(1));
  EXPECT_FALSE(gcs.lookup_actor("svc"));
  auto rec = gcs.actor(actor_id(1));
  ASSERT_TRUE(rec) << "a dead actor stays in the table for inspection";
  EXPECT_EQ(rec->state, ActorState::dead);
  auto c = ask(gcs).counters;
  EXPECT_EQ(c.at("actors_dead"), 1u);
  EXPECT_EQ(c.at("actors_alive"), 0u);
  EXPECT_EQ(c.at("actor_names"), 0u);

  EXPECT_EQ(gcs.register_actor("svc", actor_id(2), "Svc"), "") << "the name is free again";
  // The old actor's late death report must not free the new holder's name.
  auto unnamed = gcs.on_events(actors_batch(2, {actor_event(actor_id(1), ActorState::dead)}));
  EXPECT_TRUE(unnamed.empty());
  auto found = gcs.lookup_actor("svc");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->first, actor_id(2));
  gcs.forget_actor(actor_id(77));  // unknown: harmless
  EXPECT_EQ(ask(gcs).counters.at("actor_names"), 1u);
}

TEST(Gcs, ADeadNamedActorFreesItsNameAndIsReported) {
  Gcs gcs = two_nodes();
  ASSERT_EQ(gcs.register_actor("named", actor_id(1), "C"), "");
  gcs.on_events(actors_batch(2, {actor_event(actor_id(1), ActorState::alive),
                                 actor_event(actor_id(2), ActorState::alive)}));
  auto unnamed = gcs.on_events(actors_batch(2, {actor_event(actor_id(1), ActorState::dead, 2, 0, "crashed"),
                                                actor_event(actor_id(2), ActorState::dead)}));
  ASSERT_EQ(unnamed.size(), 1u) << "only the named actor is reported";
  EXPECT_EQ(unnamed[0], actor_id(1));
  EXPECT_FALSE(gcs.lookup_actor("named"));
  EXPECT_EQ(ask(gcs).counters.at("actors_dead"), 2u);
  EXPECT_EQ(gcs.actor(actor_id(1))->message, "crashed");

  // A repeated death report is not a second death.
  EXPECT_TRUE(gcs.on_events(actors_batch(2, {actor_event(actor_id(1), ActorState::dead)})).empty());
  EXPECT_EQ(gcs.register_actor("named", actor_id(3), "C"), "");
  EXPECT_EQ(gcs.lookup_actor("named")->first, actor_id(3));
}

TEST(Gcs, DeadActorRecordsAreBoundedByTheTaskLimit) {
  Gcs gcs = two_nodes(/*dead_actor_limit=*/2);
  for (std::uint64_t i = 1; i <= 3; ++i) {
    gcs.on_events(actors_batch(2, {actor_event(actor_id(i), ActorState::alive)}));
    gcs.on_events(actors_batch(2, {actor_event(actor_id(i), ActorState::dead)}));
  }
  gcs.on_events(actors_batch(2, {actor_event(actor_id(10), ActorState::alive)}));
  EXPECT_FALSE(gcs.actor(actor_id(1))) << "the oldest dead actor should have been dropped";
  EXPECT_TRUE(gcs.actor(actor_id(2)));
  EXPECT_TRUE(gcs.actor(actor_id(3)));
  auto c = ask(gcs).counters;
  EXPECT_EQ(c.at("actors_dead"), 2u);
  EXPECT_EQ(c.at("actors_alive"), 1u) << "live actors are never dropped";
}

TEST(Gcs, ActorCountsStayTrueThroughEveryKindOfChange) {
  // The counts are kept as records change (a query does not walk the table):
  // after each change they must equal a count over the records themselves.
  Gcs gcs = two_nodes(/*dead_actor_limit=*/2);
  const std::uint64_t ids = 8;
  auto check = [&](const char* after) {
    std::uint64_t by_state[4] = {0, 0, 0, 0}, restarts = 0;
    for (std::uint64_t i = 1; i <= ids; ++i)
      if (auto a = gcs.actor(actor_id(i))) {
        ++by_state[int(a->state)];
        restarts += std::uint64_t(a->restarts);
      }
    auto c = ask(gcs).counters;
    EXPECT_EQ(c.at("actors_pending"), by_state[int(ActorState::pending)]) << after;
    EXPECT_EQ(c.at("actors_alive"), by_state[int(ActorState::alive)]) << after;
    EXPECT_EQ(c.at("actors_restarting"), by_state[int(ActorState::restarting)]) << after;
    EXPECT_EQ(c.at("actors_dead"), by_state[int(ActorState::dead)]) << after;
    EXPECT_EQ(c.at("actor_restarts"), restarts) << after;
  };
  EXPECT_EQ(gcs.register_actor("named", actor_id(1), "Counter"), "");
  check("a name registered before the actor's first event (a pending record)");
  gcs.on_events(actors_batch(2, {actor_event(actor_id(1), ActorState::alive), actor_event(actor_id(2), ActorState::alive),
                                 actor_event(actor_id(3), ActorState::restarting, 3, 2),
                                 actor_event(actor_id(4), ActorState::alive, 3, 1)}));
  check("first events");
  gcs.on_events(actors_batch(3, {actor_event(actor_id(3), ActorState::alive, 3, 3)}));
  check("a restart counted again");
  gcs.forget_actor(actor_id(1));
  check("forget_actor (kill)");
  gcs.mark_dead(3, "rank 3 (host beta), which died (test)");
  check("a node's death takes its actors");
  for (std::uint64_t i = 5; i <= ids; ++i) {
    gcs.on_events(actors_batch(2, {actor_event(actor_id(i), ActorState::alive)}));
    gcs.on_events(actors_batch(2, {actor_event(actor_id(i), ActorState::dead)}));
  }
  check("dead records beyond the limit dropped");
  EXPECT_EQ(ask(gcs).counters.at("actors_dead"), 2u) << "the limit keeps two dead records";
  EXPECT_EQ(ask(gcs).counters.at("actors_alive"), 1u);
  gcs.on_events(actors_batch(2, {actor_event(actor_id(2), ActorState::dead)}));
  check("a dead event for a dead actor's record again");
}

}  // namespace
