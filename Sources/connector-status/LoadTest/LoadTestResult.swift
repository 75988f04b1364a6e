import Foundation
import Histogram
import RedisClient

/// The load test's totals, as tables for people or one JSON document for machines.
struct LoadTestResult {
    var instances: Int
    var tasksPerInstance: Int
    var elapsedSeconds: Double
    var reports: [InstanceReport]
    var total: InstanceReport
    var faults: [FaultInjector.Fault]
    var redisBenchmarkC128: Double?
    var machine: String
    var mix: String
    var chaos: Bool
    /// One server, a cluster or Sentinel (`standalone`, `cluster` or `sentinel` in the JSON).
    var deployment: RedisDeployment.Kind

    var opsPerSecond: Double { Double(total.totalOperations) / max(elapsedSeconds, 0.001) }

    struct Latency: Encodable {
        var p50: Double
        var p90: Double
        var p99: Double
        var p999: Double
        var max: Double

        init(_ histogram: Histogram<UInt64>) {
            p50 = Double(histogram.valueAtPercentile(50))
            p90 = Double(histogram.valueAtPercentile(90))
            p99 = Double(histogram.valueAtPercentile(99))
            p999 = Double(histogram.valueAtPercentile(99.9))
            max = Double(histogram.max)
        }
    }

    struct Document: Encodable {
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
    }

    struct OperationFigures: Encodable {
        var ops: Int
        var opsPerSec: Double
        var latencyUs: Latency
    }

    struct InstanceFigures: Encodable {
        var instance: Int
        var ops: Int
        var opsPerSec: Double
        var errors: Int
        var peakRssKib: Int
        var latencyUs: Latency
    }

    var document: Document {
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
            unexpectedErrorSamples: total.unexpectedErrorSamples)
    }

    func render() -> String {
        var out: [String] = []
        out.append(
            String(
                format: "Load test: %d instances × %d tasks, %.1f s, mix %@ (readiness, update, cache read, clean)%@",
                instances, tasksPerInstance, elapsedSeconds, mix, chaos ? ", with chaos" : ""))
        out.append("Machine: \(machine); Redis: \(deployment)")
        out.append("")
        var operations = TextTable(["operation", "ops", "ops/s", "p50 µs", "p90 µs", "p99 µs", "p99.9 µs", "max µs"])
        for name in LoadOperation.allCases.map(\.rawValue) {
            guard let histogram = total.histograms[name] else { continue }
            operations.add(row(name, count: total.operations[name] ?? 0, seconds: elapsedSeconds, histogram))
        }
        operations.add(row("total", count: total.totalOperations, seconds: elapsedSeconds, total.allLatencies))
        out.append(operations.render())
        out.append("")
        var perInstance = TextTable(["instance", "ops", "ops/s", "p50 µs", "p99 µs", "errors", "peak RSS"])
        for report in reports {
            let histogram = report.allLatencies
            perInstance.add([
                String(report.instance), String(report.totalOperations),
                String(format: "%.0f", Double(report.totalOperations) / max(report.elapsedSeconds, 0.001)),
                String(histogram.valueAtPercentile(50)), String(histogram.valueAtPercentile(99)), String(report.errors),
                String(format: "%.1f MiB", Double(report.peakRSSKiB) / 1024),
            ])
        }
        out.append(perInstance.render())
        out.append("")
        if let reference = redisBenchmarkC128 {
            out.append(
                String(
                    format:
                        "Total %.0f ops/s; redis-benchmark -c 128 -t get on the same server: %.0f ops/s (ratio %.2f)",
                    opsPerSecond, reference, opsPerSecond / reference))
        } else if deployment != .standalone {
            out.append(String(format: "Total %.0f ops/s (no redis-benchmark reference: one server only)", opsPerSecond))
        } else {
            out.append(String(format: "Total %.0f ops/s (redis-benchmark not found)", opsPerSecond))
        }
        out.append(
            "Errors: \(total.errors) (compare-and-set conflicts, retried by design: \(total.conflicts)); "
                + "consistency checks: \(total.consistencyChecks)")
        for sample in total.errorSamples.prefix(3) { out.append("  e.g. \(sample)") }
        for sample in total.unexpectedErrorSamples.prefix(5) { out.append("  unexpected: \(sample)") }
        let violations = total.violations
        out.append(
            "Invariant violations: lost updates \(violations.lostUpdates), stale cache reads \(violations.staleCacheReads), "
                + "readiness inconsistent \(violations.readinessInconsistent), unexpected errors \(violations.unexpectedErrors)"
        )
        if !faults.isEmpty {
            out.append("")
            var table = TextTable(["fault", "at (s)", "recovered after (ms)"])
            for fault in faults {
                table.add([
                    fault.kind, String(format: "%.1f", fault.atSeconds),
                    String(format: "%.0f", fault.recoveryMilliseconds),
                ])
            }
            out.append(table.render())
        }
        return out.joined(separator: "\n")
    }

    private func row(_ name: String, count: Int, seconds: Double, _ histogram: Histogram<UInt64>) -> [String] {
        [
            name, String(count), String(format: "%.0f", Double(count) / seconds),
            String(histogram.valueAtPercentile(50)),
            String(histogram.valueAtPercentile(90)), String(histogram.valueAtPercentile(99)),
            String(histogram.valueAtPercentile(99.9)), String(histogram.max),
        ]
    }
}
