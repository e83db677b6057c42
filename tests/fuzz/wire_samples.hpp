#pragma once
// Real wire bytes of every kind a rank receives from another one, made by
// raympi's own encoders (encode_msg, encode_task, write_batch,
// encode_records, serialize_into, encode_arguments). They seed the fuzzers'
// corpora (tests/fuzz/make_corpus.cpp) and feed the unit test that truncates
// and corrupts them (tests/unit/wire_decoding_test.cpp).

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/context.hpp"
#include "core/placement_groups.hpp"
#include "raympi/task.hpp"
#include "serialization/messages.hpp"
#include "timeline/records_wire.hpp"
#include "transport/batch_frames.hpp"

namespace raympi::wire_samples {

using detail::Buffer;
using detail::MsgType;
using detail::ObjectId;

struct Sample {
  std::string name;
  Buffer bytes;
};

/// A function for the sample tasks; the caller registers it (RAYMPI_REMOTE) so that its id resolves.
inline double sample_task(std::vector<double> xs, int n, std::string label) {
  return double(xs.size()) + n + double(label.size());
}

inline Buffer serialized(auto const& value) {
  detail::ByteWriter w;
  detail::serialize_into(w, value);
  return w.finish();
}

/// The task arguments of sample_task({1.5, 2.5}, 7, "label"), as a node encodes them.
inline Buffer sample_arguments() {
  detail::TaskSubmission sub;
  detail::encode_arguments(&sample_task, sub, std::vector<double>{1.5, 2.5}, 7, std::string("label"));
  return sub.spec.args;
}

inline detail::EventBatch sample_records() {
  detail::EventBatch b;
  detail::TaskRecord t;
  t.id = ObjectId::make(2, 5).value;
  t.node = 2;
  t.submitted = 0.001;
  t.started = 0.002;
  t.finished = 0.004;
  t.arg_bytes = 24;
  t.set_name("sample_task");
  b.tasks.push_back(t);
  t.id = ObjectId::make(2, 6).value;
  t.actor = ObjectId::make_actor(2, 1).value;
  t.kind = 2;
  t.error = int(detail::ErrorKind::task);
  t.set_name("Counter.add");
  b.tasks.push_back(t);
  b.edges.push_back({ObjectId::make(2, 6).value, ObjectId::make(2, 5).value});
  detail::TransferRecord x;
  x.object = ObjectId::make(3, 1).value;
  x.bytes = 4096;
  x.from = 3;
  x.to = 2;
  x.started = 0.001;
  x.finished = 0.0015;
  b.transfers.push_back(x);
  return b;
}

/// One control message of every MsgType (some in two shapes), as their senders encode them.
inline std::vector<Sample> control_messages(const detail::FunctionInfo* fn) {
  using namespace detail;
  std::vector<Sample> out;
  const ObjectId id = ObjectId::make(2, 42), actor = ObjectId::make_actor(3, 7);
  const Buffer inline_bytes = serialized(std::string("an inline object"));

  TaskSpec spec;
  spec.id = id;
  spec.fn = fn;
  spec.demand.custom = {{"Custom1", 0.5}};
  spec.max_retries = 2;
  spec.args = sample_arguments();
  spec.deps = {ObjectId::make(3, 1)};
  spec.submitted_at = 0.25;
  out.push_back({"submit_task", encode_task(spec, 2, {ObjectId::make(3, 1)}, {{3, 4096}})});
  spec.kind = TaskKind::actor_call;
  spec.actor = actor;
  spec.caller = 11;
  spec.call_seq = 3;
  out.push_back({"submit_actor_call", encode_task(spec, 2, {actor}, {})});
  spec.kind = TaskKind::actor_create;
  spec.actor_spec.name = "counter";
  spec.actor_spec.max_restarts = 1;
  out.push_back({"submit_actor_create", encode_task(spec, 2, {}, {})});

  TaskDoneMsg done{id, 3, ErrorKind::none, "", true, inline_bytes.size, {ObjectId::make(3, 9)}};
  out.push_back({"task_done_inline", encode_msg(MsgType::task_done, done, &inline_bytes)});
  done = TaskDoneMsg{id, 3, ErrorKind::task, "raympi::TaskError: it threw", false, 0, {}};
  out.push_back({"task_done_error", encode_msg(MsgType::task_done, done)});
  out.push_back({"locate", encode_msg(MsgType::locate, IdMsg{id})});
  LocationMsg loc{id, LocState::ready, {2, 3}, ErrorKind::none, "", true};
  out.push_back({"location_inline", encode_msg(MsgType::location, loc, &inline_bytes)});
  loc = LocationMsg{id, LocState::failed, {}, ErrorKind::object_lost, "lost", false};
  out.push_back({"location_failed", encode_msg(MsgType::location, loc)});
  out.push_back({"pull", encode_msg(MsgType::pull, IdMsg{id})});
  DataMsg data{id, true, ErrorKind::none, "", 0, inline_bytes.size};
  out.push_back({"data", encode_msg(MsgType::data, data, &inline_bytes)});
  data = DataMsg{id, true, ErrorKind::none, "", 77, 1 << 20};
  out.push_back({"data_ucx", encode_msg(MsgType::data, data)});
  out.push_back({"add_location", encode_msg(MsgType::add_location, IdMsg{id})});
  out.push_back({"free_objects", encode_msg(MsgType::free_objects, IdsMsg{{id, ObjectId::make(2, 43)}})});
  out.push_back({"dec_ref", encode_msg(MsgType::dec_ref, DecRefMsg{{{id, 2}, {actor, 1}}})});
  NodeLoadMsg load{2, {{"CPU", 3.0}, {"Custom1", 1.5}}, 4, 2, 100};
  out.push_back({"node_load", encode_msg(MsgType::node_load, load)});
  GcsEventsMsg events;
  events.node = 2;
  events.tasks_finished = 10;
  events.objects_created = 4;
  events.actors.push_back({actor, 3, ActorState::alive, 0, "Counter", ""});
  events.functions["sample_task"] = FunctionStats{10, 1, 0, 0.5, 0.1};
  events.node_stats = NodeStats{10, 0.5, 4096, 0, 0, 0};
  out.push_back({"gcs_events", encode_msg(MsgType::gcs_events, events)});
  GcsQueryMsg query{5, GcsQueryKind::actor_register, "counter", actor, "Counter", 3};
  out.push_back({"gcs_query", encode_msg(MsgType::gcs_query, query)});
  GcsReplyMsg reply;
  reply.request = 5;
  reply.nodes.push_back({2, "host-a", {{"CPU", 4.0}}, {{"CPU", 3.0}}, true, 0.2, 10});
  reply.counters["objects_live"] = 3;
  reply.actor = actor;
  reply.actor_class = "Counter";
  reply.minter = 1;
  reply.functions["sample_task"] = FunctionStats{10, 1, 0, 0.5, 0.1};
  reply.node_stats[2] = NodeStats{10, 0.5, 4096, 0, 0, 0};
  out.push_back({"gcs_reply", encode_msg(MsgType::gcs_reply, reply)});
  out.push_back({"shutdown", encode_msg(MsgType::shutdown, ShutdownMsg{0, {4}})});
  out.push_back({"shutdown_ack", encode_msg(MsgType::shutdown_ack, ShutdownMsg{})});
  out.push_back({"shutdown_alive", encode_msg(MsgType::shutdown_alive, ShutdownMsg{})});
  out.push_back({"shutdown_final", encode_msg(MsgType::shutdown_final, ShutdownMsg{})});
  out.push_back({"actor_kill", encode_msg(MsgType::actor_kill, ActorKillMsg{actor, false, "killed by the test"})});
  out.push_back({"actor_release", encode_msg(MsgType::actor_release, IdMsg{actor})});
  out.push_back({"actor_caller_done", encode_msg(MsgType::actor_caller_done, ActorCallerDoneMsg{actor, 11, 3})});
  out.push_back({"timeline_request", encode_msg(MsgType::timeline_request, TimelineRequestMsg{1, -1, 0, 0, 0})});
  const EventBatch records = sample_records();
  const Buffer record_bytes = encode_records(records);
  TimelineRequestMsg counts{1, 2, records.tasks.size(), records.edges.size(), records.transfers.size()};
  out.push_back({"timeline_reply", encode_msg(MsgType::timeline_reply, counts, &record_bytes)});
  out.push_back({"heartbeat", encode_msg(MsgType::heartbeat, IdMsg{})});
  out.push_back({"node_died", encode_msg(MsgType::node_died, NodeDiedMsg{3, "heartbeat timeout"})});
  out.push_back({"task_placed", encode_msg(MsgType::task_placed, TaskPlacedMsg{{id, ObjectId::make(2, 43)}, {3, 4}})});
  out.push_back({"cancel_task", encode_msg(MsgType::cancel_task, CancelMsg{id, true, true})});
  {
    PgMsg pg;
    pg.op = PgOp::update;
    pg.id = 7;
    pg.txn = 2;
    pg.name = "train";
    pg.strategy = 3;
    pg.state = 1;
    pg.bundles = {{{"CPU", 2}}, {{"CPU", 1}, {"GPU", 1}}};
    pg.nodes = {2, 3};
    pg.message = "placed";
    out.push_back({"placement_group", encode_msg(MsgType::placement_group, pg)});
  }

  // Several small messages to one rank travel as one batch (MpiTransport).
  std::vector<Buffer> batched = {out[4].bytes, out[5].bytes, out[12].bytes};
  char* p = nullptr;
  Buffer batch = allocate_buffer(batch_bytes(batched.data(), batched.size()), p);
  write_batch(p, batched.data(), batched.size());
  out.push_back({"batch", batch});
  return out;
}

/// What the node-table exchange at init sends: one rank's NodeDesc.
inline Buffer node_description() {
  detail::NodeDesc d;
  d.rank = 2;
  d.host = "node-a";
  d.total.cpu = 4;
  d.total.custom = {{"Custom1", 4.0}, {"node:2", 1.0}};
  d.cpuset = "0-3";
  d.pus = 4;
  d.cores = 2;
  d.gpus.push_back({"NVIDIA H100", "0000:17:00.0", "NVIDIA", "GPU-1234", 0});
  d.pinned = true;
  return serialized(d);
}

}  // namespace raympi::wire_samples
