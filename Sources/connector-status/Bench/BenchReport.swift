import Foundation

/// Everything one `bench` run measured, as a table for people or JSON for machines.
struct BenchReport: Codable {
    var machine: String
    var redisVersion: String
    var endpoint: String
    var poolSize: Int
    var rounds: Int
    var results: [BenchResult]
    /// Single figures that are not comparisons (batch timings, memory per status).
    var facts: [String] = []

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

    func json() throws -> String {
        struct Entry: Encodable {
            var name: String
            var reference: String
            var referenceOpsPerSec: Double
            var referenceMin: Double
            var referenceMax: Double
            var oursOpsPerSec: Double
            var oursMin: Double
            var oursMax: Double
            var oursP50Us: Double
            var oursP99Us: Double
            var referenceP50Us: Double
            var referenceP99Us: Double
            var ratio: Double
            var targetRatio: Double
            var met: Bool
        }
        struct Document: Encodable {
            var machine: String
            var redisVersion: String
            var endpoint: String
            var poolSize: Int
            var rounds: Int
            var scenarios: [Entry]
            var facts: [String]
        }
        let document = Document(
            machine: machine, redisVersion: redisVersion, endpoint: endpoint, poolSize: poolSize, rounds: rounds,
            scenarios: results.map { result in
                Entry(
                    name: result.name, reference: result.reference,
                    referenceOpsPerSec: result.referenceSeries.medianOpsPerSecond,
                    referenceMin: result.referenceSeries.minOpsPerSecond,
                    referenceMax: result.referenceSeries.maxOpsPerSecond,
                    oursOpsPerSec: result.oursSeries.medianOpsPerSecond, oursMin: result.oursSeries.minOpsPerSecond,
                    oursMax: result.oursSeries.maxOpsPerSecond, oursP50Us: result.oursSeries.medianP50,
                    oursP99Us: result.oursSeries.medianP99, referenceP50Us: result.referenceSeries.medianP50,
                    referenceP99Us: result.referenceSeries.medianP99, ratio: result.ratio,
                    targetRatio: result.targetRatio, met: result.met)
            }, facts: facts)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try encoder.encode(document), as: UTF8.self)
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

/// Facts about the machine and server, for the report header.
enum BenchEnvironment {
    static func machine() -> String {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model =
            cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let memory = ProcessInfo.processInfo.physicalMemory / (1 << 30)
        return "\(model), \(cores) cores, \(memory) GiB"
    }

    static func field(_ name: String, in info: String) -> String? {
        info.split(whereSeparator: \.isNewline).first { $0.hasPrefix(name + ":") }
            .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
    }
}
