#pragma once
// Control-plane messages. One byte of type, a cereal body, and for messages
// that carry object or argument bytes a trailing raw block that the receiver
// views in place (no copy out of the MPI receive buffer).

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "raympi/detail/archive.hpp"
#include "raympi/detail/object_store_view.hpp"
#include "raympi/detail/runtime_api.hpp"
#include "raympi/errors.hpp"

namespace raympi::detail {

/// Objects up to this size ride inside control messages (results to their
/// owner, location answers) instead of being pulled from a holder.
inline constexpr std::size_t kInlineObjectBytes = 100 * 1024;

enum class MsgType : std::uint8_t {
  submit_task = 1,  // TaskWire + args: node -> GS -> node
  task_done,        // TaskDoneMsg [+ bytes]: executor -> owner
  locate,           // IdMsg: requester -> owner
  location,         // LocationMsg [+ bytes]: owner -> requester
  pull,             // IdMsg: requester -> holder
  data,             // DataMsg [+ bytes]: holder -> requester
  add_location,     // IdMsg: new holder -> owner
  free_objects,     // IdsMsg: owner -> holders
  dec_ref,          // DecRefMsg: borrower -> minter
  node_load,        // NodeLoadMsg: node -> GS, GCS
  gcs_events,       // GcsEventsMsg: node -> GCS
  gcs_query,        // GcsQueryMsg: any -> GCS
  gcs_reply,        // GcsReplyMsg: GCS -> asker
  shutdown,         // ShutdownMsg: driver -> all
  shutdown_ack,     // ShutdownMsg: all -> driver
  actor_kill,       // ActorKillMsg: any -> the actor's node
  actor_release,    // IdMsg: the actor id's owner -> the actor's node (no handle left)
  actor_caller_done,  // ActorCallerDoneMsg: a caller that forgot its route -> the actor's node
  timeline_request,   // TimelineRequestMsg: driver -> node ranks
  timeline_reply,     // TimelineRequestMsg + the node's records as raw bytes: node -> driver
  heartbeat,          // empty: every rank -> GCS, GCS -> every rank (core/membership)
  node_died,          // NodeDiedMsg: GCS -> every live rank; a rank that saw a peer break -> GCS
  task_placed,        // TaskPlacedMsg: GS -> owner (where the GS sent the owner's tasks)
  shutdown_alive,     // ShutdownMsg, every heartbeat period of the shutdown: a rank still finishing -> driver; driver -> ranks that acknowledged
  shutdown_final,     // ShutdownMsg: driver -> every rank that acknowledged, once all did: on to the closing barrier
  cancel_task,        // CancelMsg: any -> the task's owner -> the node that has it (core/cancellation)
  placement_group,    // PgMsg: creator <-> GS <-> nodes (core/placement_groups)
};

/// @brief A rank of the job is dead (declared by the GCS, or suspected by a peer).
struct NodeDiedMsg {
  std::int32_t rank = -1;
  std::string reason;  // what showed it: the heartbeat timeout, a broken endpoint
  template <class A>
  void serialize(A& ar) { ar(rank, reason); }
};

/// @brief The nodes the GS chose for an owner's tasks (sent in batches), so
/// that the owner knows which of its tasks a node's death takes with it.
struct TaskPlacedMsg {
  std::vector<ObjectId> ids;
  std::vector<std::int32_t> nodes;  // nodes[i] runs ids[i]
  template <class A>
  void serialize(A& ar) { ar(ids, nodes); }
};

/// @brief Asks a node rank for its event records (timeline) / says whose they are.
struct TimelineRequestMsg {
  std::uint64_t request = 0;
  std::int32_t node = -1;
  std::uint64_t tasks = 0, edges = 0, transfers = 0;  // reply: record counts in the trailing bytes
  template <class A>
  void serialize(A& ar) { ar(request, node, tasks, edges, transfers); }
};


using Locality = std::vector<std::pair<std::int32_t, std::uint64_t>>;  // rank -> argument bytes there

/// @brief A task on the wire (submit_task): its TaskSpec plus what only the
/// wire needs; the argument bytes follow as the message's trailing block.
struct TaskWire {
  TaskSpec spec;
  std::int32_t minter = -1;     // the rank that minted one token per entry of `refs`
  std::vector<ObjectId> refs;   // every ref the task carries (dependencies and handles)
  Locality locality;            // where its dependencies' bytes are, for the GS
  template <class A>
  void serialize(A& ar) { ar(spec, minter, refs, locality); }
};

/// @brief raympi::cancel of a task or actor call: to its owner, then to the node that has it.
struct CancelMsg {
  ObjectId id;
  bool recursive = true;     // its children too
  bool at_executor = false;  // false: to the owner (it routes it); true: to the node that has the task
  template <class A>
  void serialize(A& ar) { ar(id, recursive, at_executor); }
};

struct ActorKillMsg {
  ObjectId actor;
  bool no_restart = true;
  std::string reason;
  template <class A>
  void serialize(A& ar) { ar(actor, no_restart, reason); }
};

struct ActorCallerDoneMsg {
  ObjectId actor;
  std::uint64_t caller = 0, calls = 0;
  template <class A>
  void serialize(A& ar) { ar(actor, caller, calls); }
};

enum class ActorState : std::uint8_t { pending, alive, restarting, dead };
RAYMPI_WIRE_ENUM(ActorState, ActorState::dead)  // the last ActorState: keep in step

/// A change of an actor's state, node -> GCS actor table.
struct ActorEvent {
  ObjectId actor;
  std::int32_t node = -1;
  ActorState state = ActorState::pending;
  std::int32_t restarts = 0;
  std::string actor_class;
  std::string message;
  template <class A>
  void serialize(A& ar) { ar(actor, node, state, restarts, actor_class, message); }
};

struct TaskDoneMsg {
  ObjectId id;
  std::int32_t executor = -1;
  ErrorKind error = ErrorKind::none;
  std::string message;
  bool inlined = false;
  std::uint64_t size = 0;
  std::vector<ObjectId> contained;  // minted by executor
  template <class A>
  void serialize(A& ar) { ar(id, executor, error, message, inlined, size, contained); }
};

struct IdMsg {
  ObjectId id;
  template <class A>
  void serialize(A& ar) { ar(id); }
};

struct IdsMsg {
  std::vector<ObjectId> ids;
  template <class A>
  void serialize(A& ar) { ar(ids); }
};

enum class LocState : std::uint8_t { ready, failed, lost };
RAYMPI_WIRE_ENUM(LocState, LocState::lost)  // the last LocState: keep in step

struct LocationMsg {
  ObjectId id;
  LocState state = LocState::ready;
  std::vector<std::int32_t> locations;
  ErrorKind error = ErrorKind::none;
  std::string message;
  bool inlined = false;
  template <class A>
  void serialize(A& ar) { ar(id, state, locations, error, message, inlined); }
};

struct DataMsg {
  ObjectId id;
  bool found = false;
  ErrorKind error = ErrorKind::none;
  std::string message;
  std::uint64_t ucx_tag = 0;  // non-zero: the bytes follow over the UCX data plane with this tag
  std::uint64_t size = 0;
  template <class A>
  void serialize(A& ar) { ar(id, found, error, message, ucx_tag, size); }
};

struct DecRefMsg {
  std::vector<std::pair<ObjectId, std::int32_t>> items;
  template <class A>
  void serialize(A& ar) { ar(items); }
};

struct NodeLoadMsg {
  std::int32_t rank = -1;
  std::map<std::string, double> available;
  std::uint32_t queued = 0;
  std::uint32_t running = 0;
  std::uint64_t finished = 0;
  template <class A>
  void serialize(A& ar) { ar(rank, available, queued, running, finished); }
};

/// @brief Aggregates of one function's tasks or actor calls (the GCS keeps
/// these, never one record per task).
struct FunctionStats {
  std::uint64_t count = 0, failed = 0, retries = 0;
  double total_s = 0, max_s = 0;
  void add(const FunctionStats& o) {
    count += o.count;
    failed += o.failed;
    retries += o.retries;
    total_s += o.total_s;
    max_s = o.max_s > max_s ? o.max_s : max_s;
  }
  template <class A>
  void serialize(A& ar) { ar(count, failed, retries, total_s, max_s); }
};

/// @brief Aggregates of one node rank: tasks run, time busy, bytes moved.
struct NodeStats {
  std::uint64_t tasks = 0;
  double busy_s = 0;  // summed task durations (over all its workers)
  std::uint64_t bytes_in = 0, bytes_out = 0, spilled_bytes = 0, spills = 0;
  void add(const NodeStats& o) {
    tasks += o.tasks;
    busy_s += o.busy_s;
    bytes_in += o.bytes_in;
    bytes_out += o.bytes_out;
    spilled_bytes += o.spilled_bytes;
    spills += o.spills;
  }
  bool empty() const { return tasks == 0 && bytes_in == 0 && bytes_out == 0 && spills == 0; }
  template <class A>
  void serialize(A& ar) { ar(tasks, busy_s, bytes_in, bytes_out, spilled_bytes, spills); }
};

struct GcsEventsMsg {
  std::int32_t node = -1;
  // Counts only: the GCS keeps no per-task or per-object record (task records
  // stay on their node, GcsClient::recent_tasks).
  std::uint64_t tasks_finished = 0, tasks_failed = 0;
  std::uint64_t objects_created = 0, objects_freed = 0;
  std::vector<ActorEvent> actors;
  std::map<std::string, FunctionStats, std::less<>> functions;  // since the last batch, by function name
  NodeStats node_stats;                             // since the last batch
  template <class A>
  void serialize(A& ar) {
    ar(node, tasks_finished, tasks_failed, objects_created, objects_freed, actors, functions, node_stats);
  }
  bool empty() const {
    return tasks_finished == 0 && objects_created == 0 && objects_freed == 0 && actors.empty() &&
           functions.empty() && node_stats.empty();
  }
};

enum class GcsQueryKind : std::uint8_t { nodes, tables, actor_register, actor_lookup, actor_forget, summary };
RAYMPI_WIRE_ENUM(GcsQueryKind, GcsQueryKind::summary)  // the last GcsQueryKind: keep in step

struct GcsQueryMsg {
  std::uint64_t request = 0;
  GcsQueryKind kind = GcsQueryKind::nodes;
  std::string name;          // actor queries
  ObjectId actor;
  std::string actor_class;
  std::int32_t minter = -1;  // actor_register: who minted the token for `actor`
  template <class A>
  void serialize(A& ar) { ar(request, kind, name, actor, actor_class, minter); }
};

struct NodeRecordWire {
  std::int32_t rank = -1;
  std::string host;
  std::map<std::string, double> total, available;
  bool alive = true;
  double since_heartbeat = 0;
  std::uint64_t finished = 0;
  template <class A>
  void serialize(A& ar) { ar(rank, host, total, available, alive, since_heartbeat, finished); }
};

struct GcsReplyMsg {
  std::uint64_t request = 0;
  std::vector<NodeRecordWire> nodes;
  std::map<std::string, std::uint64_t> counters;  // table sizes
  std::string error;         // actor_register: why the name was refused
  ObjectId actor;            // actor_lookup: the actor, with one token minted by `minter`
  std::string actor_class;
  std::int32_t minter = -1;
  std::map<std::string, FunctionStats> functions;  // summary: by function name
  std::map<std::int32_t, NodeStats> node_stats;    // summary: by node rank
  template <class A>
  void serialize(A& ar) { ar(request, nodes, counters, error, actor, actor_class, minter, functions, node_stats); }
};

struct ShutdownMsg {
  std::int32_t exit_code = 0;
  std::vector<std::int32_t> failed_ranks;  // ranks the driver saw die: no barrier with them
  template <class A>
  void serialize(A& ar) { ar(exit_code, failed_ranks); }
};

/// Encodes type + body + the length of the trailing raw bytes (0 without) + those bytes.
template <class M>
Buffer encode_msg(MsgType t, const M& m, const Buffer* trailing = nullptr) {
  ByteWriter w(64 + (trailing ? trailing->size : 0));
  auto tb = static_cast<std::uint8_t>(t);
  w.write(&tb, 1);
  {
    OutArchive ar(w);
    ar(m);
    std::uint64_t n = trailing ? trailing->size : 0;
    ar(n);
  }
  if (trailing) w.write(trailing->data, trailing->size);
  return w.finish();
}

/// The message's type byte; an empty buffer (no message) reads as 0, which no MsgType has.
inline MsgType msg_type(const Buffer& b) {
  return static_cast<MsgType>(b.size ? static_cast<std::uint8_t>(b.data[0]) : 0);
}

/// TaskWire's layout, written from a spec held elsewhere (no copy of it).
struct TaskWireView {
  const TaskSpec& spec;
  std::int32_t minter;
  const std::vector<ObjectId>& refs;
  const Locality& locality;
  template <class A>
  void save(A& ar) const { ar(spec, minter, refs, locality); }
};

/// Encodes a task for submit_task.
inline Buffer encode_task(const TaskSpec& spec, std::int32_t minter, const std::vector<ObjectId>& refs,
                          const Locality& locality) {
  return encode_msg(MsgType::submit_task, TaskWireView{spec, minter, refs, locality}, &spec.args);
}

/// Decodes the body (and a view of the trailing bytes, when asked for). The
/// bytes come from another rank: anything malformed (truncated, a length past
/// the end, an enum out of range) is a raympi::Error naming the message, which
/// the runtime's dispatcher logs with the sender's rank.
template <class M>
M decode_msg(const Buffer& b, Buffer* trailing = nullptr) {
  try {
    if (b.size == 0) throw cereal::Exception("empty message");
    InArchive ar(b.data + 1, b.size - 1);
    M m;
    ar(m);
    if (trailing) {
      std::uint64_t n = 0;
      ar(n);
      if (n != ar.remaining())
        throw cereal::Exception("the trailing block says " + std::to_string(n) + " bytes, " +
                                std::to_string(ar.remaining()) + " follow");
      *trailing = b.sub(std::size_t(ar.position() - b.data), std::size_t(n));
    }
    return m;
  } catch (const cereal::Exception& e) {
    throw Error("raympi: malformed " + demangle(typeid(M).name()) + " message (type " +
                std::to_string(int(msg_type(b))) + ", " + std::to_string(b.size) + " bytes): " + e.what());
  }
}

}  // namespace raympi::detail
