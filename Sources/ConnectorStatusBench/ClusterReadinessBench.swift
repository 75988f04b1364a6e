import ConnectorStatus
import Foundation
import Logging
import RedisClient

/// Readiness checks (`EVALSHA status_ready`) from many concurrent callers for a fixed time,
/// against any deployment: the figure the cluster benchmark compares between one server and a
/// Redis Cluster. Also status writes with and without `WAIT` (the durable option's cost).
public struct ClusterReadinessBench {
    /// Pairs prepared per run: `lines` lines × `connectorsPerLine` connectors, all ready.
    static let lines = 100
    static let connectorsPerLine = 10

    /// Concurrent callers of each measurement.
    public let callers: Int
    /// How long each measurement runs.
    public let duration: Duration

    /// A benchmark of `callers` callers for `duration` per figure.
    public init(callers: Int, duration: Duration) {
        self.callers = callers
        self.duration = duration
    }

    /// Writes the pairs (bring-up) in a fresh namespace and returns the store and its pairs
    /// (`EVALSHA` of the update script, 100 tasks). Throws `ConnectorStatusError`.
    public static func prepare(
        _ redis: any RedisCommandClient, durability: WriteDurability = .asynchronous, logger: Logger
    )
        async throws
        -> (StatusStore, [StatusPair])
    {
        let keys = try KeySpace(namespace: "bench" + UUID().uuidString.prefix(8).lowercased())
        let store = StatusStore(redis: redis, keys: keys, durability: durability, logger: logger)
        var pairs: [StatusPair] = []
        for line in 1...lines {
            for index in 0..<connectorsPerLine {
                pairs.append(StatusPair(connector: try ConnectorID("c\(index)"), line: try LineID(Int64(line))))
            }
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for chunk in stride(from: 0, to: pairs.count, by: 100) {
                let slice = pairs[chunk..<min(chunk + 100, pairs.count)]
                group.addTask { for pair in slice { try await store.bringUp(pair.connector, line: pair.line) } }
            }
            try await group.waitForAll()
        }
        return (store, pairs)
    }

    /// Removes what ``prepare(_:durability:logger:)`` wrote (the delete-line script per line).
    /// Throws `ConnectorStatusError`.
    public static func remove(_ store: StatusStore, _ pairs: [StatusPair]) async throws {
        for line in Set(pairs.map(\.line)) { try await store.deleteAll(line: line) }
    }

    /// `callers` tasks each checking readiness of random pairs until `duration` has passed.
    public func readinessOpsPerSecond(_ store: StatusStore, _ pairs: [StatusPair]) async throws -> Double {
        try await run { index in
            let pair = pairs[index % pairs.count]
            guard try await store.isReady(pair.connector, line: pair.line) else {
                throw BenchError("pair \(pair) should be ready")
            }
        }
    }

    /// `callers` tasks each flipping the DATA of random pairs (a real write every time).
    public func updateOpsPerSecond(_ store: StatusStore, _ pairs: [StatusPair]) async throws -> Double {
        try await run { index in
            let pair = pairs[index % pairs.count]
            try await store.update(pair.connector, line: pair.line, StatusChange(data: "{\"n\":\(index)}"))
        }
    }

    /// Runs `operation` from `callers` tasks for `duration`; returns operations per second.
    private func run(_ operation: @escaping @Sendable (Int) async throws -> Void) async throws -> Double {
        let start = ContinuousClock.now
        let deadline = start + duration
        let callers = self.callers
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for caller in 0..<callers {
                group.addTask {
                    var done = 0
                    var index = caller * 7919
                    while ContinuousClock.now < deadline {
                        try await operation(index)
                        index &+= 104_729
                        done += 1
                    }
                    return done
                }
            }
            return try await group.reduce(0, +)
        }
        return Double(total) / (ContinuousClock.now - start).seconds
    }

    /// `cmdstat_evalsha` calls on each master (to show how the load spread over the nodes):
    /// `INFO commandstats` on every master; a master that does not answer is left out.
    public static func evalshaCalls(_ redis: any RedisCommandClient) async -> [String: Int] {
        var calls: [String: Int] = [:]
        for (endpoint, result) in await redis.sendToEveryMaster(RedisCommand("INFO", "commandstats")) {
            guard let text = (try? result.get())?.string else { continue }
            let line = text.split(whereSeparator: \.isNewline).first { $0.hasPrefix("cmdstat_evalsha:") }
            let value = line?.split(separator: ",").first?.split(separator: "=").last.flatMap { Int($0) }
            calls[endpoint.description] = value ?? 0
        }
        return calls
    }
}
