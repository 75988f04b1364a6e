/// One measured run of one side of a comparison.
public struct BenchSample: Codable, Sendable {
    /// Operations per second (for pipelines: commands per second).
    public var opsPerSecond: Double
    /// Median latency in microseconds (per request; for pipelines, per pipeline).
    public var p50Microseconds: Double
    /// 99th percentile latency in microseconds.
    public var p99Microseconds: Double

    /// A sample as measured.
    public init(opsPerSecond: Double, p50Microseconds: Double, p99Microseconds: Double) {
        self.opsPerSecond = opsPerSecond
        self.p50Microseconds = p50Microseconds
        self.p99Microseconds = p99Microseconds
    }
}

/// Several runs of one side, summarised as median with min and max.
public struct BenchSeries: Codable, Sendable {
    /// Every run, in order.
    public var samples: [BenchSample] = []

    /// No run yet.
    public init() {}

    /// The median operations per second over the runs.
    public var medianOpsPerSecond: Double { median(samples.map(\.opsPerSecond)) }
    /// The lowest operations per second of a run.
    public var minOpsPerSecond: Double { samples.map(\.opsPerSecond).min() ?? 0 }
    /// The highest operations per second of a run.
    public var maxOpsPerSecond: Double { samples.map(\.opsPerSecond).max() ?? 0 }
    /// The median of the runs' p50 and p99 latencies, µs.
    public var medianP50: Double { median(samples.map(\.p50Microseconds)) }
    /// The median of the runs' p99 latencies, µs.
    public var medianP99: Double { median(samples.map(\.p99Microseconds)) }

    private func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
