// Mutex, MutexLock and CondVar: std::mutex and std::condition_variable with clang's
// thread-safety annotations, so that clang -Wthread-safety checks at compile time that every
// field marked GUARDED_BY(mu_) is touched only with mu_ held (libstdc++'s std::mutex carries
// no annotations, so fields guarded by one are not checked).
//
// The macros (GUARDED_BY, REQUIRES, ACQUIRE, RELEASE, EXCLUDES, ...) expand to nothing on
// compilers other than clang; gcc builds are unchanged. The CI's clang tree builds with
// -Wthread-safety -Werror (scripts/test.sh). The annotations are those of
// https://clang.llvm.org/docs/ThreadSafetyAnalysis.html, as LevelDB's port/thread_annotations.h.
//
// Thread-safety: a Mutex is what other objects use to be thread-safe; a MutexLock and a
// CondVar's waiter belong to the one thread that made them.
#pragma once

#include <condition_variable>
#include <mutex>

#if defined(__clang__)
#define PANDO_THREAD_ANNOTATION(x) __attribute__((x))
#else
#define PANDO_THREAD_ANNOTATION(x)
#endif

#define CAPABILITY(x) PANDO_THREAD_ANNOTATION(capability(x))
#define SCOPED_CAPABILITY PANDO_THREAD_ANNOTATION(scoped_lockable)
#define GUARDED_BY(x) PANDO_THREAD_ANNOTATION(guarded_by(x))
#define PT_GUARDED_BY(x) PANDO_THREAD_ANNOTATION(pt_guarded_by(x))
#define REQUIRES(...) PANDO_THREAD_ANNOTATION(requires_capability(__VA_ARGS__))
#define ACQUIRE(...) PANDO_THREAD_ANNOTATION(acquire_capability(__VA_ARGS__))
#define RELEASE(...) PANDO_THREAD_ANNOTATION(release_capability(__VA_ARGS__))
#define EXCLUDES(...) PANDO_THREAD_ANNOTATION(locks_excluded(__VA_ARGS__))
#define ASSERT_CAPABILITY(x) PANDO_THREAD_ANNOTATION(assert_capability(x))
#define NO_THREAD_SAFETY_ANALYSIS PANDO_THREAD_ANNOTATION(no_thread_safety_analysis)

namespace pando {

// A std::mutex the analysis knows about. Not recursive.
class CAPABILITY("mutex") Mutex {
 public:
  Mutex() = default;
  Mutex(const Mutex&) = delete;
  Mutex& operator=(const Mutex&) = delete;

  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  // Tells the analysis that the caller holds this mutex (for code it cannot follow).
  void AssertHeld() ASSERT_CAPABILITY(this) {}

 private:
  friend class CondVar;
  std::mutex mu_;
};

// Holds *mu from construction to the end of the scope (std::lock_guard). *mu must outlive it.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* const mu_;
};

// A condition variable. Every Wait on one CondVar must pass the same Mutex (as for
// std::condition_variable); Wait is called with it held and returns with it held. The mutex
// is an argument rather than a member so that the analysis sees which mutex the caller holds.
class CondVar {
 public:
  CondVar() = default;
  CondVar(const CondVar&) = delete;
  CondVar& operator=(const CondVar&) = delete;

  void Wait(Mutex* mu) REQUIRES(mu) {
    // The lock is adopted from the caller and handed back to it (release), so the
    // unique_lock neither locks nor unlocks the mutex itself.
    std::unique_lock<std::mutex> lock(mu->mu_, std::adopt_lock);
    cv_.wait(lock);
    lock.release();
  }
  void Signal() { cv_.notify_one(); }
  void SignalAll() { cv_.notify_all(); }

 private:
  std::condition_variable cv_;
};

}  // namespace pando
