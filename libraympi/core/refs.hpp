#pragma once
// The process's reference table: distributed reference counting.
//
// Every ObjectRef copy in a process shares one record. A ref that leaves the
// process inside a message first mints a token (children++ here); the receiver
// holds the token while it has handles and returns it (DecRef) to the minter
// afterwards. A record dies when it has no handle and no outstanding child
// token; then it returns its own tokens and, at the owner, frees the object
// everywhere. Tokens go back along the path they came, so no message can
// overtake the one that created the reference. Refs deserialised from a
// stored object pin that object instead (it holds tokens for its contents).

#include <functional>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "base/adaptive_mutex.hpp"
#include "raympi/detail/refs.hpp"

namespace raympi::detail {

struct RefRecord : RefEntry {
  int children = 0;
  std::vector<std::pair<int, int>> tokens;  // minter rank -> count
  RefPtr pin;
  bool owned = false;
};

/// @brief Reference records of this process.
class RefTable {
 public:
  struct Actions {
    std::function<void(int minter, ObjectId id, int count)> return_tokens;  // to another rank
    std::function<void(ObjectId id)> free_owned;
    std::function<void(ObjectId actor)> actor_unreferenced;  // this process holds no handle of the actor now
  };
  RefTable(int rank, Actions actions) : rank_(rank), actions_(std::move(actions)) {}

  RefPtr create_owned(ObjectId id);
  /// A handle for an id read off the wire (pins `container` when the record is new).
  RefPtr acquire(ObjectId id, ObjectId container);
  /// Takes ownership of one token per id, minted by `minter`.
  std::vector<RefPtr> claim(const std::vector<ObjectId>& ids, int minter);
  /// Mints one token per ref (they are about to leave this process).
  void mint(const std::vector<RefPtr>& refs);
  void return_children(ObjectId id, int count);
  void on_released(RefEntry* e, ObjectId id);
  std::size_t size();
  /// After shutdown: drop everything without messages.
  void disable();

 private:
  void maybe_release_locked(RefRecord* r, std::vector<std::function<void()>>& after);

  int rank_;
  Actions actions_;
  AdaptiveMutex mu_;
  std::unordered_map<ObjectId, RefRecord*> records_;
  bool disabled_ = false;
};

}  // namespace raympi::detail
