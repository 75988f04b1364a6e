import RedisClient

/// Runs `MULTI … EXEC` around commands on one key, on the server that holds the key.
///
/// One server or Sentinel: the client's own pipeline, whose commands go contiguously on one
/// connection. A cluster client splits a pipeline by node and sends `MULTI` and `EXEC` (which
/// name no key) to any master, so on a cluster the transaction goes on a connection the client
/// lends to the master that serves the key's slot
/// (`RedisClusterClient.withConnection(forKey:_:)`); a `MOVED` or `ASK` inside it makes the
/// transaction fail (the caller skips that check) and refreshes the slot map.
struct KeyTransaction: Sendable {
    let redis: any RedisCommandClient

    /// `[MULTI] + commands + [EXEC]`, one result each; never throws.
    func run(_ commands: [RedisCommand], key: String) async -> [Result<RedisValue, any Error>] {
        let wrapped = [RedisCommand("MULTI")] + commands + [RedisCommand("EXEC")]
        guard let cluster = redis as? RedisClusterClient else { return await redis.pipeline(wrapped) }
        let results: [Result<RedisValue, any Error>]
        do {
            results = try await cluster.withConnection(forKey: key) { connection in
                await connection.pipeline(wrapped)
            }
        } catch {
            return wrapped.map { _ in .failure(error) }
        }
        let redirected = results.contains { result in
            guard case .failure(let error as RedisServerError) = result else { return false }
            return error.code == "MOVED" || error.code == "ASK"
        }
        if redirected { _ = try? await cluster.refreshTopology() }
        return results
    }
}
