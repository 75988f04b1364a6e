import EmbeddedRedis
import Foundation
import RedisClient

/// Injects faults at random moments while a load test runs — restarting the embedded
/// redis-server (when there is one) or killing every client connection (`CLIENT KILL TYPE
/// normal`) — and measures how long Redis takes to answer again after each.
final class FaultInjector: @unchecked Sendable {
    struct Fault: Codable, Sendable {
        var kind: String
        var atSeconds: Double
        var recoveryMilliseconds: Double
    }

    private let pool: RedisConnectionPool
    private let embedded: EmbeddedRedisServer?
    private let lock = NSLock()
    private var faults: [Fault] = []  // guarded by lock
    private let started = ContinuousClock.now

    init(pool: RedisConnectionPool, embedded: EmbeddedRedisServer?) {
        self.pool = pool
        self.embedded = embedded
    }

    /// Runs until cancelled: a fault every 1.5–4 s.
    func run() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(Int.random(in: 1500...4000)))
            if Task.isCancelled { break }
            let restart = embedded != nil && Bool.random()
            let at = (ContinuousClock.now - started).secondsValue
            let faultTime = ContinuousClock.now
            if restart, let embedded {
                embedded.kill()
                try? await embedded.restart()
            } else {
                _ = try? await pool.send("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
            }
            let recovered = await waitUntilAnswering()
            let fault = Fault(
                kind: restart ? "redis restart" : "client kill", atSeconds: at,
                recoveryMilliseconds: (recovered - faultTime).secondsValue * 1000)
            lock.withLock { faults.append(fault) }
        }
    }

    /// The faults injected so far.
    func finish() async -> [Fault] { lock.withLock { faults } }

    /// Polls with PING and a write until both succeed; returns when.
    private func waitUntilAnswering() async -> ContinuousClock.Instant {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if (try? await pool.send("PING")) != nil,
                (try? await pool.send("SET", "loadtest:probe", "1", "PX", 1000)) != nil
            {
                return .now
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return .now
    }
}
