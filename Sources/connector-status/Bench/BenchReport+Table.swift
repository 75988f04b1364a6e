import ConnectorStatusBench
import Foundation

/// The `bench` report as a table, for people.
extension BenchReport {
    func table() -> String {
        var lines: [String] = []
        lines.append(
            "Machine: \(machine); Redis \(redisVersion) at \(endpoint); pool \(poolSize); \(rounds) rounds, median (min–max)"
        )
        lines.append("")
        var table = TextTable([
            "scenario", "reference", "ref ops/s", "ours ops/s", "ratio", "target", "ours p50/p99 µs", "ref p50/p99 µs",
        ])
        for result in results {
            table.add([
                result.name,
                result.reference,
                Self.range(result.referenceSeries),
                Self.range(result.oursSeries),
                String(format: "%.2f", result.ratio),
                result.targetRatio > 0
                    ? String(format: "≥ %.1f %@", result.targetRatio, result.met ? "met" : "MISSED") : "(info)",
                String(format: "%.0f / %.0f", result.oursSeries.medianP50, result.oursSeries.medianP99),
                String(format: "%.0f / %.0f", result.referenceSeries.medianP50, result.referenceSeries.medianP99),
            ])
        }
        lines.append(table.render())
        if !facts.isEmpty {
            lines.append("")
            lines += facts.map { "- " + $0 }
        }
        return lines.joined(separator: "\n")
    }

    private static func range(_ series: BenchSeries) -> String {
        String(
            format: "%@ (%@–%@)", Self.short(series.medianOpsPerSecond), Self.short(series.minOpsPerSecond),
            Self.short(series.maxOpsPerSecond))
    }

    private static func short(_ value: Double) -> String {
        value >= 1_000_000 ? String(format: "%.2fM", value / 1_000_000) : String(format: "%.1fk", value / 1000)
    }
}
