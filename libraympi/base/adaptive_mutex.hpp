#pragma once
// A mutex that spins briefly before sleeping (glibc's adaptive kind). The
// runtime's tables are held for tens of nanoseconds; under contention between
// a submitting thread and a worker a plain mutex goes to the kernel at once
// (futex wait + wake ≈ microseconds), an adaptive one almost never does.

#include <pthread.h>

namespace raympi::detail {

/// @brief BasicLockable/Lockable mutex using PTHREAD_MUTEX_ADAPTIVE_NP.
class AdaptiveMutex {
 public:
  AdaptiveMutex() {
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&m_, &a);
    pthread_mutexattr_destroy(&a);
  }
  ~AdaptiveMutex() { pthread_mutex_destroy(&m_); }
  AdaptiveMutex(const AdaptiveMutex&) = delete;
  AdaptiveMutex& operator=(const AdaptiveMutex&) = delete;
  void lock() { pthread_mutex_lock(&m_); }
  void unlock() { pthread_mutex_unlock(&m_); }
  bool try_lock() { return pthread_mutex_trylock(&m_) == 0; }

 private:
  pthread_mutex_t m_;
};

}  // namespace raympi::detail
