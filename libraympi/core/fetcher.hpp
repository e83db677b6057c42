#pragma once
// Bringing objects to this node: locate at the owner, pull from a holder,
// store the copy; concurrent fetches of one object share one pull.

#include <chrono>
#include <functional>
#include <unordered_map>
#include <vector>

#include "base/adaptive_mutex.hpp"
#include "raympi/detail/object_store_view.hpp"
#include "serialization/messages.hpp"

namespace raympi::detail {

struct Context;

/// @brief In-flight fetches of this node (locate → location → pull → data).
class Fetcher {
 public:
  using Callback = std::function<void(const StoredPtr&)>;
  explicit Fetcher(Context& cx) : cx_(cx) {}

  /// Calls `cb` with the object once it is in this node's store (at once when
  /// it is), or with an error object when it cannot be had.
  void fetch(ObjectId id, Callback cb);
  /// The owner's answer to a locate (from another rank, or this one).
  void on_location(const LocationMsg& m, const Buffer& bytes);
  /// Another rank asks for the bytes of an object held here.
  void on_pull(int src, const Buffer& msg);
  /// A holder's answer to a pull.
  void on_data(int src, const Buffer& msg);
  /// A task of this node just produced `o` for another rank's ownership: if
  /// tasks here wait for it, they get it now instead of through the owner's
  /// answer (one round trip to the owner saved per dependency between tasks
  /// of one node). `in_store`: `o` is already in the store (a large result);
  /// else a copy goes in and the owner is told (after the task's done message).
  void produced_here(const StoredPtr& o, bool in_store);
  /// Fails the fetches that wait on `rank` (it died): a pull sent to it, or a
  /// locate at it as the owner. ObjectLostError naming the rank.
  void fail_fetches_involving(int rank);
  /// Fetches in flight.
  std::size_t count();

 private:
  /// An object's bytes arrived from `src`: counted and recorded as a transfer.
  void pulled(ObjectId id, int src, std::uint64_t bytes);
  void complete(ObjectId id, const StoredPtr& o);
  /// Ends the fetch with an error object (ObjectLostError unless told otherwise).
  void fail(ObjectId id, std::string message, ErrorKind kind = ErrorKind::object_lost);
  void locate(ObjectId id);
  void store_copy(ObjectId id, const Buffer& bytes);
  bool awaited(ObjectId id);

  struct InFlight {
    std::vector<Callback> callbacks;
    int attempts = 0;      // pulls answered "not found"
    int pulling_from = -1; // the rank a pull went to
    std::chrono::steady_clock::time_point pull_began{};  // for the timeline's transfer span
  };
  Context& cx_;
  AdaptiveMutex mu_;  // fetching_
  std::unordered_map<ObjectId, InFlight> fetching_;
};

}  // namespace raympi::detail
