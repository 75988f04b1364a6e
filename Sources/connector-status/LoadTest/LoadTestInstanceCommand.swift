import ArgumentParser
import ConnectorStatus
import ConnectorStatusLoadTest
import Foundation
import Logging
import RedisClient

/// One instance process of the load test (hidden): M tasks run the mix; progress lines go to
/// standard output every second and the final ``InstanceReport`` as JSON on the last line.
struct LoadTestInstanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadtest-instance", abstract: "One instance process of the load test.", shouldDisplay: false)

    @OptionGroup var store: StoreOptions
    @Option var instance: Int
    @Option var tasks: Int
    @Option var duration: Double?
    @Option var ops: Int?
    @Option var lines: Int
    @Option var connectors: Int
    @Option var mix: String
    @Flag var chaos = false
    @Flag var durable = false
    @Flag var nearCache = false
    /// See ``LoadTestCommand/plantStaleRead``.
    @Flag var plantStaleRead = false

    func validate() throws {
        guard (1...64).contains(instance), (1...1024).contains(tasks) else {
            throw ValidationError("--instance must be 1...64 and --tasks 1...1024")
        }
        guard (1...1_000_000).contains(lines), (1...64).contains(connectors) else {
            throw ValidationError("--lines must be 1...1000000 and --connectors 1...64")
        }
        if let duration, !(duration > 0 && duration <= 86_400) { throw ValidationError("--duration must be 0...86400") }
        if let ops, !(1...1_000_000_000_000).contains(ops) { throw ValidationError("--ops must be 1...10^12") }
        try store.redisOptions.validatePoolSize()
    }

    func run() async throws {
        var options = try LoadTestInstance.Options(
            instance: instance, tasks: tasks,
            shape: try LoadTestCommand.shape(lines: lines, connectors: connectors, mix: mix), chaos: chaos,
            durable: durable)
        options.plantStaleRead = plantStaleRead
        options.nearCache = nearCache
        var logger = toolLogger()
        logger.logLevel = .critical  // injected faults would flood stderr; they are counted instead
        try await store.withSession(logger: logger) { session in
            let runner = LoadTestInstance(redis: session.redis, keys: session.keys, options: options, logger: logger)
            var report = await runner.run(until: .now + .seconds(duration ?? 3600), budget: ops) { done in
                FileHandle.standardOutput.write(Data("progress \(done)\n".utf8))
            }
            report.peakRSSKiB = Self.peakRSSKiB()
            try printJSON(report)
        }
    }

    /// `VmHWM` of this process (peak resident set), in KiB.
    static func peakRSSKiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
        return line.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
    }
}
