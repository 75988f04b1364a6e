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
        let reply = try await send(command)
        return try Self.parseScanReply(reply)
    }

    /// Sends `command` to this pool's server: a pool has one master.
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
