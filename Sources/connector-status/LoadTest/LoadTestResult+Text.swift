import ConnectorStatus
import ConnectorStatusLoadTest
import Foundation
import Histogram
import RedisClient

/// The load test's result as tables, for people.
extension LoadTestResult {
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
                + (total.staleness != nil
                    ? ", near-cache reads older than the bound \(violations.staleNearCacheReads)" : "")
        )
        if let staleness = total.staleness {
            let histogram = staleness.histogram
            out.append(
                "Near-cache staleness (a write acknowledged on instance 1 → first served by another instance), µs: "
                    + "p50 \(histogram.valueAtPercentile(50)), p99 \(histogram.valueAtPercentile(99)), "
                    + "p99.9 \(histogram.valueAtPercentile(99.9)), max \(histogram.max) over \(staleness.versions) "
                    + "versions (\(staleness.reads) probe reads); served after the bound: \(staleness.violations)"
                    + (staleness.violations > 0 ? " (worst \(staleness.worstOverBoundMicroseconds) µs over)" : ""))
        }
        for report in reports {
            guard let near = report.nearCache else { continue }
            let resyncs = near.resyncs.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
            out.append(
                "Near cache of instance \(report.instance): \(near.hits) hits, \(near.misses) misses, "
                    + "\(near.lines) lines (\(near.provenLines) proven), \(near.entries) entries; lines dropped: "
                    + (resyncs.isEmpty ? "none" : resyncs.joined(separator: ", ")))
        }
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
