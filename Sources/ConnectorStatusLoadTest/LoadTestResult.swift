import Histogram
import RedisClient

/// The load test's totals: every instance's report, their merged total, the faults injected and
/// the reference figure; ``document`` is the one JSON document the tool prints (`--json`, keys in
/// snake case).
public struct LoadTestResult: Sendable {
    /// Instances (processes, or in-process runs) that took part.
    public var instances: Int
    /// Concurrent tasks per instance.
    public var tasksPerInstance: Int
    /// Wall-clock time of the whole run.
    public var elapsedSeconds: Double
    /// Each instance's report.
    public var reports: [InstanceReport]
    /// The reports merged, with the lost updates counted over every instance.
    public var total: InstanceReport
    /// The faults injected, in order.
    public var faults: [FaultInjector.Fault]
    /// `redis-benchmark -c 128 -t get` on the same server, ops/s, when it was measured.
    public var redisBenchmarkC128: Double?
    /// A description of the machine (CPU, cores).
    public var machine: String
    /// The mix, as given (`"80,10,8,2"`).
    public var mix: String
    /// Whether faults were injected.
    public var chaos: Bool
    /// One server, a cluster or Sentinel (`standalone`, `cluster` or `sentinel` in the JSON).
    public var deployment: RedisDeployment.Kind

    /// The figures, as they are.
    public init(
        instances: Int, tasksPerInstance: Int, elapsedSeconds: Double, reports: [InstanceReport],
        total: InstanceReport, faults: [FaultInjector.Fault], redisBenchmarkC128: Double?, machine: String,
        mix: String, chaos: Bool, deployment: RedisDeployment.Kind
    ) {
        self.instances = instances
        self.tasksPerInstance = tasksPerInstance
        self.elapsedSeconds = elapsedSeconds
        self.reports = reports
        self.total = total
        self.faults = faults
        self.redisBenchmarkC128 = redisBenchmarkC128
        self.machine = machine
        self.mix = mix
        self.chaos = chaos
        self.deployment = deployment
    }

    /// Operations per second over the whole run, every instance.
    public var opsPerSecond: Double { Double(total.totalOperations) / max(elapsedSeconds, 0.001) }

    /// Latency percentiles of a histogram, µs.
    public struct Latency: Encodable, Sendable {
        /// Median.
        public var p50: Double
        /// 90th percentile.
        public var p90: Double
        /// 99th percentile.
        public var p99: Double
        /// 99.9th percentile.
        public var p999: Double
        /// The slowest.
        public var max: Double

        /// The percentiles of `histogram`.
        public init(_ histogram: Histogram<UInt64>) {
            p50 = Double(histogram.valueAtPercentile(50))
            p90 = Double(histogram.valueAtPercentile(90))
            p99 = Double(histogram.valueAtPercentile(99))
            p999 = Double(histogram.valueAtPercentile(99.9))
            max = Double(histogram.max)
        }
    }

    /// The result as one JSON document (encode with snake-case keys for the tool's format).
    public struct Document: Encodable, Sendable {
        var ops: Int
        var opsPerSec: Double
        var errors: Int
        var conflicts: Int
        var violations: LoadViolations
        var latencyUs: Latency
        var perOperation: [String: OperationFigures]
        var perInstance: [InstanceFigures]
        var faults: [FaultInjector.Fault]
        var redisBenchmarkC128OpsPerSec: Double?
        var ratioToRedisBenchmarkC128: Double?
        var instances: Int
        var tasksPerInstance: Int
        var elapsedSeconds: Double
        var mix: String
        var chaos: Bool
        var deployment: RedisDeployment.Kind
        var machine: String
        var consistencyChecks: Int
        /// Up to 10 errors as text (faults included), and up to 10 that broke an invariant.
        var errorSamples: [String]
        var unexpectedErrorSamples: [String]
        /// The near cache's staleness across instances (``StalenessProbe``), µs, when measured.
        var nearCacheStalenessUs: Staleness?
    }

    /// The ``StalenessProbe``'s figures in ``Document``.
    public struct Staleness: Encodable, Sendable {
        var latency: Latency
        var versions: Int
        var reads: Int
        var violations: Int
    }

    /// One operation's figures in ``Document``.
    public struct OperationFigures: Encodable, Sendable {
        var ops: Int
        var opsPerSec: Double
        var latencyUs: Latency
    }

    /// One instance's figures in ``Document``.
    public struct InstanceFigures: Encodable, Sendable {
        var instance: Int
        var ops: Int
        var opsPerSec: Double
        var errors: Int
        var peakRssKib: Int
        var latencyUs: Latency
    }

    /// The JSON document of the result.
    public var document: Document {
        var perOperation: [String: OperationFigures] = [:]
        for (name, histogram) in total.histograms {
            let count = total.operations[name] ?? 0
            perOperation[name] = OperationFigures(
                ops: count, opsPerSec: Double(count) / elapsedSeconds, latencyUs: Latency(histogram))
        }
        return Document(
            ops: total.totalOperations, opsPerSec: opsPerSecond, errors: total.errors, conflicts: total.conflicts,
            violations: total.violations, latencyUs: Latency(total.allLatencies), perOperation: perOperation,
            perInstance: reports.map { report in
                InstanceFigures(
                    instance: report.instance, ops: report.totalOperations,
                    opsPerSec: Double(report.totalOperations) / max(report.elapsedSeconds, 0.001),
                    errors: report.errors,
                    peakRssKib: report.peakRSSKiB, latencyUs: Latency(report.allLatencies))
            }, faults: faults, redisBenchmarkC128OpsPerSec: redisBenchmarkC128,
            ratioToRedisBenchmarkC128: redisBenchmarkC128.map { opsPerSecond / $0 }, instances: instances,
            tasksPerInstance: tasksPerInstance, elapsedSeconds: elapsedSeconds, mix: mix, chaos: chaos,
            deployment: deployment, machine: machine,
            consistencyChecks: total.consistencyChecks, errorSamples: total.errorSamples,
            unexpectedErrorSamples: total.unexpectedErrorSamples,
            nearCacheStalenessUs: total.staleness.map {
                Staleness(
                    latency: Latency($0.histogram), versions: $0.versions, reads: $0.reads, violations: $0.violations)
            })
    }
}
