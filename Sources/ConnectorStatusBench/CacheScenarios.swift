import ConnectorStatus
import Foundation
import Histogram
import Logging
import RedisClient
import Synchronization

/// The scenarios of the line cache (issue 4): a cache hit next to `redis-benchmark GET`, clean
/// latency with 10 thousand and 1 million keys in Redis, and another client's GET latency while
/// 100 thousand entries are reclaimed.
public enum CacheScenarios {
    /// A namespace of this run's own (a fixed one could hold a user's data), removed at the end.
    public static let keys = try! KeySpace(namespace: "benchcache-" + UUID().uuidString.prefix(8).lowercased())
    static let line = try! LineID(1)
    static let directory = CacheDirectory.infoConnectorsLine

    static func cache(
        _ pool: RedisConnectionPool, options: LineCacheOptions = LineCacheOptions(), logger: Logger
    ) -> LineCache {
        LineCache(redis: pool, keys: keys, options: options, logger: logger)
    }

    /// Stores the entry the hit scenarios read (3 bytes of JSON, like redis-benchmark's value):
    /// `EVALSHA` of the cache-set script, in ``keys``' namespace. Throws `ConnectorStatusError`.
    public static func prepare(_ pool: RedisConnectionPool, logger: Logger) async throws {
        try await cache(pool, logger: logger).set("xx", key: "hit", in: directory, line: line)
    }

    /// The cache-hit scenarios, sized by `requests`; ``prepare(_:logger:)`` first.
    public static func all(requests: Int, logger: Logger) -> [BenchScenario] {
        [
            BenchScenario(
                name: "cache hit, 1 caller, serial", referenceDescription: "redis-benchmark -c 1 -t get",
                targetRatio: 0.9,
                runReference: {
                    try await $0.run(clients: 1, requests: requests / 10, command: ["GET", ClientScenarios.key])
                },
                runOurs: { pool in
                    let cache = cache(pool, logger: logger)
                    return try await ClientWorkload.serial(pool: pool, requests: requests / 10) { _ in
                        guard try await cache.get(String.self, key: "hit", in: directory, line: line) != nil else {
                            throw BenchError("cache miss")
                        }
                    }
                }),
            BenchScenario(
                name: "cache hit, 1 caller, serial, on the pool's executor",
                referenceDescription: "redis-benchmark -c 1 -t get", targetRatio: 0.9,
                runReference: {
                    try await $0.run(clients: 1, requests: requests / 10, command: ["GET", ClientScenarios.key])
                },
                runOurs: { pool in
                    let cache = cache(pool, logger: logger)
                    return try await withTaskExecutorPreference(pool.taskExecutor()) {
                        try await ClientWorkload.serial(pool: pool, requests: requests / 10) { _ in
                            guard try await cache.get(String.self, key: "hit", in: directory, line: line) != nil else {
                                throw BenchError("cache miss")
                            }
                        }
                    }
                }),
        ]
    }

    /// Clean latency with 10k and 1M keys in Redis, and GET p99 of another client during a
    /// reclaim of 100k entries. Fills Redis with up to 1M keys and removes them afterwards
    /// (pipelined cache writes, the clean and reclaim scripts, `GET`, then `SCAN` + `UNLINK` of
    /// ``keys``' namespace). Throws the client's errors or ``BenchError``.
    public static func facts(pool: RedisConnectionPool, logger: Logger, log: (String) -> Void) async throws -> [String]
    {
        let cache = cache(pool, logger: logger)
        var facts: [String] = []
        // Clean latency: the same clean with 10 thousand, then 1 million keys in Redis.
        var cleanMedians: [Int: Double] = [:]
        var filled = 0
        for target in [10_000, 1_000_000] {
            log("filling Redis to \(target) cache entries")
            filled = try await fill(pool: pool, from: filled, to: target)
            var samples: [Double] = []
            for _ in 0..<2000 {
                let start = ContinuousClock.now
                try await cache.clean(directory, line: line)
                samples.append((ContinuousClock.now - start).microseconds)
            }
            samples.sort()
            cleanMedians[target] = samples[samples.count / 2]
            let dbsize = try await pool.send("DBSIZE").int ?? 0
            facts.append(
                String(
                    format: "Clean of a line directory with %lld keys in Redis: p50 %.1f µs, p99 %.1f µs (2000 cleans)",
                    dbsize, samples[samples.count / 2], samples[samples.count * 99 / 100]))
        }
        if let small = cleanMedians[10_000], let large = cleanMedians[1_000_000], small > 0 {
            facts.append(String(format: "Clean latency ratio 1M / 10k keys: %.2f (target ≤ 1.5)", large / small))
        }
        // Reclaim 100k entries of one line while another client GETs serially.
        log("reclaiming 100k entries while another client reads")
        try await reclaimDuringLoad(pool: pool, facts: &facts, logger: logger, log: log)
        log("removing benchmark keys")
        try await removeAll(pool: pool)
        return facts
    }

