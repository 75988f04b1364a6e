import ConnectorStatus
import Foundation
import Logging
import RedisClient

/// The scenarios of the status layer (issue 3): `isReady` through the Lua script, next to
/// `redis-benchmark` running the very same `EVALSHA`, plus `HMGET` of the same hash for scale.
public enum StatusScenarios {
    /// A namespace of this run's own (a fixed one could hold a user's data), removed at the end.
    public static let keys = try! KeySpace(namespace: "bench-" + UUID().uuidString.prefix(8).lowercased())
    static let connector = try! ConnectorID("bench_connector")
    static let line = try! LineID(1)
    static var statusKey: String { keys.status(connector, line: line) }

    static func store(_ pool: RedisConnectionPool, logger: Logger) -> StatusStore {
        StatusStore(redis: pool, keys: keys, logger: logger)
    }

    /// Creates the ready pair the scenarios read and loads the scripts (the status scripts'
    /// `EVALSHA`, `SCRIPT LOAD`), in ``keys``' namespace. Throws `ConnectorStatusError`.
    public static func prepare(_ pool: RedisConnectionPool, logger: Logger) async throws {
        let store = store(pool, logger: logger)
        try await store.deleteAll(line: line)
        try await store.bringUp(connector, line: line)
        try await store.preloadScripts()
    }

    /// The readiness scenarios, sized by `requests`; ``prepare(_:logger:)`` first.
    public static func all(requests: Int, logger: Logger) -> [BenchScenario] {
        let sha = StatusStore.readinessScript.sha1
        let evalsha = ["EVALSHA", sha, "1", statusKey]
        let hmget = ["HMGET", statusKey, "ACTIVE", "CONNECTION", "REGISTER", "ERROR"]
        let hmgetCommand = RedisCommand("HMGET", arguments: Array(hmget.dropFirst()))
        return [
            BenchScenario(
                name: "isReady, 1 caller, serial", referenceDescription: "redis-benchmark -c 1 EVALSHA status_ready",
                targetRatio: 0.9,
                runReference: { try await $0.run(clients: 1, requests: requests / 10, command: evalsha) },
                runOurs: { pool in
                    let store = store(pool, logger: logger)
                    return try await ClientWorkload.serial(pool: pool, requests: requests / 10) { _ in
                        guard try await store.isReady(connector, line: line) else { throw BenchError("not ready") }
                    }
                }),
            BenchScenario(
                name: "isReady, 1 caller, serial, on the pool's executor",
                referenceDescription: "redis-benchmark -c 1 EVALSHA status_ready", targetRatio: 0.9,
                runReference: { try await $0.run(clients: 1, requests: requests / 10, command: evalsha) },
                runOurs: { pool in
                    let store = store(pool, logger: logger)
                    return try await withTaskExecutorPreference(pool.taskExecutor()) {
                        try await ClientWorkload.serial(pool: pool, requests: requests / 10) { _ in
                            guard try await store.isReady(connector, line: line) else { throw BenchError("not ready") }
                        }
                    }
                }),
            BenchScenario(
                name: "isReady, 64 concurrent callers",
                referenceDescription: "redis-benchmark -c 50 EVALSHA status_ready",
                targetRatio: 3.0,
                runReference: { try await $0.run(clients: 50, requests: requests, command: evalsha) },
                runOurs: { pool in
                    let store = store(pool, logger: logger)
                    return try await ClientWorkload.concurrent(pool: pool, requests: requests * 3, callers: 64) { _ in
                        guard try await store.isReady(connector, line: line) else { throw BenchError("not ready") }
                    }
                }),
            BenchScenario(
                name: "raw EVALSHA status_ready (no store layer), 64 concurrent callers",
                referenceDescription: "redis-benchmark -c 50 EVALSHA status_ready", targetRatio: 0,
                runReference: { try await $0.run(clients: 50, requests: requests, command: evalsha) },
                runOurs: { pool in
                    let command = RedisCommand("EVALSHA", arguments: Array(evalsha.dropFirst()))
                    return try await ClientWorkload.concurrent(pool: pool, requests: requests * 3, callers: 64) {
                        try await $0.send(command)
                    }
                }),
            BenchScenario(
                name: "HMGET of the same hash, 64 concurrent callers (no Lua, for scale)",
                referenceDescription: "redis-benchmark -c 50 HMGET", targetRatio: 0,
                runReference: { try await $0.run(clients: 50, requests: requests, command: hmget) },
                runOurs: { pool in
                    try await ClientWorkload.concurrent(pool: pool, requests: requests * 3, callers: 64) {
                        try await $0.send(hmgetCommand)
                    }
                }),
        ]
    }

    /// Batch readiness of 1,000 pairs (50 lines × 20 connectors) in one call: median and p99
    /// of `rounds` calls, in milliseconds; and `MEMORY USAGE` of a typical status hash.
    public static func facts(pool: RedisConnectionPool, rounds: Int = 30, logger: Logger) async throws -> [String] {
        let store = store(pool, logger: logger)
        var pairs: [StatusPair] = []
        for lineNumber in 1...50 {
            for connectorNumber in 0..<20 {
                pairs.append(
                    StatusPair(connector: try ConnectorID("c\(connectorNumber)"), line: try LineID(Int64(lineNumber))))
            }
        }
        for pair in pairs.enumerated() where pair.offset % 2 == 0 {
            try await store.bringUp(pair.element.connector, line: pair.element.line)
        }
        var times: [Double] = []
        for _ in 0..<rounds {
            let start = ContinuousClock.now
            let answer = try await store.readiness(of: pairs)
            times.append((ContinuousClock.now - start).milliseconds)
            guard answer.count == pairs.count else {
                throw BenchError("batch readiness answered \(answer.count) pairs")
            }
        }
        times.sort()
        let typical = try await pool.send("MEMORY", "USAGE", statusKey, "SAMPLES", "0").int ?? -1
        try await store.setData("{\"token\":\"0123456789abcdef\",\"chat\":12345}", connector: connector, line: line)
        let withData = try await pool.send("MEMORY", "USAGE", statusKey, "SAMPLES", "0").int ?? -1
        for lineNumber in 1...50 { try await store.deleteAll(line: try LineID(Int64(lineNumber))) }
        return [
            String(
                format:
                    "Batch readiness of 1,000 pairs (50 lines × 20 connectors) in one call: median %.2f ms, p99 %.2f ms (%d calls)",
                times[times.count / 2], times[min(times.count - 1, times.count * 99 / 100)], rounds),
            "MEMORY USAGE of a status hash: \(typical) bytes (flags, VERSION, UPDATED); \(withData) bytes with 40 bytes of DATA (target ≤ 256)",
        ]
    }
}
