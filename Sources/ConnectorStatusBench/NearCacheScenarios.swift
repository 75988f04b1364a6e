import ConnectorStatus
import Foundation
import Logging
import RedisClient

/// The near cache's scenarios (issue 14): `isReady` (and the synchronous `cachedReadiness`)
/// answered from memory, next to
/// `redis-benchmark` sending the `EVALSHA status_ready` a strict read sends. Issue 14's targets:
/// ≥ 10 million hits per second on one core and ≥ 50× the round trip. Uses the pair
/// ``StatusScenarios/prepare(_:logger:)`` made.
public enum NearCacheScenarios {
    /// The scenarios, sized by `requests` (each caller makes `requests × 50` reads).
    public static func all(requests: Int, logger: Logger) -> [BenchScenario] {
        let evalsha = ["EVALSHA", StatusStore.readinessScript.sha1, "1", StatusScenarios.statusKey]
        let variants: [(name: String, callers: Int, peek: Bool, target: Double)] = [
            ("isReady, near-cache hit, 1 caller", 1, false, 50),
            ("isReady, near-cache hit, 2 callers", 2, false, 0),
            ("cachedReadiness (synchronous near-cache hit), 1 caller", 1, true, 50),
        ]
        return variants.map { variant in
            BenchScenario(
                name: variant.name, referenceDescription: "redis-benchmark -c 1 EVALSHA status_ready",
                targetRatio: variant.target,
                runReference: { try await $0.run(clients: 1, requests: requests / 10, command: evalsha) },
                runOurs: { pool in
                    try await hits(
                        pool: pool, callers: variant.callers, synchronous: variant.peek, reads: requests * 50,
                        logger: logger)
                })
        }
    }

    /// Runs a near cache over `pool`, waits until the bench pair is served from memory, then
    /// times `reads` `isReady` calls per caller. Latency is per batch of 1,000 reads (divided by
    /// 1,000): a clock read per call would cost as much as the call.
    ///
    /// - Throws: `BenchError` when a read is not a hit (the figure would not be the near cache's).
    static func hits(
        pool: RedisConnectionPool, callers: Int, synchronous: Bool, reads: Int, logger: Logger
    ) async throws -> BenchSample {
        let near = try NearCache(redis: pool, keys: StatusScenarios.keys, logger: logger)
        let store = StatusStore(redis: pool, keys: StatusScenarios.keys, nearCache: near, logger: logger)
        let running = Task { await near.run() }
        defer {
            near.close()
            running.cancel()
        }
        let connector = StatusScenarios.connector
        let line = StatusScenarios.line
        let deadline = ContinuousClock.now + .seconds(10)
        while true {
            let before = near.state.hits
            guard try await store.isReady(connector, line: line) else { throw BenchError("not ready") }
            if near.state.hits > before { break }
            guard ContinuousClock.now < deadline else { throw BenchError("the near cache proved nothing in 10 s") }
            try await Task.sleep(for: .milliseconds(20))
        }
        let batch = 1_000
        let batches = max(1, reads / batch)
        let hitsBefore = near.state.hits
        let start = ContinuousClock.now
        let perBatch = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for _ in 0..<callers {
                group.addTask {
                    var times: [Duration] = []
                    times.reserveCapacity(batches)
                    for _ in 0..<batches {
                        let begin = ContinuousClock.now
                        if synchronous {
                            for _ in 0..<batch {
                                guard store.cachedReadiness(connector, line: line) == true else {
                                    throw BenchError("not a ready hit")
                                }
                            }
                        } else {
                            for _ in 0..<batch {
                                guard try await store.isReady(connector, line: line) else {
                                    throw BenchError("not ready")
                                }
                            }
                        }
                        times.append(ContinuousClock.now - begin)
                    }
                    return times
                }
            }
            return try await group.reduce(into: [Duration]()) { $0 += $1 }
        }
        let elapsed = ContinuousClock.now - start
        let total = callers * batches * batch
        let served = near.state.hits - hitsBefore
        // A proof can lapse for a moment on a busy machine (those reads went to Redis): the figure
        // counts only if nearly every read was a hit.
        guard served >= total * 99 / 100 else {
            throw BenchError("only \(served) of \(total) reads were near-cache hits")
        }
        let sorted = perBatch.map { $0.microseconds / Double(batch) }.sorted()
        return BenchSample(
            opsPerSecond: Double(total) / elapsed.seconds, p50Microseconds: sorted[sorted.count / 2],
            p99Microseconds: sorted[min(sorted.count - 1, sorted.count * 99 / 100)])
    }

    /// Fact lines: the near cache's memory under a Zipf read load over 1 million pairs (50,000
    /// lines × 20 connectors), with 10,000 and then 100,000 entries allowed — entries held, the
    /// byte estimate and the growth of this process's resident set (no Redis: the bound alone).
    public static func memoryFacts(reads: Int = 3_000_000) -> [String] {
        [10_000, 100_000].map { maxEntries in
            let figures = NearCacheMemory.measure(
                lines: 50_000, connectors: 20, maxEntries: maxEntries, reads: reads)
            return String(
                format:
                    "Near-cache memory, Zipf (s = 1.1) reads over 1M pairs, maxEntries %d: %d entries held, "
                    + "estimate %.1f MiB, RSS %+.1f MiB, hit rate %.0f %%, %d evictions (%d reads)",
                maxEntries, figures.entries, Double(figures.estimatedBytes) / 1_048_576,
                Double(figures.residentGrowth) / 1_048_576, figures.hitRate * 100, figures.evictions, reads)
        }
    }
}
