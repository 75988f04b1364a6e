/// One measured run of one side of a comparison.
struct BenchSample: Codable, Sendable {
    /// Operations per second (for pipelines: commands per second).
    var opsPerSecond: Double
    /// Median latency in microseconds (per request; for pipelines, per pipeline).
    var p50Microseconds: Double
    /// 99th percentile latency in microseconds.
    var p99Microseconds: Double
}

/// Several runs of one side, summarised as median with min and max.
struct BenchSeries: Codable, Sendable {
    var samples: [BenchSample] = []

    var medianOpsPerSecond: Double { median(samples.map(\.opsPerSecond)) }
    var minOpsPerSecond: Double { samples.map(\.opsPerSecond).min() ?? 0 }
    var maxOpsPerSecond: Double { samples.map(\.opsPerSecond).max() ?? 0 }
    var medianP50: Double { median(samples.map(\.p50Microseconds)) }
    var medianP99: Double { median(samples.map(\.p99Microseconds)) }

    private func median(_ values: [Double]) -> Double {
        guard !values.isEmpty else { return 0 }
        let sorted = values.sorted()
        return sorted.count % 2 == 1
            ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}
