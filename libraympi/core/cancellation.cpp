// Cancelling tasks and actor calls: see cancellation.hpp for the design.
#include "core/cancellation.hpp"

#include "core/actor_table.hpp"
#include "core/context.hpp"
#include "core/object_table.hpp"
#include "core/owner_table.hpp"
#include "core/runtime.hpp"
#include "core/task_pipeline.hpp"
#include "raympi/api.hpp"
#include "scheduler/local_scheduler.hpp"

namespace raympi::detail {

void Cancellation::update_count_locked() {
  marks_.store(cancelled_.size() + awaiting_placement_.size(), std::memory_order_release);
}

void Cancellation::prune_locked(Clock::time_point now) {
  // Only when the tables grew: a cancel that crossed its task's end left a
  // mark for an id that never comes here.
  if (cancelled_.size() + awaiting_placement_.size() < 1024) return;
  for (auto* table : {&cancelled_, &awaiting_placement_})
    std::erase_if(*table, [&](const auto& e) { return now - e.second.at > kKeep; });
}

void Cancellation::cancel(ObjectId id, bool recursive) {
  if (id.is_actor()) throw Error("raympi::cancel: the ref is an actor handle; cancel its calls' results, or kill() the actor");
  const int owner = id.owner();
  if (owner == cx_.rank) cancel_owned(id, recursive);
  else cx_.send(owner, encode_msg(MsgType::cancel_task, CancelMsg{id, recursive, false}));
}

void Cancellation::on_cancel(const CancelMsg& m) {
  if (m.at_executor) cancel_here(m.id, m.recursive);
  else cancel_owned(m.id, m.recursive);
}

void Cancellation::cancel_owned(ObjectId id, bool recursive) {
  // Resolved already (ran, failed, or a put): cancelling does nothing.
  if (!cx_.owners->is_pending(id)) return;
  int node = -1;
  if (cx_.tasks->remote_node(id, node)) {
    if (node < 0) {
      // At the GS, not placed yet: sent on when task_placed says where. The
      // placement may have come meanwhile: look again once marked.
      {
        std::lock_guard lk(mu_);
        awaiting_placement_[id] = Mark{recursive, Clock::now()};
        update_count_locked();
      }
      if (cx_.tasks->remote_node(id, node) && node >= 0) placed(id, node);
      return;
    }
    if (node != cx_.rank) {
      cx_.send(node, encode_msg(MsgType::cancel_task, CancelMsg{id, recursive, true}));
      return;
    }
  }
  cancel_here(id, recursive);
}

void Cancellation::placed(const TaskPlacedMsg& m) {
  if (marks_.load(std::memory_order_acquire) == 0) return;
  for (std::size_t i = 0; i < m.ids.size() && i < m.nodes.size(); ++i) placed(m.ids[i], m.nodes[i]);
}

void Cancellation::placed(ObjectId id, int node) {
  bool recursive = true;
  {
    std::lock_guard lk(mu_);
    auto it = awaiting_placement_.find(id);
    if (it == awaiting_placement_.end()) return;
    recursive = it->second.recursive;
    awaiting_placement_.erase(it);
    update_count_locked();
  }
  cx_.send(node, encode_msg(MsgType::cancel_task, CancelMsg{id, recursive, true}));
}

void Cancellation::cancel_here(ObjectId id, bool recursive) {
  std::vector<ObjectId> children;
  {
    std::lock_guard lk(mu_);
    const auto now = Clock::now();
    prune_locked(now);
    cancelled_[id] = Mark{recursive, now};
    update_count_locked();
    if (recursive) {
      auto it = children_.find(id);
      if (it != children_.end()) children = it->second;
    }
  }
  // Queued here: out of the queue and failed now, not when a CPU frees up.
  if (cx_.scheduler)
    for (TaskPtr& t : cx_.scheduler->take_queued_if([id](const Task& t) { return t.id == id; }))
      fail_cancelled(t, "was cancelled while queued on rank " + std::to_string(cx_.rank));
  // An actor call released to its mailbox here: out, and failed now (its
  // caller's later calls do not wait on it: their sequence moved past it).
  if (cx_.actors && !id.is_actor())
    if (TaskPtr call = cx_.actors->take_queued_call(id))
      fail_cancelled(call, "was cancelled while queued in its actor's mailbox on rank " + std::to_string(cx_.rank));
  // Its children are this rank's: cancel them as their owner.
  for (ObjectId child : children) cancel_owned(child, true);
}

bool Cancellation::take_mark(ObjectId id) {
  std::lock_guard lk(mu_);
  if (cancelled_.erase(id) == 0) return false;
  update_count_locked();
  return true;
}

void Cancellation::fail_cancelled(const TaskPtr& t, const std::string& why) {
  take_mark(t->id);
  Invocation none;
  cx_.tasks->finish(t, none, ErrorKind::cancelled,
                    "raympi::TaskCancelledError: " +
                        std::string(t->kind == TaskKind::actor_call ? "actor call '" : "task '") + t->display_name() +
                        "' " + why + "; it never ran",
                    cx_.now_seconds());
}

bool Cancellation::drop_if_cancelled(const TaskPtr& t) {
  if (marks_.load(std::memory_order_acquire) == 0 || t->kind != TaskKind::task) return false;
  {
    std::lock_guard lk(mu_);
    if (!cancelled_.contains(t->id)) return false;
  }
  fail_cancelled(t, "was cancelled before it started");
  return true;
}

bool Cancellation::drop_call_if_cancelled(const TaskPtr& t) {
  if (marks_.load(std::memory_order_acquire) == 0) return false;
  {
    std::lock_guard lk(mu_);
    if (!cancelled_.contains(t->id)) return false;
  }
  fail_cancelled(t, "was cancelled while queued in its actor's mailbox");
  return true;
}

void Cancellation::forwarded(const Task& t, int dst) {
  if (marks_.load(std::memory_order_acquire) == 0) return;
  bool recursive = true;
  {
    std::lock_guard lk(mu_);
    auto it = cancelled_.find(t.id);
    if (it == cancelled_.end()) return;
    recursive = it->second.recursive;
    cancelled_.erase(it);
    update_count_locked();
  }
  // Sent after the call itself (same sender: MPI keeps the order), so the
  // actor's node marks it before its turn comes.
  cx_.send(dst, encode_msg(MsgType::cancel_task, CancelMsg{t.id, recursive, true}));
}

void Cancellation::child_submitted(const Task& parent, ObjectId child) {
  // An actor's factory runs after its creation task ended: nothing would forget the list.
  if (parent.kind == TaskKind::actor_create) return;
  parent.has_children = true;  // this thread runs `parent`: finished() forgets the list
  std::lock_guard lk(mu_);
  children_[parent.id].push_back(child);
  if (marks_.load(std::memory_order_relaxed) == 0) return;
  auto it = cancelled_.find(parent.id);
  if (it == cancelled_.end() || !it->second.recursive) return;
  // A cancelled task submits more: marked before it is placed, so ready() /
  // forward() drop it (an actor call: its mark follows it to the actor).
  cancelled_[child] = Mark{true, Clock::now()};
  update_count_locked();
}

void Cancellation::finished(const Task& t) {
  if (!t.has_children && marks_.load(std::memory_order_acquire) == 0) return;
  std::lock_guard lk(mu_);
  if (t.has_children) children_.erase(t.id);
  if (cancelled_.erase(t.id) > 0) update_count_locked();
}

bool Cancellation::requested() {
  const Task* t = current_task();
  if (!t || marks_.load(std::memory_order_acquire) == 0) return false;
  std::lock_guard lk(mu_);
  return cancelled_.contains(t->id);
}

// --- the public entry points (include/raympi/api.hpp) ---------------------

void cancel_task(ObjectId id, bool recursive) {
  Runtime* r = current_runtime();
  if (!r) throw Error("raympi::cancel: raympi is not running; call raympi::init first");
  if (!id.value) throw Error("raympi::cancel: the ObjectRef is empty (default-constructed or moved from)");
  r->context().cancels->cancel(id, recursive);
}

}  // namespace raympi::detail

namespace raympi {
bool cancel_requested() {
  detail::Runtime* r = detail::current_runtime();
  return r && r->context().cancels && r->context().cancels->requested();
}
}  // namespace raympi
