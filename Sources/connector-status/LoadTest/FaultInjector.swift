import EmbeddedRedis
import Foundation
import RedisClient

/// Injects faults at random moments while a load test runs — restarting the embedded
/// redis-server (only when there is one: a server of our own to kill) or killing every client
/// connection (`CLIENT KILL TYPE normal`, on every master of a cluster) — and measures how long
/// Redis takes to answer again after each.
final class FaultInjector: @unchecked Sendable {
    /// What can be injected.
    enum Kind: String, Sendable, Hashable {
        /// Kill and restart the embedded redis-server.
        case restart
        /// `CLIENT KILL TYPE normal SKIPME yes` on every master.
        case kill
    }

    struct Fault: Codable, Sendable {
        var kind: String
        var atSeconds: Double
        var recoveryMilliseconds: Double
    }

    private let redis: any RedisCommandClient
    private let embedded: EmbeddedRedisServer?
    private let kinds: Set<Kind>
    private let lock = NSLock()
    private var faults: [Fault] = []  // guarded by lock
    private let started = ContinuousClock.now

    /// - Parameter kinds: the faults to pick from; `restart` is left out without `embedded`.
    init(redis: any RedisCommandClient, embedded: EmbeddedRedisServer?, kinds: Set<Kind>) {
        self.redis = redis
        self.embedded = embedded
        self.kinds = embedded == nil ? kinds.subtracting([.restart]) : kinds
    }

    /// Runs until cancelled: a fault every 1.5–4 s.
    func run() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(Int.random(in: 1500...4000)))
            if Task.isCancelled { break }
            guard let kind = kinds.randomElement() else { break }
            let restart = kind == .restart
            let at = (ContinuousClock.now - started).secondsValue
            let faultTime = ContinuousClock.now
            if restart, let embedded {
                embedded.kill()
                try? await embedded.restart()
            } else {
                _ = await redis.sendToEveryMaster(RedisCommand("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"))
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
            if (try? await redis.send("PING")) != nil,
                (try? await redis.send("SET", "loadtest:probe", "1", "PX", 1000)) != nil
            {
                return .now
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return .now
    }
}
