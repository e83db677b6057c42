#pragma once
// Every decoder of bytes that come from another rank, called as the runtime
// calls it (core/runtime.cpp on_message and the components it dispatches to,
// MpiTransport's batches, init's node-table exchange). Each returns what it
// decoded encoded again by raympi's own encoders, so that callers can check
// that load and save agree: decoding that encoding gives it back unchanged.
// Malformed input is a raympi::Error; anything else (a crash, another
// exception) is a bug. Used by the fuzzers and tests/unit/wire_decoding_test.cpp.

#include <cstring>
#include <string>

#include "core/context.hpp"
#include "core/placement_groups.hpp"
#include "serialization/messages.hpp"
#include "timeline/records_wire.hpp"
#include "transport/batch_frames.hpp"

namespace raympi::wire_decoders {

using detail::Buffer;
using detail::MsgType;

template <class M>
Buffer decode_body(MsgType t, const Buffer& msg) {
  return detail::encode_msg(t, detail::decode_msg<M>(msg));
}

template <class M>
Buffer decode_with_trailing(MsgType t, const Buffer& msg) {
  Buffer trailing;
  M m = detail::decode_msg<M>(msg, &trailing);
  return detail::encode_msg(t, m, &trailing);
}

/// One control message, decoded by the type its first byte names. -Werror=switch
/// in the fuzz build: a MsgType added without its decoder here fails to compile.
inline Buffer decode_control_message(const Buffer& msg) {
  using namespace detail;
  const MsgType t = msg_type(msg);
  switch (t) {
    case MsgType::submit_task:
      decode_body<TaskWire>(t, msg);               // at the GS: the body only
      return decode_with_trailing<TaskWire>(t, msg);  // at the node: with the argument bytes
    case MsgType::task_done: return decode_with_trailing<TaskDoneMsg>(t, msg);
    case MsgType::locate:
    case MsgType::pull:
    case MsgType::add_location:
    case MsgType::actor_release:
    case MsgType::heartbeat: return decode_body<IdMsg>(t, msg);
    case MsgType::location: return decode_with_trailing<LocationMsg>(t, msg);
    case MsgType::data: return decode_with_trailing<DataMsg>(t, msg);
    case MsgType::free_objects: return decode_body<IdsMsg>(t, msg);
    case MsgType::dec_ref: return decode_body<DecRefMsg>(t, msg);
    case MsgType::node_load: return decode_body<NodeLoadMsg>(t, msg);
    case MsgType::gcs_events: return decode_body<GcsEventsMsg>(t, msg);
    case MsgType::gcs_query: return decode_body<GcsQueryMsg>(t, msg);
    case MsgType::gcs_reply: return decode_body<GcsReplyMsg>(t, msg);
    case MsgType::shutdown:
    case MsgType::shutdown_ack:
    case MsgType::shutdown_alive:
    case MsgType::shutdown_final: return decode_body<ShutdownMsg>(t, msg);
    case MsgType::actor_kill: return decode_body<ActorKillMsg>(t, msg);
    case MsgType::actor_caller_done: return decode_body<ActorCallerDoneMsg>(t, msg);
    case MsgType::timeline_request: return decode_body<TimelineRequestMsg>(t, msg);
    case MsgType::timeline_reply: {  // TimelineService::on_reply
      Buffer bytes;
      auto m = decode_msg<TimelineRequestMsg>(msg, &bytes);
      const Buffer records = encode_records(decode_records(bytes, m.tasks, m.edges, m.transfers));
      return encode_msg(t, m, &records);
    }
    case MsgType::node_died: return decode_body<NodeDiedMsg>(t, msg);
    case MsgType::task_placed: return decode_body<TaskPlacedMsg>(t, msg);
    case MsgType::cancel_task: return decode_body<CancelMsg>(t, msg);
    case MsgType::placement_group: return decode_body<PgMsg>(t, msg);
  }
  throw Error("raympi: a message of unknown type " + std::to_string(int(t)) + " (" + std::to_string(msg.size) +
              " bytes)");
}

/// What MpiTransport receives: one control message, or a batch of them
/// (`each` is called with every message of a well-formed batch).
template <class Each>
void for_each_received(const Buffer& mpi_message, Each&& each) {
  if (detail::is_batch(mpi_message)) detail::for_each_batched(mpi_message, each);
  else each(mpi_message);
}

/// One rank's entry of init's node-table exchange (core/lifecycle.cpp exchange_nodes).
inline Buffer decode_node_description(const char* data, std::size_t size) {
  detail::ByteWriter w;
  detail::serialize_into(w, detail::deserialize<detail::NodeDesc>(data, size));
  return w.finish();
}

inline bool same_bytes(const Buffer& a, const Buffer& b) {
  return a.size == b.size && (a.size == 0 || std::memcmp(a.data, b.data, a.size) == 0);
}

}  // namespace raympi::wire_decoders