    /// Writes cache entries (lines 2…, 1,000 keys each) until `target` exist.
    private static func fill(pool: RedisConnectionPool, from: Int, to target: Int) async throws -> Int {
        var written = from
        while written < target {
            let batch = min(5000, target - written)
            let commands = (0..<batch).map { offset -> RedisCommand in
                let index = written + offset
                let entryLine = try! LineID(Int64(2 + index / 1000))
                return RedisCommand(
                    "SET", keys.cacheEntry(directory: directory.name, line: entryLine, key: "k\(index)"), "0:\"v\"",
                    "EX", 3600)
            }
            for result in await pool.pipeline(commands) { _ = try result.get() }
            written += batch
        }
        return written
    }

    private static func reclaimDuringLoad(
        pool: RedisConnectionPool, facts: inout [String], logger: Logger, log: (String) -> Void
    ) async throws {
        let reclaimLine = try LineID(999_999)
        let commands = (0..<100_000).map { index in
            RedisCommand(
                "SET", keys.cacheEntry(directory: directory.name, line: reclaimLine, key: "r\(index)"), "0:\"v\"",
                "EX", 3600)
        }
        for chunk in stride(from: 0, to: commands.count, by: 5000) {
            for result in await pool.pipeline(Array(commands[chunk..<min(chunk + 5000, commands.count)])) {
                _ = try result.get()
            }
        }
        let cache = cache(pool, logger: logger)
        try await cache.clean(directory, line: reclaimLine)
        // The other client: its own pool, serial GETs, until the reclaim is done.
        let reader = try RedisConnectionPool(configuration: pool.configuration)
        let done = ManagedAtomicFlag()
        let readerTask = Task { () -> Histogram<UInt64> in
            var histogram = Histogram<UInt64>(
                highestTrackableValue: 10_000_000_000, numberOfSignificantValueDigits: .three)
            while !done.isSet {
                let start = ContinuousClock.now
                _ = try? await reader.send("GET", ClientScenarios.key)
                histogram.record(UInt64((ContinuousClock.now - start).nanoseconds))
            }
            return histogram
        }
        let start = ContinuousClock.now
        let progress = try await cache.reclaim(directory, line: reclaimLine)
        let elapsed = ContinuousClock.now - start
        done.set()
        let histogram = await readerTask.value
        await reader.close()
        facts.append(
            String(
                format:
                    "Reclaim of %d entries took %.2f s; meanwhile another client's GET p50 %.0f µs, p99 %.0f µs, max %.0f µs over %lld GETs (target p99 < 2 ms)",
                progress.reclaimed, elapsed.seconds, Double(histogram.valueAtPercentile(50)) / 1000,
                Double(histogram.valueAtPercentile(99)) / 1000, Double(histogram.max) / 1000, histogram.totalCount))
    }

    private static func removeAll(pool: RedisConnectionPool) async throws {
        var cursor = "0"
        repeat {
            let pattern = keys.namespaceScanPattern
            let reply = try await pool.send("SCAN", cursor, "MATCH", pattern, "COUNT", 5000).array ?? []
            cursor = reply.first?.string ?? "0"
            let found = reply.last?.array?.compactMap(\.string) ?? []
            if !found.isEmpty { try await pool.send(RedisCommand("UNLINK", arguments: found)) }
        } while cursor != "0"
    }
}

/// A flag one task sets and another polls.
final class ManagedAtomicFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
