/// A value guarded by a lock: the one way this package shares mutable state between tasks and
/// threads.
///
/// The guarded value is reachable only inside ``withLock(_:)``, so a class whose mutable state
/// lives in a `GuardedState` is `Sendable` as the compiler checks it, without `@unchecked`:
///
/// ```swift
/// final class Tally: Sendable {
///     private struct State {
///         var seen: Set<String> = []
///         var repeats = 0
///     }
///     private let state = GuardedState(State())
///
///     func record(_ name: String) {
///         state.withLock { if !$0.seen.insert(name).inserted { $0.repeats += 1 } }
///     }
/// }
/// ```
///
/// ## Why not `Synchronization.Mutex` or `NSLock`
/// - `Synchronization.Mutex`: on Linux ThreadSanitizer does not see its futex-based locking and
///   reports races inside `withLock` under contention (seen in CI). A false report hides real
///   ones, so the TSan pass would be worthless. This type is a pthread mutex, which TSan
///   understands.
/// - `NSLock` beside `var`s in an `@unchecked Sendable` class: nothing but a comment says which
///   fields the lock guards, and the compiler checks none of it.
///
/// ## When to use something else
/// - A single word read without a lock (a flag, a counter, a generation): `Atomic` from
///   `Synchronization` (TSan understands atomics).
/// - State one thread owns (a connection's I/O thread): no lock, and no `Sendable`: send it to
///   its thread (`IOThread.start` takes a `sending` closure; see `ConnectionIOThread`), and the
///   compiler checks that nobody else keeps it. `PendingWork` is handed over by atomics.
///
/// ## Rules
/// - Keep the closure short; it cannot `await`. Resume continuations and call out to other code
///   after `withLock` returns, with what the closure handed back.
/// - A thread that must sleep until the state changes uses ``withLock(waitingUntil:_:)``; whoever
///   changes it calls ``signal()`` or ``broadcast()``.
///
/// Built on `ConditionLock` (a pthread mutex and one condition variable).
package final class GuardedState<Value>: @unchecked Sendable {
    // @unchecked: `value` is touched only with `lock` held, inside the methods below.
    private let lock = ConditionLock()
    /// Guarded by `lock`; no runtime exclusivity check (the lock makes every access exclusive).
    @exclusivity(unchecked) private var value: Value

    package init(_ value: Value) {
        self.value = value
    }

    /// Runs `body` with exclusive access to the value.
    @inline(__always)
    package func withLock<Result, Failure: Error>(
        _ body: (inout Value) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }

    /// Sleeps (the lock released meanwhile) until `ready` holds for the value, then runs `body`
    /// with exclusive access to it. `ready` is checked with the lock held, at once and again
    /// after each ``signal()`` or ``broadcast()`` (and after a spurious wake-up).
    ///
    /// Blocks the calling thread: call it from a thread of your own, never from a task on
    /// Swift's cooperative pool.
    package func withLock<Result, Failure: Error>(
        waitingUntil ready: (inout Value) -> Bool, _ body: (inout Value) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        lock.lock()
        defer { lock.unlock() }
        while !ready(&value) { lock.wait() }
        return try body(&value)
    }

    /// Like ``withLock(waitingUntil:_:)``, but waits at most `timeout`: then runs `body` whether
    /// `ready` holds or not (check again in `body` when it matters).
    ///
    /// Blocks the calling thread: call it from a thread of your own, never from a task on
    /// Swift's cooperative pool.
    package func withLock<Result, Failure: Error>(
        waitingUntil ready: (inout Value) -> Bool, timeout: Duration,
        _ body: (inout Value) throws(Failure) -> Result
    ) throws(Failure) -> Result {
        let deadline = ContinuousClock.now + timeout
        lock.lock()
        defer { lock.unlock() }
        while !ready(&value) {
            let left = deadline - ContinuousClock.now
            if left <= .zero { break }
            lock.wait(timeout: left)
        }
        return try body(&value)
    }

    /// Wakes one thread waiting in ``withLock(waitingUntil:_:)`` (or its timed form). Call after
    /// the change, with or without the lock held.
    package func signal() { lock.signal() }

    /// Wakes every thread waiting in ``withLock(waitingUntil:_:)``.
    package func broadcast() { lock.broadcast() }
}
