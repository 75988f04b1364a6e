/// A value guarded by a pthread mutex, for state shared between tasks and I/O threads.
///
/// Used instead of `Synchronization.Mutex`: on Linux ThreadSanitizer does not see `Mutex`'s
/// futex-based locking and reports races inside `withLock` under contention (seen in CI), which
/// would hide real ones. A pthread mutex it understands.
package final class GuardedState<Value>: @unchecked Sendable {
    private let lock = ConditionLock()
    /// Guarded by `lock`; no runtime exclusivity check (the lock makes every access exclusive).
    @exclusivity(unchecked) private var value: Value

    package init(_ value: Value) {
        self.value = value
    }

    /// Runs `body` with exclusive access to the value.
    @inline(__always)
    package func withLock<Result, Failure: Error>(_ body: (inout Value) throws(Failure) -> Result) throws(Failure)
        -> Result
    {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
