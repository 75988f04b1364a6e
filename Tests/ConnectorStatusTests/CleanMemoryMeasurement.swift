import ConnectorStatus
import EmbeddedRedis
import Foundation
import Logging
import RedisClient
import Testing

/// Measures a clean of one line with many entries on a private redis-server: how long until the
/// line's memory is back, and another client's GET latency meanwhile. Prints the figures;
/// asserts only that every entry was freed and the memory came back (not timings).
///
/// `CLEAN_MEASURE_ENTRIES` sets the number of entries (default 20,000; the README's figures
/// use 100,000).
@Suite("Clean memory measurement", .timeLimit(.minutes(5)))
struct CleanMemoryMeasurement {
    static var entries: Int {
        ProcessInfo.processInfo.environment["CLEAN_MEASURE_ENTRIES"].flatMap { Int($0) } ?? 20_000
    }

    static func usedMemory(_ client: any RedisCommandClient) async throws -> Int {
        let info = try await client.send("INFO", "memory").string ?? ""
        let line = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("used_memory:") }
        return Int(line?.dropFirst("used_memory:".count) ?? "") ?? 0
    }

    /// Serial GETs from their own connection until `stop` is set; latencies in microseconds.
    static func probe(_ client: any RedisCommandClient, key: String, until stop: Flag) async throws -> [Double] {
        var samples: [Double] = []
        while !stop.isSet {
            let start = ContinuousClock.now
            _ = try await client.send("GET", key)
            let elapsed = ContinuousClock.now - start
            samples.append(elapsed.microseconds)
        }
        return samples
    }

    static func percentile(_ values: [Double], _ fraction: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted[min(sorted.count - 1, Int(Double(sorted.count) * fraction))]
    }

    final class Flag: @unchecked Sendable {
        private let lock = NSLock()
        private var value = false
        func set() { lock.withLock { value = true } }
        var isSet: Bool { lock.withLock { value } }
    }

    @Test func cleanOfALineWithManyEntriesFreesItsMemory() async throws {
        let server = try await EmbeddedRedisServer.start()
        defer { server.stop() }
        var configuration = try RedisConfiguration(url: server.url)
        configuration.poolSize = 8
        let pool = try RedisConnectionPool(configuration: configuration)
        configuration.poolSize = 1
        let probeClient = try RedisConnectionPool(configuration: configuration)
        let cache = LineCache(redis: pool, logger: Logger(label: "measure"))
        let target = try line(77)
        let count = Self.entries
        _ = try await probeClient.send("SET", "probe", "x")
        let before = try await Self.usedMemory(pool)

        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<16 {
                group.addTask {
                    for index in stride(from: worker, to: count, by: 16) {
                        try await cache.set("entry \(index) of a line", key: "k\(index)", in: .status, line: target)
                    }
                }
            }
            try await group.waitForAll()
        }
        let filled = try await Self.usedMemory(pool)

        // Baseline: the probe alone for one second.
        let idle = Flag()
        async let baselineSamples = Self.probe(probeClient, key: "probe", until: idle)
        try await Task.sleep(for: .seconds(1))
        idle.set()
        let baseline = try await baselineSamples

        _ = try await pool.send("CONFIG", "SET", "slowlog-log-slower-than", "1000")
        _ = try await pool.send("SLOWLOG", "RESET")
        let stop = Flag()
        async let duringSamples = Self.probe(probeClient, key: "probe", until: stop)
        let start = ContinuousClock.now
        let freed = try await cache.clean(.status, line: target)
        let took = ContinuousClock.now - start
        stop.set()
        let during = try await duringSamples
        // UNLINK frees large values in the background: wait until most of the memory is back.
        let target80 = filled - (filled - before) * 8 / 10
        var after = try await Self.usedMemory(pool)
        while after > target80 && ContinuousClock.now - start < .seconds(30) {
            try await Task.sleep(for: .milliseconds(10))
            after = try await Self.usedMemory(pool)
        }
        let memoryBack = ContinuousClock.now - start
        let slow = try await pool.send("SLOWLOG", "GET", "10").array ?? []
        let slowest = slow.compactMap { entry -> String? in
            guard let parts = entry.array, parts.count > 3 else { return nil }
            let command = (parts[3].array ?? []).prefix(2).compactMap(\.string).joined(separator: " ")
            return "\(command.prefix(40)) \(parts[2].int ?? 0) µs"
        }

        let mib = { (bytes: Int) in String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        print(
            """
            clean of one line with \(count) entries: \(freed) freed, clean returned after \(took), \
            80% of the memory back after \(memoryBack) \
            (memory: \(mib(before)) empty, \(mib(filled)) filled, \(mib(after)) then); \
            other client's GET during the clean: p50 \(String(format: "%.0f", Self.percentile(during, 0.5))) µs, \
            p99 \(String(format: "%.0f", Self.percentile(during, 0.99))) µs, \
            max \(String(format: "%.0f", during.max() ?? 0)) µs over \(during.count) GETs; \
            idle baseline p99 \(String(format: "%.0f", Self.percentile(baseline, 0.99))) µs; \
            server commands over 1 ms meanwhile: \(slowest.isEmpty ? "none" : slowest.joined(separator: ", "))
            """)
        #expect(freed == count)
        #expect(try await pool.send("DBSIZE").int ?? 0 < 10)
        // Most of what the entries took is back (connections, scripts and allocator slack stay).
        #expect(after <= target80)
        await pool.close()
        await probeClient.close()
    }
}
