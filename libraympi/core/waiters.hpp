#pragma once
// Callers blocked in get/wait: they wait for fetches, lend their CPU to their
// children while blocked, and are woken with an error at shutdown.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <vector>

#include "raympi/detail/object_store_view.hpp"

namespace raympi::detail {

struct Context;

/// @brief The blocking get/wait of this rank.
class Waiters {
 public:
  explicit Waiters(Context& cx) : cx_(cx) {}

  /// Every object, in order; throws GetTimeoutError after `timeout` (negative: forever).
  std::vector<StoredPtr> get(const std::vector<ObjectId>& ids, std::chrono::nanoseconds timeout);
  /// 1 for each object that is local once `num_returns` are (or the timeout ended).
  std::vector<char> wait(const std::vector<ObjectId>& ids, std::size_t num_returns, std::chrono::nanoseconds timeout);
  /// Shutdown: every blocked caller throws.
  void cancel_all();
  /// Whether a get of one queued task runs it on the waiting thread (Config::inline_get).
  void set_inline_get(bool on) { inline_get_.store(on, std::memory_order_relaxed); }

 private:
  struct Waiter {
    std::mutex mu;
    std::condition_variable cv;
    std::atomic<std::size_t> arrived{0};
    std::size_t need = 0;
    std::vector<StoredPtr> results;
    bool cancelled = false;
  };
  /// `what` ("get", "wait") names the wait in its progress line (Config::progress).
  std::vector<StoredPtr> block_on(const std::vector<ObjectId>& ids, std::size_t need,
                                  std::chrono::nanoseconds timeout, bool& timed_out, const char* what);

  Context& cx_;
  std::atomic<bool> inline_get_{true};  // set from the Config once the runtime has it
  std::mutex mu_;  // waiters_
  std::set<std::shared_ptr<Waiter>> waiters_;
};

}  // namespace raympi::detail
