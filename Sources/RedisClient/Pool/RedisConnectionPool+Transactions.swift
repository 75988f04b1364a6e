extension RedisConnectionPool {
    /// Sends `MULTI`, `commands`, `EXEC` contiguously on one connection (nothing else can come
    /// between them) and returns each command's result from `EXEC`'s reply.
    ///
    /// Scripts among the commands are loaded (`SCRIPT LOAD`) just before `MULTI`, in the same
    /// write, so `EVALSHA` cannot fail with `NOSCRIPT` inside the transaction. A cancelled caller
    /// that had not been written is never sent; one already written runs whole.
    ///
    /// - Parameter commands: the commands, none of them refused by ``send(_:)`` (so no `MULTI`,
    ///   `EXEC` or `WATCH`: for `WATCH`, use ``withConnection(_:)`` and
    ///   ``RedisLeasedConnection/transaction(_:)``).
    /// - Returns: one result per command: the reply, or the ``RedisServerError`` that command
    ///   raised while the others ran (Redis does not roll back).
    /// - Throws: ``RedisClientError`` of kind `invalidArgument` (no commands, or a refused one:
    ///   nothing sent); the ``RedisServerError`` of the first command Redis refused to queue
    ///   (a wrong arity, an unknown command, a `MOVED` on a cluster: then none ran);
    ///   ``RedisClientError`` for connection failures, as ``send(_:)``.
    public func transaction(_ commands: [RedisCommand]) async throws -> [Result<RedisValue, any Error>] {
        try lifecycle.enter()
        defer { lifecycle.leave() }
        guard let tracing else { return try await transactionAdmitted(commands) }
        return try await tracing.traceBatch("MULTI", count: commands.count) { try await transactionAdmitted(commands) }
    }

    /// ``transaction(_:)`` without admission (for calls admitted already).
    func transactionAdmitted(_ commands: [RedisCommand]) async throws -> [Result<RedisValue, any Error>] {
        for command in commands {
            if let refusal = command.sharedConnectionRefusal() { throw refusal }
        }
        let wire = try RedisTransaction.wireCommands(commands)
        return try RedisTransaction.results(await sendBatch(wire), commands: commands)
    }

    /// The same after `ASKING` (a cluster slot being imported): `ASKING` right before `MULTI`;
    /// Redis keeps the asking flag for the whole transaction.
    func transaction(_ commands: [RedisCommand], asking: Bool) async throws -> [Result<RedisValue, any Error>] {
        guard asking else { return try await transactionAdmitted(commands) }
        let wire = try RedisTransaction.wireCommands(commands, asking: true)
        return try RedisTransaction.results(await sendBatch(wire), commands: commands)
    }

    /// Lends one connection to `body` alone for as long as it runs, for work that needs
    /// connection state: `WATCH` … `MULTI` … `EXEC`, several blocking commands in a row, and the
    /// like (see ``RedisLeasedConnection`` for what is allowed on it).
    ///
    /// Leased connections are apart from the shared ones (the pool's traffic never waits for a
    /// lease); at most ``RedisConfiguration/poolSize`` are lent at once and further callers wait
    /// for one to come back. They are made on first use and kept for the next lease.
    ///
    /// ```swift
    /// let result = try await pool.withConnection { connection in
    ///     try await connection.send("WATCH", key)
    ///     let value = Int(try await connection.send("GET", key).string ?? "0") ?? 0
    ///     return try await connection.transaction([RedisCommand("SET", key, value + 1)])
    /// }
    /// ```
    ///
    /// Called again inside `body` on the same pool (also from a task `body` starts: task-local
    /// values are inherited, so use `Task.detached` for work that must outlive the lease), it
    /// throws instead of waiting: the inner call would wait for a lease only the outer one can
    /// give back. Use the connection you hold, or the pool's shared ``send(_:)``.
    ///
    /// - Throws: what `body` throws; `CancellationError` when cancelled while waiting for a
    ///   connection; ``RedisClientError`` of kind `poolClosed` after ``close()``, of kind
    ///   `invalidArgument` when nested in a lease of the same pool, `shuttingDown` once a graceful
    ///   shutdown began (a lease already lent runs to its end).
    public func withConnection<Value: Sendable>(
        _ body: (RedisLeasedConnection) async throws -> Value
    ) async throws -> Value {
        let pool = ObjectIdentifier(self)
        let held = Self.poolsLeasedByThisTask
        if held.contains(pool) {
            throw RedisClientError(
                .invalidArgument,
                "withConnection inside withConnection on the same pool would wait for its own lease; "
                    + "use the leased connection you hold, or send(_:)")
        }
        try lifecycle.enter()
        defer { lifecycle.leave() }
        let connection = try await leases.acquire()
        let lease = RedisLeasedConnection(connection: connection)
        let result: Result<Value, any Error>
        do {
            result = .success(
                try await Self.$poolsLeasedByThisTask.withValue(held.union([pool])) { try await body(lease) })
        } catch {
            result = .failure(error)
        }
        let (usedTransactionState, stillInUse) = lease.end()
        if stillInUse {
            // A task that escaped the closure still uses the lease: whatever it writes next must
            // not meet the next lease. Close this connection; a new one takes its place.
            leases.retire(connection)
        } else {
            if usedTransactionState {
                // Not cancellable: the next lease must start without this one's WATCH or MULTI.
                await Task { await RedisLeasedConnection.reset(connection) }.value
            }
            leases.release(connection)
        }
        return try result.get()
    }

    /// The pools whose ``withConnection(_:)`` closure the current task runs in (a nested lease
    /// of one of them is refused).
    @TaskLocal static var poolsLeasedByThisTask: Set<ObjectIdentifier> = []

    /// The same as ``withConnection(_:)``: one server serves every key.
    public func withConnection<Value: Sendable>(
        forKey key: String, _ body: (RedisLeasedConnection) async throws -> Value
    ) async throws -> Value {
        try await withConnection(body)
    }

    /// Why a pipeline may not run on a shared connection, or `nil`: a command ``send(_:)``
    /// refuses, `WATCH`/`UNWATCH`, or a `MULTI` without its `EXEC`/`DISCARD` (or the reverse).
    static func pipelineRefusal(_ commands: [RedisCommand]) -> RedisClientError? {
        var inMulti = false
        for command in commands {
            guard let refusal = command.sharedConnectionRefusal() else { continue }
            switch command.name.uppercased() {
            case "MULTI" where !inMulti: inMulti = true
            case "EXEC" where inMulti, "DISCARD" where inMulti: inMulti = false
            default: return refusal
            }
        }
        if inMulti {
            return RedisClientError(
                .invalidArgument, "MULTI without EXEC or DISCARD in a pipeline; use transaction(_:) for MULTI…EXEC")
        }
        return nil
    }
}

