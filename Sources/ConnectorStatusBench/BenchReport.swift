import Foundation

/// Everything one `bench` run measured, as a table for people or JSON for machines.
public struct BenchReport: Codable, Sendable {
    /// A description of the machine (``BenchEnvironment/machine()``).
    public var machine: String
    /// `redis_version` of the server.
    public var redisVersion: String
    /// The server's address, as shown.
    public var endpoint: String
    /// Connections of our pool.
    public var poolSize: Int
    /// Rounds per scenario.
    public var rounds: Int
    /// One per scenario.
    public var results: [BenchResult]
    /// Single figures that are not comparisons (batch timings, memory per status).
    public var facts: [String] = []

    /// A report of these figures.
    public init(
        machine: String, redisVersion: String, endpoint: String, poolSize: Int, rounds: Int, results: [BenchResult],
        facts: [String]
    ) {
        self.machine = machine
        self.redisVersion = redisVersion
        self.endpoint = endpoint
        self.poolSize = poolSize
        self.rounds = rounds
        self.results = results
        self.facts = facts
    }

    /// The report as pretty-printed JSON, sorted snake-case keys; throws what `JSONEncoder` throws.
    public func json() throws -> String {
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
}

/// Facts about the machine and server, for the report header.
public enum BenchEnvironment {
    /// `<CPU model>, <n> cores, <m> GiB`, from `/proc/cpuinfo` and the process.
    public static func machine() -> String {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let model =
            cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }?
            .split(separator: ":", maxSplits: 1).last?.trimmingCharacters(in: .whitespaces) ?? "unknown CPU"
        let cores = ProcessInfo.processInfo.activeProcessorCount
        let memory = ProcessInfo.processInfo.physicalMemory / (1 << 30)
        return "\(model), \(cores) cores, \(memory) GiB"
    }

    /// The value of `name:` in an `INFO` reply, if it has one.
    public static func field(_ name: String, in info: String) -> String? {
        info.split(whereSeparator: \.isNewline).first { $0.hasPrefix(name + ":") }
            .map { String($0.dropFirst(name.count + 1)).trimmingCharacters(in: .whitespaces) }
    }
}
