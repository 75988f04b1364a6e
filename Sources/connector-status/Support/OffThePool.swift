import EmbeddedRedis
import Foundation
import Logging
import RedisClient

/// Runs blocking `work` (waiting for a process, reading a pipe to its end) on a thread of its
/// own and returns its result, so that it never holds one of Swift's few cooperative threads.
func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}

/// Runs `body`, then stops `server` (when there is one) off the cooperative pool, whether `body`
/// returns or throws.
func stopping<T>(_ server: EmbeddedRedisServer?, after body: () async throws -> T) async throws -> T {
    let result: T
    do {
        result = try await body()
    } catch {
        await server?.stopOffThePool()
        throw error
    }
    await server?.stopOffThePool()
    return result
}

/// Makes a client for `deployment`, runs `body` with it, then closes the client and stops
/// `server` (when there is one), whether `body` returns or throws; the server is stopped also
/// when the client cannot be made.
func withClient<T>(
    _ deployment: RedisDeployment, logger: Logger, stopping server: EmbeddedRedisServer?,
    _ body: (any RedisCommandClient) async throws -> T
) async throws -> T {
    try await stopping(server) {
        let redis = try deployment.makeClient(logger: logger)
        do {
            let result = try await body(redis)
            await redis.close()
            return result
        } catch {
            await redis.close()
            throw error
        }
    }
}
