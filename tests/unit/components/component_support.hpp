#pragma once
// Helpers shared by the component tests (one plain process, no raympi::init).

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "raympi/detail/buffer.hpp"

namespace component_test {

/// Bounded wait: true as soon as pred() holds, false after `seconds`.
inline bool eventually(const std::function<bool()>& pred, double seconds = 10) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return pred();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

/// A one-shot latch that a task or call can wait on.
class Gate {
 public:
  void open() {
    std::lock_guard lk(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void wait() {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

/// A Buffer holding a copy of `s`.
inline raympi::detail::Buffer bytes_of(const std::string& s) {
  char* data = nullptr;
  raympi::detail::Buffer b = raympi::detail::allocate_buffer(s.size(), data);
  if (!s.empty()) s.copy(data, s.size());
  return b;
}

}  // namespace component_test
