import DequeModule

/// The connections a pool lends with ``RedisConnectionPool/withConnection(_:)``: made on first
/// use, kept for the next lease, at most `limit` at once; further borrowers wait in line (a
/// cancelled one leaves the line at once).
///
/// Leased connections never carry the pool's shared traffic, so whatever state a lease leaves
/// behind can only meet the next lease, which starts after `DISCARD`/`UNWATCH` when needed.
final class ConnectionLeases: Sendable {
    private typealias Waiter = (id: Int, continuation: UnsafeContinuation<RedisConnection, any Error>)

    private struct State {
        var idle: [RedisConnection] = []
        var all: [RedisConnection] = []
        /// Connections taken out by ``retire(_:)`` and still closing.
        var retired: [RedisConnection] = []
        var waiters: Deque<Waiter> = []
        var cancelledWaiters: Set<Int> = []
        var nextWaiterID = 0
        /// How many connections were ever made (names the next one).
        var madeTotal = 0
        var isClosed = false

        /// Makes a connection and counts it among ``all``.
        mutating func makeConnection(_ make: (Int) -> RedisConnection) -> RedisConnection {
            let connection = make(madeTotal)
            madeTotal += 1
            all.append(connection)
            return connection
        }
    }

    /// What ``acquire()`` does once the lock is released.
    private enum Grant {
        case connection(RedisConnection)
        case failure(any Error)
        case wait
    }

    private let limit: Int
    private let make: @Sendable (Int) -> RedisConnection
    private let state = GuardedState(State())

    init(limit: Int, make: @escaping @Sendable (Int) -> RedisConnection) {
        self.limit = limit
        self.make = make
    }

    /// A connection for the caller alone; waits while `limit` are lent.
    ///
    /// - Throws: `CancellationError` when the caller is cancelled while waiting;
    ///   ``RedisClientError`` of kind `poolClosed` after ``close()``.
    func acquire() async throws -> RedisConnection {
        let id: Int = state.withLock {
            $0.nextWaiterID += 1
            return $0.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withUnsafeThrowingContinuation { continuation in
                let grant = state.withLock { state -> Grant in
                    if state.isClosed {
                        return .failure(RedisClientError(.poolClosed, "the Redis connection pool is closed"))
                    } else if state.cancelledWaiters.remove(id) != nil {
                        return .failure(CancellationError())
                    } else if let connection = state.idle.popLast() {
                        return .connection(connection)
                    } else if state.all.count < limit {
                        return .connection(state.makeConnection(make))
                    } else {
                        state.waiters.append((id, continuation))
                        return .wait
                    }
                }
                switch grant {
                case .connection(let connection): continuation.resume(returning: connection)
                case .failure(let error): continuation.resume(throwing: error)
                case .wait: break
                }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                if let index = state.waiters.firstIndex(where: { $0.id == id }) {
                    return state.waiters.remove(at: index)
                }
                state.cancelledWaiters.insert(id)
                return nil
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Gives `connection` back: to the first waiter, or to the idle list.
    func release(_ connection: RedisConnection) {
        let waiter = state.withLock { state -> Waiter? in
            if let waiter = state.waiters.popFirst() { return waiter }
            state.idle.append(connection)
            return nil
        }
        waiter?.continuation.resume(returning: connection)
    }

    /// Takes `connection` out of the leases for good and closes it in the background (a task
    /// that escaped its lease may still be using it); the first waiter gets a new connection.
    func retire(_ connection: RedisConnection) {
        let handoff = state.withLock { state -> (UnsafeContinuation<RedisConnection, any Error>, RedisConnection)? in
            state.all.removeAll { $0 === connection }
            state.retired.append(connection)
            guard !state.isClosed, let waiter = state.waiters.popFirst() else { return nil }
            return (waiter.continuation, state.makeConnection(make))
        }
        if let (continuation, made) = handoff { continuation.resume(returning: made) }
        Task {
            await connection.close()
            state.withLock { $0.retired.removeAll { $0 === connection } }
        }
    }

    /// Fails the waiters and closes every connection made (a lease still running sees its
    /// commands fail with `poolClosed`).
    func close() async {
        let (connections, waiting) = state.withLock { state -> ([RedisConnection], [Waiter]) in
            state.isClosed = true
            defer {
                state.waiters.removeAll()
                state.idle.removeAll()
            }
            // (An empty Deque copied to an Array writes to the shared empty-array storage, which
            // ThreadSanitizer reports as a race between two pools closing at once.)
            return (
                state.retired.isEmpty ? state.all : state.all + state.retired,
                state.waiters.isEmpty ? [] : Array(state.waiters)
            )
        }
        let error = RedisClientError(.poolClosed, "the Redis connection pool is closed")
        for waiter in waiting { waiter.continuation.resume(throwing: error) }
        for connection in connections { await connection.close() }
    }

    /// How many connections were made for leases (for tests).
    var madeCount: Int { state.withLock { $0.all.count } }
}
