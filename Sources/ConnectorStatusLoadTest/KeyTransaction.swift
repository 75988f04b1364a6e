import Foundation
import Logging
import RedisClient

/// Runs `MULTI … EXEC` around commands on one key, on the server that holds the key.
///
/// One server or Sentinel: the client's own pipeline, whose commands go contiguously on one
/// connection. A cluster client splits a pipeline by node and sends `MULTI` and `EXEC` (which
/// name no key) to any master, so on a cluster the transaction goes through a pool of our own
/// to the master that serves the key's slot (found in the client's slot map, with the
/// cluster's credentials); a `MOVED` or `ASK` inside it makes the transaction fail (the caller
/// skips that check) and refreshes the map.
final class KeyTransaction: Sendable {
    private let redis: any RedisCommandClient
    private let logger: Logger
    private struct Pools {
        var byMaster: [RedisEndpoint: RedisConnectionPool] = [:]
        var isClosed = false
    }

    private let pools = GuardedState(Pools())

    init(redis: any RedisCommandClient, logger: Logger) {
        self.redis = redis
        self.logger = logger
    }

    /// `[MULTI] + commands + [EXEC]`, one result each; never throws.
    func run(_ commands: [RedisCommand], key: String) async -> [Result<RedisValue, any Error>] {
        let wrapped = [RedisCommand("MULTI")] + commands + [RedisCommand("EXEC")]
        guard let cluster = redis as? RedisClusterClient else { return await redis.pipeline(wrapped) }
        let results: [Result<RedisValue, any Error>]
        do {
            guard let master = try await cluster.currentTopology().master(forKey: key) else {
                throw RedisClientError(.clusterUnavailable, "no master serves the slot of the key")
            }
            results = await (try pool(for: master, template: cluster.template)).pipeline(wrapped)
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

    /// Closes the pools made for a cluster's masters.
    func close() async {
        let open = pools.withLock { pools in
            pools.isClosed = true
            defer { pools.byMaster = [:] }
            return Array(pools.byMaster.values)
        }
        for pool in open { await pool.close() }
    }

    private func pool(for master: RedisEndpoint, template: RedisConfiguration) throws -> RedisConnectionPool {
        try pools.withLock { pools in
            if pools.isClosed { throw RedisClientError(.poolClosed, "the transaction pools are closed") }
            if let pool = pools.byMaster[master] { return pool }
            var configuration = template
            configuration.endpoint = master
            configuration.poolSize = 1
            let pool = try RedisConnectionPool(configuration: configuration, logger: logger)
            pools.byMaster[master] = pool
            return pool
        }
    }
}
