#pragma once
// Objects this rank owns (it submitted their task or put them): their state,
// where copies live, who waits for them, and freeing every copy at the end.
// The state lives in each object's ObjectRecord; this component owns those
// fields and the lock that guards them.

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "base/adaptive_mutex.hpp"
#include "core/object_table.hpp"
#include "serialization/messages.hpp"

namespace raympi::detail {

struct Context;

/// @brief The owner's side of every object this rank owns.
class OwnerTable {
 public:
  explicit OwnerTable(Context& cx) : cx_(cx) {}

  /// A fresh id for an object (or actor) this rank owns.
  ObjectId next_id(bool actor = false);
  /// The object's task was submitted: pending until ready/failed. The record
  /// keeps itself (and `keepalive`) alive until then.
  void pending(const RefPtr& ref, RefPtr keepalive = {});
  /// The object exists at `location` (size bytes, holding refs to `contained`).
  void ready(ObjectRecord& r, int location, std::uint64_t size, std::vector<RefPtr> contained);
  /// The object is an error: stored here, and given to every waiter.
  void failed(ObjectRecord& r, ErrorKind err, std::string message);
  /// Resolves a pending object as nothing (its creation was refused before it ran).
  void discard(ObjectRecord& r);
  /// An actor creation finished: where the actor lives.
  void actor_created(ObjectRecord& r, int node);
  /// Runs `fn` once the object resolved (at once when it has).
  void when_resolved(ObjectRecord& r, std::function<void()> fn);
  /// Answers where the object is (null record: unknown here, i.e. freed).
  void answer_locate(ObjectRecord* r, ObjectId id, int requester);
  /// locate: `requester` asks where the object is (answered once it resolved).
  void on_locate(ObjectId id, int requester);
  /// add_location: `rank` holds a copy now.
  void on_add_location(ObjectId id, int rank);
  /// The last reference is gone: drop every copy, release an actor.
  void free(ObjectRecord& r);
  /// Puts a value made on this rank: a ready object in the local store.
  RefPtr put(Buffer bytes, std::shared_ptr<const void> value, const std::type_info* type,
             std::vector<RefPtr> contained);
  /// Where the ready owned objects among `held` that are dependencies (`deps`)
  /// are (rank, bytes), for placement.
  Locality locality_of(const std::vector<RefPtr>& held, const std::vector<ObjectId>& deps);
  /// True while the owned object `id` is known here and pending (its task has not ended).
  bool is_pending(ObjectId id);
  /// True while `r` is pending and keeps the actor `actor` alive (a call to it).
  bool pending_call_of(ObjectRecord& r, ObjectId actor);
  /// The node rank died (`why` names it): its copies are gone; objects only it
  /// held fail with ObjectLostError, actors that lived there with ActorDiedError.
  void on_node_died(int rank, const std::string& why);
  /// Owned objects not yet freed.
  std::size_t count() const { return owned_.load(std::memory_order_relaxed); }

 private:
  /// What resolving a pending record releases (waiters, kept refs, the self
  /// handle), handled after the lock.
  struct Released {
    std::vector<int> remote;
    std::vector<std::function<void()>> local;
    std::vector<RefPtr> kept;
    RefPtr self;
  };
  /// Takes the Released part out of a record (owner lock held).
  static Released take_waiters_locked(ObjectRecord& r);
  void notify(ObjectRecord& r, Released& rel);

  Context& cx_;
  // Separate cache lines: the submitting thread takes ids while workers
  // resolve objects under the lock and count them.
  alignas(64) AdaptiveMutex mu_;  // the owner fields of every ObjectRecord of this rank
  alignas(64) std::atomic<std::uint64_t> id_counter_{0};
  alignas(64) std::atomic<std::size_t> owned_{0};
};

}  // namespace raympi::detail
