import Histogram
import RedisClient

/// The three shapes of load the benchmark puts through our client.
public enum ClientWorkload {
    /// One caller, one command at a time.
    public static func serial(
        pool: RedisConnectionPool, requests: Int, operation: @Sendable (RedisConnectionPool) async throws -> Void
    ) async throws -> BenchSample {
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        let start = ContinuousClock.now
        for _ in 0..<requests {
            let begin = ContinuousClock.now
            try await operation(pool)
            histogram.record(UInt64((ContinuousClock.now - begin).nanoseconds))
        }
        return sample(histogram, operations: requests, elapsed: ContinuousClock.now - start)
    }

    /// One caller sending explicit pipelines of `depth` commands; latency is per pipeline.
    public static func pipelined(
        pool: RedisConnectionPool, requests: Int, depth: Int, command: RedisCommand
    ) async throws -> BenchSample {
        var histogram = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
        let commands = Array(repeating: command, count: depth)
        let rounds = max(1, requests / depth)
        let start = ContinuousClock.now
        for _ in 0..<rounds {
            let begin = ContinuousClock.now
            let results = await pool.pipeline(commands)
            histogram.record(UInt64((ContinuousClock.now - begin).nanoseconds))
            for result in results { _ = try result.get() }
        }
        return sample(histogram, operations: rounds * depth, elapsed: ContinuousClock.now - start)
    }

    /// `callers` concurrent tasks in this process, sharing the pool (automatic pipelining).
    public static func concurrent(
        pool: RedisConnectionPool, requests: Int, callers: Int,
        operation: @escaping @Sendable (RedisConnectionPool) async throws -> Void
    ) async throws -> BenchSample {
        let perCaller = max(1, requests / callers)
        let start = ContinuousClock.now
        let merged = try await withThrowingTaskGroup(of: Histogram<UInt64>.self) { group in
            for _ in 0..<callers {
                group.addTask {
                    var histogram = Histogram<UInt64>(
                        highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
                    for _ in 0..<perCaller {
                        let begin = ContinuousClock.now
                        try await operation(pool)
                        histogram.record(UInt64((ContinuousClock.now - begin).nanoseconds))
                    }
                    return histogram
                }
            }
            var total = Histogram<UInt64>(highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: .three)
            for try await histogram in group { total.add(histogram) }
            return total
        }
        return sample(merged, operations: perCaller * callers, elapsed: ContinuousClock.now - start)
    }

    private static func sample(_ histogram: Histogram<UInt64>, operations: Int, elapsed: Duration) -> BenchSample {
        BenchSample(
            opsPerSecond: Double(operations) / elapsed.seconds,
            p50Microseconds: Double(histogram.valueAtPercentile(50)) / 1000,
            p99Microseconds: Double(histogram.valueAtPercentile(99)) / 1000)
    }
}
