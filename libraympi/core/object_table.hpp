#pragma once
// One record per object per process, and distributed reference counting.
//
// Every ObjectRef copy in a process shares one ObjectRecord (the RefEntry its
// handle points at). The record carries everything this process knows about
// the object: its reference counts and tokens (this table), and, on the
// owner, the object's state, locations and waiters (owner_table.hpp). Code
// that holds a ref reaches the record through it; the table's one hash map
// finds a record by id for what arrives over the wire.
//
// Reference counting: a ref that leaves the process inside a message first
// mints a token (children++ here); the receiver holds the token while it has
// handles and returns it (dec_ref) to the minter afterwards. A record dies
// when it has no handle and no outstanding child token; then it returns its
// own tokens and, at the owner, the object is freed everywhere. Tokens go
// back along the path they came, so no message can overtake the one that
// created the reference. Refs deserialised from a stored object pin that
// object instead (it holds tokens for its contents). A pending owned object
// holds a handle on itself until it resolves (OwnerTable), so an object whose
// refs were all dropped while its task ran is freed once the task is done.

#include <algorithm>
#include <atomic>
#include <functional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/adaptive_mutex.hpp"
#include "raympi/detail/object_store_view.hpp"
#include "raympi/detail/refs.hpp"

namespace raympi::detail {

/// @brief The ranks that hold a copy of an object: the first two inline (one
/// is by far the most common case, and a vector would allocate per object).
class Locations {
 public:
  void assign_one(int rank) {
    more_.clear();
    inline_[0] = rank;
    n_ = 1;
  }
  void add(int rank) {
    if (contains(rank)) return;
    if (n_ < kInline) inline_[n_++] = rank;
    else more_.push_back(rank);
  }
  void remove(int rank) {
    std::vector<int> rest = to_vector();
    rest.erase(std::remove(rest.begin(), rest.end(), rank), rest.end());
    more_.clear();
    n_ = 0;
    for (int r : rest) add(r);
  }
  bool empty() const { return n_ == 0; }
  bool contains(int rank) const {
    for (int i = 0; i < n_; ++i)
      if (inline_[i] == rank) return true;
    for (int r : more_)
      if (r == rank) return true;
    return false;
  }
  template <class F>
  void for_each(F&& f) const {
    for (int i = 0; i < n_; ++i) f(inline_[i]);
    for (int r : more_) f(r);
  }
  std::vector<int> to_vector() const {
    std::vector<int> v(inline_, inline_ + n_);
    v.insert(v.end(), more_.begin(), more_.end());
    return v;
  }

 private:
  static constexpr int kInline = 2;
  int inline_[kInline] = {-1, -1};
  int n_ = 0;
  std::vector<int> more_;
};

/// @brief What this process knows of one object.
struct ObjectRecord : RefEntry {
  // Reference counting, guarded by ObjectTable's lock.
  int children = 0;                         // tokens minted here and not yet returned
  std::vector<std::pair<int, int>> tokens;  // tokens held: minter rank -> count
  RefPtr pin;                               // the stored object this ref was read from
  bool owned = false;                       // this rank owns the object

  // Ownership (owned records only), guarded by OwnerTable's lock.
  enum class State : std::uint8_t { pending, ready, failed } state = State::pending;
  Locations locations;                      // ranks holding a copy
  std::uint64_t size = 0;
  ErrorKind error = ErrorKind::none;
  std::string message;
  std::vector<int> remote_waiters;          // ranks that asked where it is while pending
  std::vector<std::function<void()>> local_waiters;
  std::vector<RefPtr> contained;            // refs inside the object; while pending: what it keeps alive
  std::int32_t actor_node = -1;             // actor ids: where the actor lives
  RefPtr self;                              // while pending: keeps this record until the object resolves
};

/// @brief The records of this process by id, and their reference counts.
class ObjectTable {
 public:
  struct Actions {
    std::function<void(int minter, ObjectId id, int count)> return_tokens;  // to another rank
    std::function<void(ObjectRecord& r)> free_owned;  // the last reference to an owned object is gone
    std::function<void(ObjectId actor)> actor_unreferenced;  // this process holds no handle of the actor now
  };
  ObjectTable(int rank, Actions actions) : rank_(rank), actions_(std::move(actions)) {}
  /// Frees the records no handle reaches (free_unreachable), then unbinds
  /// the table if it is the process's.
  ~ObjectTable();

  /// Makes this the process's table: ObjectRefs released or deserialised
  /// anywhere in the process resolve through it (the runtime binds its own).
  void bind_process();

  /// A new owned record (one handle).
  RefPtr create_owned(ObjectId id);
  /// A handle for an id read off the wire (pins `container` when the record is new).
  RefPtr acquire(ObjectId id, ObjectId container);
  /// Takes ownership of one token per id, minted by `minter`.
  std::vector<RefPtr> claim(const std::vector<ObjectId>& ids, int minter);
  /// Mints one token per ref (they are about to leave this process).
  void mint(const std::vector<RefPtr>& refs);
  /// Another rank returned `count` tokens of `id`.
  void return_children(ObjectId id, int count);
  /// The last handle of `e` in this process is gone.
  void on_released(RefEntry* e, ObjectId id);
  /// The record of an id this process knows, as a handle; null if none.
  RefPtr find(ObjectId id);
  /// Handles on every owned record (a snapshot, for the rare walks over all
  /// of them: a node's death).
  std::vector<RefPtr> owned_records();
  /// Records alive (with handles or tokens out).
  std::size_t size();
  /// After shutdown: drop everything without messages.
  void disable();

  static ObjectRecord& record(const RefPtr& p) { return *static_cast<ObjectRecord*>(p.get()); }

 private:
  using Map = std::unordered_map<ObjectId, ObjectRecord*>;
  struct Released {
    ObjectRecord* record = nullptr;  // null: the record stays
    bool quiet = false;              // the table is disabled: delete only
  };
  /// Unlinks a record with no handle and no token out. The caller finishes
  /// the release outside the lock (finish_release).
  Released unlink_if_released_locked(Map::iterator it);
  void finish_release(Released rel);
  /// After the runtime stopped: frees every record no handle reaches.
  void free_unreachable();

  int rank_;
  Actions actions_;
  AdaptiveMutex mu_;
  Map records_;
  bool disabled_ = false;
};

/// The process's object table (see ObjectTable::bind_process); null when none.
ObjectTable* current_object_table();

}  // namespace raympi::detail
