/// One connection lent to one caller by ``RedisConnectionPool/withConnection(_:)`` (or
/// ``RedisClusterClient/withConnection(forKey:_:)``): nothing else is sent on it while the lease
/// lasts, so connection state set by one command holds for the next — `WATCH` before
/// `MULTI … EXEC`, blocking commands, anything that must not share a connection.
///
/// `WATCH`, `UNWATCH`, `MULTI`, `EXEC` and `DISCARD` are allowed here; commands that would break
/// the reply count or the connection's setup (`SUBSCRIBE`, `MONITOR`, `CLIENT REPLY`, `SELECT`,
/// `HELLO`, `AUTH`, `RESET`, `QUIT`, …) are refused as on a shared connection. When the lease
/// ends after a `WATCH` or `MULTI`, `DISCARD` and `UNWATCH` are sent so the next lease starts
/// clean. Use the value only inside the closure: afterwards every call fails with
/// `invalidArgument` (and a connection still in use by a call that escaped the closure is
/// closed rather than lent again).
public final class RedisLeasedConnection: Sendable {
    private let connection: RedisConnection
    private struct State {
        var ended = false
        var usedTransactionState = false
        /// Calls past ``check(_:)`` that have not returned yet.
        var inFlight = 0
    }
    private let state = GuardedState(State())

    init(connection: RedisConnection) {
        self.connection = connection
    }

    /// Sends one command on this connection and returns its reply.
    ///
    /// A cancelled caller returns at once with `CancellationError` (a written command still runs;
    /// its reply is dropped).
    ///
    /// - Throws: ``RedisServerError`` for an error reply; ``RedisClientError`` as
    ///   ``RedisConnectionPool/send(_:)`` (`invalidArgument` for a refused command or after the
    ///   lease ended).
    @discardableResult
    public func send(_ command: RedisCommand) async throws -> RedisValue {
        try check([command])
        defer { done() }
        return try await connection.send(command)
    }

    /// Sends one command built from a name and arguments; see ``send(_:)``.
    @discardableResult
    public func send(_ name: String, _ arguments: any RedisArgumentConvertible...) async throws -> RedisValue {
        try await send(RedisCommand(name, arguments: arguments))
    }

    /// Sends commands back to back on this connection and returns one result per command;
    /// refused commands (or an ended lease) fail every result and nothing is sent.
    public func pipeline(_ commands: [RedisCommand]) async -> [Result<RedisValue, any Error>] {
        guard !commands.isEmpty else { return [] }
        do {
            try check(commands)
        } catch {
            return Array(repeating: .failure(error), count: commands.count)
        }
        defer { done() }
        return await connection.sendBatch(commands)
    }

    /// Sends `MULTI`, `commands`, `EXEC` back to back on this connection; see
    /// ``RedisConnectionPool/transaction(_:)``. After a `WATCH` on this lease, a transaction that
    /// `EXEC` aborts because a watched key changed throws ``RedisClientError`` of kind
    /// `transactionAborted` (nothing ran).
    ///
    /// - Returns: one result per command, from `EXEC`'s reply.
    /// - Throws: as ``RedisConnectionPool/transaction(_:)``.
    public func transaction(_ commands: [RedisCommand]) async throws -> [Result<RedisValue, any Error>] {
        let wire = try RedisTransaction.wireCommands(commands)
        try check([])
        defer { done() }
        return try RedisTransaction.results(await connection.sendBatch(wire), commands: commands)
    }

    private func check(_ commands: [RedisCommand]) throws(RedisClientError) {
        var touchesTransactionState = false
        for command in commands {
            if let refusal = command.sharedConnectionRefusal(leased: true) { throw refusal }
            if command.touchesTransactionState { touchesTransactionState = true }
        }
        // One step with `end()`: a call either counts as in flight when the lease ends, or fails.
        let ended = state.withLock { state in
            if touchesTransactionState { state.usedTransactionState = true }
            if !state.ended { state.inFlight += 1 }
            return state.ended
        }
        if ended {
            throw RedisClientError(
                .invalidArgument, "the connection lease has ended; use the connection only inside withConnection")
        }
    }

    /// A call that passed ``check(_:)`` returned.
    private func done() {
        state.withLock { $0.inFlight -= 1 }
    }

    /// Ends the lease: no call succeeds afterwards. Returns whether `WATCH`/`MULTI` state may be
    /// left on the connection, and whether calls are still running on it (from a task that
    /// escaped the closure: they may still write after any cleanup, so the connection must not
    /// be lent again).
    func end() -> (usedTransactionState: Bool, stillInUse: Bool) {
        state.withLock { state in
            state.ended = true
            return (state.usedTransactionState, state.inFlight > 0)
        }
    }

    /// Leaves no transaction state behind: `DISCARD` ends an open `MULTI` (an error reply when
    /// none is open, ignored), then `UNWATCH`.
    static func reset(_ connection: RedisConnection) async {
        _ = await connection.sendBatch([RedisCommand("DISCARD"), RedisCommand("UNWATCH")])
    }
}
