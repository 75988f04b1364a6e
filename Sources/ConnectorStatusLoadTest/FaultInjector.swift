import EmbeddedRedis
import Foundation
import Logging
import RedisClient

/// Injects faults at random moments while a load test runs — restarting the embedded
/// redis-server (only when there is one: a server of our own to kill) or killing the load test's
/// client connections (those named `clientName`, on every master of a cluster; other clients of
/// a shared Redis are left alone) — and measures how long Redis takes to answer again after each.
///
/// Redis commands: `CLIENT LIST TYPE normal` and `CLIENT KILL ID … SKIPME yes` on every master,
/// on a connection the run's client lends (a cluster: one to each master of its slot map,
/// `RedisClusterClient.withConnection(toMaster:_:)`; it is spared by `SKIPME`); then `PING`
/// and `SET probeKey 1 PX 1000` until both succeed. A restart kills the embedded server's
/// process and starts it again on the same address and data directory.
public final class FaultInjector: Sendable {
    /// What can be injected.
    public enum Kind: String, Sendable, Hashable {
        /// Kill and restart the embedded redis-server.
        case restart
        /// `CLIENT KILL ID …` of every connection named after the run, on every master.
        case kill
    }

    /// One injected fault and how long Redis took to answer again.
    public struct Fault: Codable, Sendable {
        /// `redis restart` or `client kill`.
        public var kind: String
        /// When, in seconds since the injector was made.
        public var atSeconds: Double
        /// From the fault to the first `PING` and write that both succeeded.
        public var recoveryMilliseconds: Double

        /// A fault as measured.
        public init(kind: String, atSeconds: Double, recoveryMilliseconds: Double) {
            self.kind = kind
            self.atSeconds = atSeconds
            self.recoveryMilliseconds = recoveryMilliseconds
        }
    }

    private let redis: any RedisCommandClient
    private let embedded: EmbeddedRedisServer?
    private let kinds: Set<Kind>
    private let clientName: String
    private let probeKey: String
    private let logger: Logger
    private let faults = GuardedState<[Fault]>([])
    private let started = ContinuousClock.now

    /// - Parameters:
    ///   - redis: the run's client: its masters get the `kill`s and the probe's `PING` and write.
    ///   - embedded: the embedded server to restart, when the run has one; `nil` otherwise.
    ///   - kinds: the faults to pick from; `restart` is left out without `embedded`.
    ///   - clientName: the `CLIENT SETNAME` of every connection of the run (coordinator,
    ///     instances, probe): the connections a `kill` closes.
    ///   - probeKey: the key (in the run's namespace: `KeySpace.toolKey("probe")`) written to
    ///     tell that Redis answers again; it expires after a second.
    ///   - logger: where a master that could not be reached for a `kill` is reported (debug).
    public init(
        redis: any RedisCommandClient, embedded: EmbeddedRedisServer?, kinds: Set<Kind>, clientName: String,
        probeKey: String, logger: Logger
    ) {
        self.redis = redis
        self.logger = logger
        self.clientName = clientName
        self.probeKey = probeKey
        self.embedded = embedded
        self.kinds = embedded == nil ? kinds.subtracting([.restart]) : kinds
    }

    /// Runs until cancelled: a fault every 1.5–4 s. Never throws: a fault that cannot be
    /// injected (a master unreachable) is still timed.
    public func run() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(Int.random(in: 1500...4000)))
            if Task.isCancelled { break }
            guard let kind = kinds.randomElement() else { break }
            let restart = kind == .restart
            let at = (ContinuousClock.now - started).seconds
            let faultTime = ContinuousClock.now
            if restart, let embedded {
                await embedded.killOffThePool()
                try? await embedded.restart()
            } else {
                await killClients()
            }
            let recovered = await waitUntilAnswering()
            let fault = Fault(
                kind: restart ? "redis restart" : "client kill", atSeconds: at,
                recoveryMilliseconds: (recovered - faultTime).milliseconds)
            faults.withLock { $0.append(fault) }
        }
    }

    /// The faults injected so far.
    public func finish() async -> [Fault] {
        faults.withLock { $0 }
    }

    /// Closes every connection named ``clientName`` on every master: `CLIENT LIST TYPE normal`,
    /// then `CLIENT KILL ID id SKIPME yes` for each (the lent connection asking survives).
    private func killClients() async {
        let clientName = clientName
        let kill: @Sendable (RedisLeasedConnection) async throws -> Void = { connection in
            let list = try await connection.send("CLIENT", "LIST", "TYPE", "normal").string ?? ""
            let ids = list.split(whereSeparator: \.isNewline).compactMap { line -> String? in
                let fields = line.split(separator: " ")
                guard fields.contains(Substring("name=\(clientName)")) else { return nil }
                return fields.first { $0.hasPrefix("id=") }.map { String($0.dropFirst(3)) }
            }
            _ = await connection.pipeline(ids.map { RedisCommand("CLIENT", "KILL", "ID", $0, "SKIPME", "yes") })
        }
        do {
            guard let cluster = redis as? RedisClusterClient else {
                // One server or Sentinel: every key is on the one master.
                try await redis.withConnection(forKey: probeKey, kill)
                return
            }
            for master in try await cluster.currentTopology().masters {
                do {
                    try await cluster.withConnection(toMaster: master, kill)
                } catch {
                    logger.debug(
                        "fault injection: a master could not be reached",
                        metadata: ["redis.endpoint": "\(master)", "error": "\(error)"])
                }
            }
        } catch {
            logger.debug("fault injection: Redis could not be reached", metadata: ["error": "\(error)"])
        }
    }

    /// Polls with PING and a write until both succeed; returns when.
    private func waitUntilAnswering() async -> ContinuousClock.Instant {
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if (try? await redis.send("PING")) != nil,
                (try? await redis.send("SET", probeKey, "1", "PX", 1000)) != nil
            {
                return .now
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return .now
    }
}
