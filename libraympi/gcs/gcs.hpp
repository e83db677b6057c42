#pragma once
// The GCS (rank 1): the job's control state. Node table (resources, load,
// heartbeats), function table, task and object counters, per-function and
// per-node aggregates for summary() (no per-task or per-object record: nodes
// and owners keep those)
// actor table
// (node, state, class, restarts) with the names of named actors.

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "serialization/messages.hpp"

namespace raympi::detail {

/// @brief The global control store's tables.
class Gcs {
 public:
  struct NodeRecord {
    std::string host;
    std::map<std::string, double> total, available;
    std::chrono::steady_clock::time_point last_heartbeat;
    std::uint64_t finished = 0;
    bool dead = false;  // declared dead (core/membership): never alive again
  };
  struct ActorRecord {
    std::int32_t node = -1;
    ActorState state = ActorState::pending;
    std::int32_t restarts = 0;
    std::string name, actor_class, message;
  };

  // Whether a node is alive is the membership's verdict (core/membership,
  // recorded by mark_dead); the GCS only reports the time since its last report.
  Gcs(std::vector<NodeRecordWire> nodes, std::vector<std::string> functions, std::size_t dead_actor_limit = 100000);

  void on_load(const NodeLoadMsg& m);
  /// Returns the named actors that died with this batch (their names are free again).
  std::vector<ObjectId> on_events(const GcsEventsMsg& m);
  GcsReplyMsg answer(const GcsQueryMsg& q);

  /// Claims `name` for the actor; an error text when the name is taken.
  std::string register_actor(const std::string& name, ObjectId actor, const std::string& actor_class);
  /// The live actor named so, with its class.
  std::optional<std::pair<ObjectId, std::string>> lookup_actor(const std::string& name);
  /// Releases the actor's name (kill).
  void forget_actor(ObjectId actor);
  std::optional<ActorRecord> actor(ObjectId id);
  /// The node rank died: it shows as not alive, and its actors as dead.
  void mark_dead(int rank, const std::string& why);

 private:
  std::mutex mu_;
  std::map<int, NodeRecord> nodes_;
  std::vector<std::string> functions_;
  std::unordered_map<ObjectId, ActorRecord> actors_;
  std::map<std::string, ObjectId> actor_names_;
  std::deque<ObjectId> dead_actors_;  // oldest first; records beyond the limit are dropped
  void actor_died_locked(ObjectId id);
  // The actor table's counts, kept as records change: a counters query is
  // answered in O(1), not by a walk over every actor (100,000 actors took
  // milliseconds per query, and tests poll).
  ActorRecord& record_locked(ObjectId id);  // created pending if new
  void set_state_locked(ActorRecord& r, ActorState s);
  void set_restarts_locked(ActorRecord& r, std::int32_t restarts);
  std::uint64_t actors_in_state_[4] = {0, 0, 0, 0};
  std::uint64_t actor_restarts_ = 0;  // of the actors in the table
  std::size_t dead_actor_limit_;
  std::uint64_t tasks_seen_ = 0, tasks_failed_ = 0, objects_seen_ = 0, objects_freed_ = 0;
  std::map<std::string, FunctionStats> functions_stats_;  // summary(): by function name
  std::map<std::int32_t, NodeStats> node_stats_;          // summary(): by node rank
};

}  // namespace raympi::detail
