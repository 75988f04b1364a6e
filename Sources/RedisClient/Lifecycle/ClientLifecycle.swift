import Synchronization

/// The admission gate of one client (pool or cluster): counts the calls in flight and refuses
/// new ones once a graceful shutdown has begun or the client is closed.
///
/// One atomic word holds both the count (low bits) and the two flags (high bits), so a call
/// that was admitted is always counted before the drain looks at the count: there is no window
/// in which a call is admitted after the drain saw zero. Admission costs one atomic add, and
/// leaving one atomic subtract; nothing is locked.
final class ClientLifecycle: Sendable {
    private static let drainingFlag = 1 << 62
    private static let closedFlag = 1 << 61
    private static let flags = drainingFlag | closedFlag

    private let word = Atomic<Int>(0)
    /// Names the client in errors ("the Redis connection pool", "the Redis cluster client").
    private let clientName: String

    init(clientName: String) {
        self.clientName = clientName
    }

    /// Admits one call; it must call ``leave()`` when it is done.
    ///
    /// - Throws: ``RedisClientError`` of kind `shuttingDown` once a graceful shutdown began,
    ///   `poolClosed` once the client is closed: nothing was sent.
    @inline(__always)
    func enter() throws(RedisClientError) {
        let state = word.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue
        if state & Self.flags != 0 {
            word.wrappingSubtract(1, ordering: .acquiringAndReleasing)
            throw refusal(state)
        }
    }

    /// Ends a call admitted by ``enter()``.
    @inline(__always)
    func leave() {
        word.wrappingSubtract(1, ordering: .acquiringAndReleasing)
    }

    /// The error a call gets when it is not admitted, or `nil` while calls are admitted.
    var currentRefusal: RedisClientError? {
        let state = word.load(ordering: .acquiring)
        return state & Self.flags == 0 ? nil : refusal(state)
    }

    private func refusal(_ state: Int) -> RedisClientError {
        if state & Self.closedFlag != 0 {
            return RedisClientError(.poolClosed, "\(clientName) is closed")
        }
        return RedisClientError(.shuttingDown, "\(clientName) is shutting down: the command was not sent")
    }

    /// How many admitted calls have not finished.
    var inFlight: Int { word.load(ordering: .acquiring) & ~Self.flags }

    /// Whether a graceful shutdown began (or the client is closed).
    var isDraining: Bool { word.load(ordering: .acquiring) & Self.flags != 0 }

    /// Refuses new calls from now on with `shuttingDown`.
    func beginDraining() {
        word.bitwiseOr(Self.drainingFlag, ordering: .acquiringAndReleasing)
    }

    /// Refuses new calls from now on with `poolClosed`.
    func markClosed() {
        word.bitwiseOr(Self.closedFlag, ordering: .acquiringAndReleasing)
    }

    /// Waits until no admitted call is in flight, at most `timeout`; polls every millisecond.
    ///
    /// - Returns: `true` when every call finished, `false` when the time ran out or the waiting
    ///   task was cancelled.
    func waitUntilIdle(timeout: Duration) async -> Bool {
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while inFlight > 0 {
            if clock.now >= deadline || Task.isCancelled { return false }
            do {
                try await Task.sleep(for: .milliseconds(1))
            } catch {
                return false
            }
        }
        return true
    }
}
