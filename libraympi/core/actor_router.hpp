#pragma once
// Actors, the caller's side: where each actor this process calls lives, the
// caller's call sequence, calls parked until the actor's node is known;
// named-actor registration and lookup; kill.

#include <atomic>
#include <string>
#include <typeinfo>
#include <unordered_map>
#include <vector>

#include "base/adaptive_mutex.hpp"
#include "scheduler/task.hpp"
#include "serialization/messages.hpp"

namespace raympi::detail {

struct Context;

/// @brief Routes actor method calls from this process to their actors.
class ActorRouter {
 public:
  explicit ActorRouter(Context& cx) : cx_(cx) {}

  /// A call made here: numbered in its caller's sequence, sent to the actor's
  /// node once known (parked until then).
  void route_call(TaskPtr t);
  /// Claims the creation's name in the GCS; throws when the name is taken.
  void register_name(const Task& creation, const RefPtr& ref);
  /// The named actor's handle ref, or null; throws when its class is not `cls`.
  RefPtr lookup(const std::string& name, const std::type_info& cls);
  /// Stops an actor; `no_restart = false` counts as a crash (restarts apply).
  void kill(ObjectId actor, bool no_restart);
  /// This process holds no handle of `actor` any more: forget its route.
  void forget(ObjectId actor);
  /// The actor's last handle anywhere is gone: its node retires it.
  void release_actor_at(int node, ObjectId actor);
  /// Throws when an actor method waits for a later call to its own actor.
  void refuse_self_wait(const Task& running, const std::vector<ObjectId>& ids);
  /// The node rank died: later calls to the actors that lived there locate
  /// them again at their owners (restarted elsewhere, or ActorDiedError);
  /// calls already sent fail at their owners (TaskPipeline).
  void on_node_died(int rank, const std::string& why);
  /// Actors this process calls.
  std::size_t count();

 private:
  struct Route {
    int node = -1;
    ErrorKind error = ErrorKind::none;
    std::string message;
    bool locating = false;
    std::uint64_t caller = 0, next_seq = 0;
    std::vector<TaskPtr> parked;  // calls made before the actor's node was known
  };
  void dispatch(TaskPtr t, int node, ErrorKind err, const std::string& message);
  void on_located(ObjectId actor, const StoredPtr& o);

  Context& cx_;
  AdaptiveMutex mu_;  // routes_
  std::unordered_map<ObjectId, Route> routes_;
  std::atomic<std::uint64_t> caller_counter_{0};
};

}  // namespace raympi::detail
