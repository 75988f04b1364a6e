import ArgumentParser
import ConnectorStatus
import EmbeddedRedis
import Foundation
import Histogram
import Logging
import RedisClient

/// `connector-status loadtest`: N instance processes × M tasks against one Redis, with the
/// invariants checked while it runs and faults injected on request.
struct LoadTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "loadtest",
        abstract: "Load test across instance processes, with invariants checked and optional fault injection.",
        discussion: """
            Spawns --instances processes, each running --tasks concurrent tasks, for --duration \
            seconds or --ops operations in all. The mix (percent): readiness checks, \
            compare-and-set status updates, cache get-or-compute, line-cache cleans, over \
            Zipf-distributed lines and connectors. Invariants, each must be 0: lost updates \
            (final VERSION vs acknowledged updates), stale cache reads, readiness inconsistent \
            with the flags of the same version, unexpected errors. Exit 0 when all are 0.

            --chaos restarts the embedded redis-server (started with appendfsync always, so \
            acknowledged writes survive) and kills client connections (CLIENT KILL) at random \
            moments, and reports the time to recover after each fault.

            Example:
              connector-status loadtest --instances 4 --tasks 32 --duration 10
              connector-status loadtest --duration 20 --chaos --json --histogram latency.hgrm
            """)

    @OptionGroup var redisOptions: RedisOptions
    @Option(help: "Instance processes.") var instances = 4
    @Option(help: "Concurrent tasks per instance.") var tasks = 32
    @Option(help: "Run for this many seconds (default 10 unless --ops).") var duration: Double?
    @Option(help: "Stop after this many operations in all.") var ops: Int?
    @Option(help: "Lines (Zipf).") var lines = 1000
    @Option(help: "Connectors per line (Zipf).") var connectors = 20
    @Option(help: "Percent of readiness, update, cache read, cache clean.") var mix = "80,10,8,2"
    @Flag(help: "Inject faults: restart the embedded Redis, kill client connections.") var chaos = false
    @Flag(help: "Print one JSON object instead of tables.") var json = false
    @Option(help: "Write the total latency distribution (HdrHistogram percentile text, µs) here.")
    var histogram: String?
    @Option(help: "Key namespace (default: a fresh one per run, removed afterwards).") var namespace: String?
    @Option(help: "Write an SVG plot of a probe client's readiness latency over time, faults marked.")
    var plot: String?

    func validate() throws {
        guard (1...64).contains(instances) else { throw ValidationError("--instances must be 1...64") }
        guard (1...1024).contains(tasks) else { throw ValidationError("--tasks must be 1...1024") }
        guard (1...1_000_000).contains(lines), (1...64).contains(connectors) else {
            throw ValidationError("--lines must be 1...1000000 and --connectors 1...64")
        }
        if let duration, !(duration > 0 && duration <= 86_400) { throw ValidationError("--duration must be 0...86400") }
        if let ops, ops < 1 { throw ValidationError("--ops must be positive") }
        _ = try Self.parseMix(mix)
    }

    /// Parses "80,10,8,2" into four percentages summing to 100.
    static func parseMix(_ text: String) throws -> [Int] {
        let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 4, parts.allSatisfy({ ($0 ?? -1) >= 0 }), parts.reduce(0, { $0 + ($1 ?? 0) }) == 100 else {
            throw ValidationError("--mix must be four whole percentages summing to 100, e.g. 80,10,8,2")
        }
        return parts.map { $0! }
    }

    func run() async throws {
        let namespace = self.namespace ?? "lt-" + UUID().uuidString.prefix(8).lowercased()
        let keys = try KeySpace(namespace: namespace)
        var embedded: EmbeddedRedisServer?
        let configuration: RedisConfiguration
        let url: String
        if let configured = redisOptions.configuredURL {
            configuration = try RedisConfiguration(url: configured)
            url = configured
        } else {
            // Persist every write so that a restart loses nothing acknowledged.
            let server = try await EmbeddedRedisServer.start(
                arguments: chaos ? ["--appendonly", "yes", "--appendfsync", "always"] : [])
            StopOnSignal.install(server)
            embedded = server
            configuration = try RedisConfiguration(url: server.url)
            url = server.url
        }
        var logger = toolLogger()
        if chaos { logger.logLevel = .critical }  // the injected faults are reported, not logged
        let pool = try RedisConnectionPool(configuration: configuration, logger: logger)
        do {
            try await execute(pool: pool, keys: keys, url: url, embedded: embedded)
        } catch {
            await pool.close()
            embedded?.stop()
            throw error
        }
        await pool.close()
        embedded?.stop()
    }

    private func execute(
        pool: RedisConnectionPool, keys: KeySpace, url: String, embedded: EmbeddedRedisServer?
    ) async throws {
        try await StatusStore(redis: pool, keys: keys, logger: toolLogger()).preloadScripts()
        let runSeconds = duration ?? (ops == nil ? 10 : 3600)
        var common = [
            "--redis", url, "--namespace", keys.namespace, "--tasks", String(tasks), "--lines", String(lines),
            "--connectors", String(connectors), "--mix", mix, "--duration", String(runSeconds),
        ]
        if let ops { common += ["--ops", String(max(1, ops / instances))] }
        if chaos { common.append("--chaos") }
        let started = ContinuousClock.now
        let children = try (0..<instances).map { index in
            try ChildProcess(
                name: "instance-\(index + 1)",
                arguments: ["loadtest-instance", "--instance", String(index + 1)] + common,
                echoPrefix: nil)
        }
        let injector = chaos ? FaultInjector(pool: pool, embedded: embedded) : nil
        let probeTask = plot.map { _ in Task { await Self.probe(pool: pool, keys: keys, started: started) } }
        let chaosTask = injector.map { injector in Task { await injector.run() } }
        let progressTask = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                let total = children.reduce(0) { $0 + $1.lastProgress }
                let seconds = (ContinuousClock.now - started).secondsValue
                if !json {
                    FileHandle.standardError.write(
                        Data(
                            String(format: "\r[%5.1fs] %d ops, %.0f ops/s   ", seconds, total, Double(total) / seconds)
                                .utf8))
                }
            }
        }
        var reports: [InstanceReport] = []
        for child in children {
            let exit = await child.waitForExit(timeout: .seconds(runSeconds + 120))
            guard exit.status == 0, let last = exit.lines.last,
                let report = try? JSONDecoder().decode(InstanceReport.self, from: Data(last.utf8))
            else {
                throw ToolFailure(code: ToolExit.no, message: "\(child.name) failed (exit \(exit.status ?? -1))")
            }
            reports.append(report)
        }
        let elapsed = ContinuousClock.now - started
        progressTask.cancel()
        chaosTask?.cancel()
        let faults = await injector?.finish() ?? []
        probeTask?.cancel()
        if let plot, let samples = await probeTask?.value {
            let chart = LatencyPlot(
                samples: samples, faults: faults,
                title:
                    "Readiness latency seen by a probe during loadtest: \(instances) × \(tasks) tasks\(chaos ? ", chaos" : "")"
            )
            try chart.svg().write(toFile: plot, atomically: true, encoding: .utf8)
        }
        if !json { FileHandle.standardError.write(Data("\n".utf8)) }

        var total = InstanceReport(instance: 0)
        for report in reports { total.merge(report) }
        total.violations.lostUpdates = try await countLostUpdates(pool: pool, keys: keys, total: total)
        let reference = try? RedisBenchmarkTool.locate(endpoint: pool.configuration.endpoint)
            .run(clients: 128, requests: 200_000, command: ["GET", "\(keys.namespace):bench"])
        try await removeNamespace(pool: pool, keys: keys)

        let result = LoadTestResult(
            instances: instances, tasksPerInstance: tasks, elapsedSeconds: elapsed.secondsValue, reports: reports,
            total: total, faults: faults, redisBenchmarkC128: reference?.opsPerSecond,
            machine: BenchEnvironment.machine(),
            mix: mix, chaos: chaos)
        if let histogram {
            var text = ""
            total.allLatencies.outputPercentileDistribution(to: &text, outputValueUnitScalingRatio: 1)
            try text.write(toFile: histogram, atomically: true, encoding: .utf8)
        }
        if json {
            try printJSON(result.document, snakeCase: true)
        } else {
            print(result.render())
        }
        if total.violations.total > 0 {
            throw ToolFailure(code: ToolExit.no, message: "invariant violations: \(total.violations)")
        }
    }

    /// Times one readiness check every 10 ms on its own connection until cancelled.
    private static func probe(pool: RedisConnectionPool, keys: KeySpace, started: ContinuousClock.Instant) async
        -> [LatencyPlot.Sample]
    {
        guard
            let probePool = try? RedisConnectionPool(configuration: pool.configuration, logger: Logger(label: "probe"))
        else { return [] }
        let store = StatusStore(redis: probePool, keys: keys, logger: Logger(label: "probe"))
        var samples: [LatencyPlot.Sample] = []
        guard let connector = try? ConnectorID("c0"), let line = try? LineID(1) else { return [] }
        while !Task.isCancelled {
            let begin = ContinuousClock.now
            let failed = (try? await store.isReady(connector, line: line)) == nil
            let end = ContinuousClock.now
            samples.append(
                LatencyPlot.Sample(
                    seconds: (begin - started).secondsValue, microseconds: (end - begin).secondsValue * 1e6,
                    failed: failed))
            try? await Task.sleep(for: .milliseconds(10))
        }
        await probePool.close()
        return samples
    }

    /// Final VERSION of every touched pair must lie in [acknowledged, acknowledged + unknown].
    private func countLostUpdates(pool: RedisConnectionPool, keys: KeySpace, total: InstanceReport) async throws -> Int
    {
        let pairs = Array(Set(total.acknowledged.keys).union(total.outcomeUnknown.keys))
        var lost = 0
        for chunk in stride(from: 0, to: pairs.count, by: 1000) {
            let slice = Array(pairs[chunk..<min(chunk + 1000, pairs.count)])
            let commands = try slice.map { pair -> RedisCommand in
                let parts = pair.split(separator: ":")
                let line = try LineID(parsing: String(parts[0]))
                let connector = try ConnectorID(String(parts[1]))
                return RedisCommand("HGET", keys.status(connector, line: line), "VERSION")
            }
            for (pair, result) in zip(slice, await pool.pipeline(commands)) {
                let version = Int((try result.get()).int ?? 0)
                let acknowledged = total.acknowledged[pair] ?? 0
                let unknown = total.outcomeUnknown[pair] ?? 0
                if version < acknowledged || version > acknowledged + unknown { lost += 1 }
            }
        }
        return lost
    }

    private func removeNamespace(pool: RedisConnectionPool, keys: KeySpace) async throws {
        var cursor = "0"
        repeat {
            let reply = try await pool.send(
                "SCAN", cursor, "MATCH", KeySpace.escapeGlob(keys.namespace) + ":*", "COUNT", 5000)
            cursor = reply.array?.first?.string ?? "0"
            let found = reply.array?.last?.array?.compactMap(\.string) ?? []
            if !found.isEmpty { try await pool.send(RedisCommand("UNLINK", arguments: found)) }
        } while cursor != "0"
    }
}
