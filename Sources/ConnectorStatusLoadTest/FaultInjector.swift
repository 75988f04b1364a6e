import EmbeddedRedis
import Foundation
import Logging
import RedisClient

/// Injects faults at random moments while a load test runs — restarting the embedded
/// redis-server (only when there is one: a server of our own to kill) or killing the load test's
/// client connections (those named `clientName`, on every master of a cluster; other clients of
/// a shared Redis are left alone) — and measures how long Redis takes to answer again after each.
///
/// Redis commands: `CLIENT LIST TYPE normal` and `CLIENT KILL ID … SKIPME yes` on every master
/// (a cluster: through a pool of its own to each master, from `CLUSTER SLOTS`); then `PING` and
/// `SET probeKey 1 PX 1000` until both succeed. A restart kills the embedded server's process
/// and starts it again on the same address and data directory.
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
    private struct State {
        var masterPools: [RedisEndpoint: RedisConnectionPool] = [:]
        var faults: [Fault] = []
    }

    private let state = GuardedState(State())
    private let started = ContinuousClock.now

    /// - Parameters:
    ///   - redis: the run's client: its masters get the `kill`s and the probe's `PING` and write.
    ///   - embedded: the embedded server to restart, when the run has one; `nil` otherwise.
    ///   - kinds: the faults to pick from; `restart` is left out without `embedded`.
    ///   - clientName: the `CLIENT SETNAME` of every connection of the run (coordinator,
    ///     instances, probe): the connections a `kill` closes.
    ///   - probeKey: the key (in the run's namespace: `KeySpace.toolKey("probe")`) written to
    ///     tell that Redis answers again; it expires after a second.
    ///   - logger: for the pools made to a cluster's masters.
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
            state.withLock { $0.faults.append(fault) }
        }
    }

    /// The faults injected so far; closes the connections made to a cluster's masters.
    public func finish() async -> [Fault] {
        let (found, pools) = state.withLock { state in
            defer { state.masterPools = [:] }
            return (state.faults, Array(state.masterPools.values))
        }
        for pool in pools { await pool.close() }
        return found
    }

    /// Closes every connection named ``clientName`` on every master: `CLIENT LIST TYPE normal`,
    /// then `CLIENT KILL ID id SKIPME yes` for each (the connection asking survives).
    private func killClients() async {
        for server in await masters() {
            guard let list = try? await server.send("CLIENT", "LIST", "TYPE", "normal").string else { continue }
            let ids = list.split(whereSeparator: \.isNewline).compactMap { line -> String? in
                let fields = line.split(separator: " ")
                guard fields.contains(Substring("name=\(clientName)")) else { return nil }
                return fields.first { $0.hasPrefix("id=") }.map { String($0.dropFirst(3)) }
            }
            _ = await server.pipeline(ids.map { RedisCommand("CLIENT", "KILL", "ID", $0, "SKIPME", "yes") })
        }
    }

    /// A client per master: the client itself for one server or Sentinel (its keyless commands
    /// go to the one master); on a cluster, a pool of our own (unnamed) to each master.
    private func masters() async -> [any RedisCommandClient] {
        guard let cluster = redis as? RedisClusterClient else { return [redis] }
        guard let topology = try? await cluster.currentTopology() else { return [] }
        return topology.masters.compactMap { master in
            state.withLock { state -> RedisConnectionPool? in
                if let pool = state.masterPools[master] { return pool }
                var configuration = cluster.template
                configuration.endpoint = master
                configuration.poolSize = 1
                configuration.clientName = nil
                guard let pool = try? RedisConnectionPool(configuration: configuration, logger: logger)
                else { return nil }
                state.masterPools[master] = pool
                return pool
            }
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