/// How a transaction goes on the wire and how its replies are read.
enum RedisTransaction {
    /// `SCRIPT LOAD` for each script, `ASKING` when asked, `MULTI`, the commands, `EXEC`.
    static func wireCommands(_ commands: [RedisCommand], asking: Bool = false) throws(RedisClientError)
        -> [RedisCommand]
    {
        guard !commands.isEmpty else {
            throw RedisClientError(.invalidArgument, "a transaction needs at least one command")
        }
        var scripts: [RedisScript] = []
        for command in commands {
            if let script = command.script, !scripts.contains(script) { scripts.append(script) }
        }
        var wire = scripts.map { RedisCommand("SCRIPT", "LOAD", $0.source) }
        if asking { wire.append(RedisCommand("ASKING")) }
        wire.append(RedisCommand("MULTI"))
        wire.append(contentsOf: commands)
        wire.append(RedisCommand("EXEC"))
        return wire
    }

    /// Reads the replies of ``wireCommands(_:asking:)``: one result per command from `EXEC`
    /// (the replies before `MULTI`'s are ignored).
    static func results(
        _ replies: [Result<RedisValue, any Error>], commands: [RedisCommand]
    ) throws -> [Result<RedisValue, any Error>] {
        let multiIndex = replies.count - commands.count - 2
        // MULTI's own reply: a connection failure or cancellation shows here first.
        _ = try replies[multiIndex].get()
        // A command Redis refused to queue aborts the whole transaction: report that command's
        // error (EXEC only says EXECABORT).
        for index in (multiIndex + 1)..<(replies.count - 1) {
            if case .failure(let error) = replies[index] { throw error }
        }
        let exec = try replies[replies.count - 1].get()
        if exec.isNull {
            throw RedisClientError(.transactionAborted, "EXEC aborted the transaction: a watched key changed")
        }
        guard let items = exec.array, items.count == commands.count else {
            throw RedisClientError(.unexpectedReply, "EXEC returned \(exec) for \(commands.count) commands")
        }
        return items.map { item in
            if case .error(let error) = item { return .failure(error) }
            return .success(item)
        }
    }
}
