import CHiredis

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A pthread mutex with one condition variable: the lock under ``GuardedState`` (the type to
/// use for shared state, also where a thread sleeps until the state changes), used directly by
/// nothing else.
///
/// Used instead of `Synchronization.Mutex` because the I/O threads must sleep on a condition,
/// and because ThreadSanitizer understands pthread locks (it reports false races inside
/// `Mutex.withLock` under contention).
final class ConditionLock: @unchecked Sendable {
    // @unchecked: the pthread objects are made once and only handed to pthread calls.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let condition: UnsafeMutablePointer<pthread_cond_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
        condition = .allocate(capacity: 1)
        condition.initialize(to: pthread_cond_t())
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        #if os(Linux)
            pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        #endif
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    func lock() { pthread_mutex_lock(mutex) }
    func unlock() { pthread_mutex_unlock(mutex) }

    /// Runs `body` with the lock held.
    @inline(__always)
    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Wakes one waiter. Call with or without the lock held.
    func signal() { pthread_cond_signal(condition) }
    /// Wakes every waiter.
    func broadcast() { pthread_cond_broadcast(condition) }

    /// Sleeps until signalled. Call with the lock held; it is held again on return.
    func wait() { pthread_cond_wait(condition, mutex) }

    /// Sleeps until signalled or until `timeout` passes. Call with the lock held.
    func wait(timeout: Duration) {
        #if os(Linux)
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let wait = timeout.timespecValue
            var deadline = timespec()
            let nanos = wait.tv_nsec + now.tv_nsec
            deadline.tv_sec = now.tv_sec + wait.tv_sec + nanos / 1_000_000_000
            deadline.tv_nsec = nanos % 1_000_000_000
            pthread_cond_timedwait(condition, mutex, &deadline)
        #else
            var now = timeval()
            gettimeofday(&now, nil)
            let wait = timeout.timespecValue
            let nanos = wait.tv_nsec + Int(now.tv_usec) * 1000
            var deadline = timespec(
                tv_sec: now.tv_sec + wait.tv_sec + nanos / 1_000_000_000, tv_nsec: nanos % 1_000_000_000)
            pthread_cond_timedwait(condition, mutex, &deadline)
        #endif
    }
}
