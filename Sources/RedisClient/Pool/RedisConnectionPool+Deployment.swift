extension RedisConnectionPool {
    /// One step of `SCAN cursor MATCH pattern COUNT count [TYPE type]` on this pool's server.
    ///
    /// - Throws: as ``send(_:)``; ``RedisClientError`` of kind `unexpectedReply` when the reply
    ///   is not a SCAN reply.
    public func scan(cursor: String, matching pattern: String, count: Int, type: String?) async throws -> (
        cursor: String, keys: [String]
    ) {
        var command = RedisCommand("SCAN", cursor, "MATCH", pattern, "COUNT", count)
        if let type {
            command.append("TYPE")
            command.append(type)
        }
        try lifecycle.enter()
        defer { lifecycle.leave() }
        let reply: RedisValue
        if let tracing {
            reply = try await tracing.trace(command) { _ in try await sendChecked(command) }
        } else {
            reply = try await sendChecked(command)
        }
        return try Self.parseScanReply(reply)
    }

    /// Sends `command` then `WAIT replicas timeout` on one connection; see
    /// ``RedisCommandClient/sendDurably(_:replicas:timeout:)``.
    public func sendDurably(_ command: RedisCommand, replicas: Int, timeout: Duration) async throws -> (
        reply: RedisValue, acknowledged: Int
    ) {
        try lifecycle.enter()
        defer { lifecycle.leave() }
        guard let tracing else {
            return try await sendDurably(command, replicas: replicas, timeout: timeout, asking: false)
        }
        return try await tracing.trace(command) { _ in
            try await sendDurably(command, replicas: replicas, timeout: timeout, asking: false)
        }
    }

    /// The same, after `ASKING` when `asking` (a cluster slot being migrated).
    func sendDurably(_ command: RedisCommand, replicas: Int, timeout: Duration, asking: Bool) async throws -> (
        reply: RedisValue, acknowledged: Int
    ) {
        // `WAIT n 0` would block forever, and a WAIT longer than the command timeout would be
        // cut off by it: refuse both before sending anything.
        guard replicas >= 0, timeout > .zero, timeout < configuration.commandTimeout else {
            throw RedisClientError(
                .invalidArgument,
                "WAIT needs replicas >= 0 and 0 < timeout < the command timeout (\(configuration.commandTimeout))")
        }
        let wait = RedisCommand("WAIT", replicas, Int(timeout.pollMilliseconds))
        let results = await sendContiguously(before: asking ? [RedisCommand("ASKING")] : [], command, after: [wait])
        let reply = try results[results.startIndex].get()
        let acknowledged = try results[results.startIndex + 1].get()
        guard let count = acknowledged.int else {
            throw RedisClientError(.unexpectedReply, "WAIT returned \(acknowledged)")
        }
        return (reply, Int(count))
    }

    /// Sends `command` to this pool's server: a pool has one master. The endpoint reported is the
    /// configured one (behind Sentinel: the first sentinel's address, not the master's; ask the
    /// server, e.g. `CLIENT INFO`, for where the connection went).
    public func sendToEveryMaster(_ command: RedisCommand) async -> [(
        endpoint: RedisEndpoint, result: Result<RedisValue, any Error>
    )] {
        let result: Result<RedisValue, any Error>
        do {
            result = .success(try await send(command))
        } catch {
            result = .failure(error)
        }
        return [(configuration.endpoint, result)]
    }

    /// Splits a `SCAN` reply into the next cursor and the keys.
    static func parseScanReply(_ reply: RedisValue) throws(RedisClientError) -> (cursor: String, keys: [String]) {
        guard let parts = reply.array, parts.count == 2, let next = parts[0].string, let found = parts[1].array else {
            throw RedisClientError(.unexpectedReply, "SCAN returned \(reply)")
        }
        return (next, found.compactMap(\.string))
    }
}
