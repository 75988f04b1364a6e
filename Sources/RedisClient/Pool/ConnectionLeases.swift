import DequeModule

/// The connections a pool lends with ``RedisConnectionPool/withConnection(_:)``: made on first
/// use, kept for the next lease, at most `limit` at once; further borrowers wait in line (a
/// cancelled one leaves the line at once).
///
/// Leased connections never carry the pool's shared traffic, so whatever state a lease leaves
/// behind can only meet the next lease, which starts after `DISCARD`/`UNWATCH` when needed.
final class ConnectionLeases: @unchecked Sendable {
    private let limit: Int
    private let make: (Int) -> RedisConnection
    private let lock = ConditionLock()
    // Guarded by lock.
    private var idle: [RedisConnection] = []
    private var all: [RedisConnection] = []
    /// Connections taken out by ``retire(_:)`` and still closing.
    private var retired: [RedisConnection] = []
    private var waiters: Deque<(id: Int, continuation: UnsafeContinuation<RedisConnection, any Error>)> = []
    private var cancelledWaiters: Set<Int> = []
    private var nextWaiterID = 0
    /// How many connections were ever made (names the next one).
    private var madeTotal = 0
    private var isClosed = false

    init(limit: Int, make: @escaping (Int) -> RedisConnection) {
        self.limit = limit
        self.make = make
    }

    /// A connection for the caller alone; waits while `limit` are lent.
    ///
    /// - Throws: `CancellationError` when the caller is cancelled while waiting;
    ///   ``RedisClientError`` of kind `poolClosed` after ``close()``.
    func acquire() async throws -> RedisConnection {
        let id: Int = lock.withLock {
            nextWaiterID += 1
            return nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                lock.lock()
                if isClosed {
                    lock.unlock()
                    continuation.resume(throwing: RedisClientError(.poolClosed, "the Redis connection pool is closed"))
                } else if cancelledWaiters.remove(id) != nil {
                    lock.unlock()
                    continuation.resume(throwing: CancellationError())
                } else if let connection = idle.popLast() {
                    lock.unlock()
                    continuation.resume(returning: connection)
                } else if all.count < limit {
                    let connection = make(madeTotal)
                    madeTotal += 1
                    all.append(connection)
                    lock.unlock()
                    continuation.resume(returning: connection)
                } else {
                    waiters.append((id, continuation))
                    lock.unlock()
                }
            }
        } onCancel: {
            lock.lock()
            if let index = waiters.firstIndex(where: { $0.id == id }) {
                let waiter = waiters.remove(at: index)
                lock.unlock()
                waiter.continuation.resume(throwing: CancellationError())
            } else {
                cancelledWaiters.insert(id)
                lock.unlock()
            }
        }
    }

    /// Gives `connection` back: to the first waiter, or to the idle list.
    func release(_ connection: RedisConnection) {
        lock.lock()
        if let waiter = waiters.popFirst() {
            lock.unlock()
            waiter.continuation.resume(returning: connection)
            return
        }
        idle.append(connection)
        lock.unlock()
    }

    /// Takes `connection` out of the leases for good and closes it in the background (a task
    /// that escaped its lease may still be using it); the first waiter gets a new connection.
    func retire(_ connection: RedisConnection) {
        lock.lock()
        all.removeAll { $0 === connection }
        retired.append(connection)
        var handoff: (UnsafeContinuation<RedisConnection, any Error>, RedisConnection)?
        if !isClosed, let waiter = waiters.popFirst() {
            let made = make(madeTotal)
            madeTotal += 1
            all.append(made)
            handoff = (waiter.continuation, made)
        }
        lock.unlock()
        if let (continuation, made) = handoff { continuation.resume(returning: made) }
        Task {
            await connection.close()
            lock.withLock { retired.removeAll { $0 === connection } }
        }
    }

    /// Fails the waiters and closes every connection made (a lease still running sees its
    /// commands fail with `poolClosed`).
    func close() async {
        let (connections, waiting) = lock.withLock {
            isClosed = true
            defer {
                waiters.removeAll()
                idle.removeAll()
            }
            // (An empty Deque copied to an Array writes to the shared empty-array storage, which
            // ThreadSanitizer reports as a race between two pools closing at once.)
            return (retired.isEmpty ? all : all + retired, waiters.isEmpty ? [] : Array(waiters))
        }
        let error = RedisClientError(.poolClosed, "the Redis connection pool is closed")
        for waiter in waiting { waiter.continuation.resume(throwing: error) }
        for connection in connections { await connection.close() }
    }

    /// How many connections were made for leases (for tests).
    var madeCount: Int { lock.withLock { all.count } }
}
