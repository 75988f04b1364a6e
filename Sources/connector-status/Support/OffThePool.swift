import EmbeddedRedis
import Foundation

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
