import ConnectorStatus
import EmbeddedRedis
import Foundation
import Logging
import RedisClient
import Testing

/// The Redis the status tests share: `REDIS_TEST_URL` (set by scripts/test.sh), else one
/// embedded server for the whole test process. Every test uses its own namespace, so tests run
/// in parallel without seeing each other's keys.
enum StatusTestRedis {
    static let url: String = {
        if let url = ProcessInfo.processInfo.environment["REDIS_TEST_URL"], !url.isEmpty { return url }
        // Runs once, at first use, before any test has a pool: a short blocking start is fine.
        guard let server = try? EmbeddedRedisServer.start() else { return "redis://127.0.0.1:1" }
        embedded.lock()
        embeddedServer = server
        embedded.unlock()
        atexit {
            StatusTestRedis.embedded.lock()
            StatusTestRedis.embeddedServer?.stop()
            StatusTestRedis.embedded.unlock()
        }
        return server.url
    }()
    static let embedded = NSLock()
    nonisolated(unsafe) static var embeddedServer: EmbeddedRedisServer?
}

/// A client plus a store in a fresh namespace; `close()` deletes nothing (namespaces are unique).
///
/// `REDIS_TEST_URL` may name any deployment (`redis://`, `redis-cluster://`,
/// `redis-sentinel://`): the same tests then run against it.
struct StatusFixture {
    let pool: any RedisCommandClient
    let keys: KeySpace
    let store: StatusStore

    /// Whether the tests run against a Redis Cluster.
    static var isCluster: Bool { StatusTestRedis.url.hasPrefix("redis-cluster://") }

    /// A new client to the test deployment.
    static func makeClient(poolSize: Int = 2) throws -> any RedisCommandClient {
        try RedisDeployment(url: StatusTestRedis.url).withConfiguration { $0.poolSize = poolSize }.makeClient()
    }

    init(poolSize: Int = 2, maxDataBytes: Int = 64 * 1024) throws {
        pool = try Self.makeClient(poolSize: poolSize)
        keys = try KeySpace(namespace: "t" + UUID().uuidString.prefix(12).replacingOccurrences(of: "-", with: ""))
        store = StatusStore(
            redis: pool, keys: keys, limits: StatusLimits(maxDataBytes: maxDataBytes),
            logger: Logger(label: "test"))
    }

    func close() async { await pool.close() }
}

func connector(_ text: String) throws -> ConnectorID { try ConnectorID(text) }
func line(_ number: Int64) throws -> LineID { try LineID(number) }

/// Waits until `condition` holds (polling), at most `timeout`.
func eventually(timeout: Duration = .seconds(5), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return try await condition()
}

/// Runs blocking `work` (waiting for a process, reading a pipe) on a new thread, so that it never
/// holds one of the cooperative pool's few threads while other tests need them.
func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread { continuation.resume(with: Result { try work() }) }.start()
    }
}
