#pragma once
// Actors, the node's side: building an actor where the scheduler placed its
// creation, delivering calls to its mailbox, running them, kill / restart /
// release, and the resources it holds.

#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "actors/actor_host.hpp"
#include "serialization/messages.hpp"

namespace raympi::detail {

struct Context;

/// @brief The actors hosted on this node.
class ActorTable {
 public:
  explicit ActorTable(Context& cx) : cx_(cx) {}

  /// Runs an actor creation placed here: holds its resources, starts its thread.
  void start(const TaskPtr& creation);
  /// A call whose arguments are all here: into its actor's mailbox.
  void deliver(TaskPtr call);
  void on_kill(const ActorKillMsg& m);
  /// The actor's last handle anywhere is gone.
  void on_release(ObjectId actor);
  /// A caller will make no more calls than it said.
  void on_caller_done(const ActorCallerDoneMsg& m);
  /// Job shutdown: every actor's instance is destroyed on its own thread.
  void stop();
  /// Actors hosted (dead ones until released) and the callers they track.
  std::size_t count(std::size_t* callers = nullptr);

 private:
  std::shared_ptr<ActorHost> hosted(ObjectId actor);
  ActorHost::Hooks hooks();
  void run_call(ActorHost& h, const TaskPtr& t, void* self);
  void on_phase(ActorHost& h, ActorHost::Phase p, const std::string& message);
  std::string died_message(const Task& creation, const std::string& why) const;
  void fail(const TaskPtr& t, ErrorKind err, std::string message, double started);

  Context& cx_;
  std::mutex mu_;  // actors_, exited_
  std::unordered_map<ObjectId, std::shared_ptr<ActorHost>> actors_;  // hosted here (dead ones until released)
  std::unordered_set<ObjectId> exited_;  // dead hosts kept as tombstones
};

}  // namespace raympi::detail
