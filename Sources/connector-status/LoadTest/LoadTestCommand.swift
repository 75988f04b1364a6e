import ArgumentParser
import ConnectorStatus
import ConnectorStatusBench
import ConnectorStatusLoadTest
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

            --redis takes any deployment (redis://, unix://, redis-cluster://, \
            redis-sentinel://); the instance processes get the same URL and the invariants are \
            checked the same way.

            --chaos injects faults at random moments and reports the time to recover after each. \
            --faults picks them: `restart` kills and restarts the embedded redis-server (started \
            with appendfsync always, so acknowledged writes survive; needs the embedded server, \
            exit 2 with --redis), `kill` closes the run's own client connections (every \
            connection of the run is named connector-status-loadtest-<namespace>; CLIENT KILL \
            ID on every master of a cluster; other clients of a shared Redis are left alone). \
            Default: both with the embedded server, `kill` with --redis.

            What it deletes: at the end, every key under its namespace — which is its own: a \
            fresh one per run by default; a --namespace that holds data the load test did not \
            write is refused (exit 2) unless --wipe-namespace is given (then that data is \
            deleted first). The namespace is marked as the load test's with the key NS:owner. \
            The instance processes get the Redis URL in their environment, never on their \
            command line; when one fails, the others are stopped at once.

            Example:
              connector-status loadtest --instances 4 --tasks 32 --duration 10
              connector-status loadtest --duration 20 --chaos --json --histogram latency.hgrm
              connector-status loadtest --redis redis-cluster://127.0.0.1:7000,127.0.0.1:7001 --chaos
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
    @Flag(
        help:
            "Faults are injected from outside (a failover, a reshard): connection errors and failover replies are counted as errors, not violations."
    )
    var externalFaults = false
    @Flag(
        help:
            "Status writes and cache cleans wait for one replica (WAIT 1, 200 ms): one the replica did not confirm fails as not replicated instead of being acknowledged."
    )
    var durable = false
    @Flag(
        help:
            "Readiness checks and status reads go through a near cache in every instance; instance 1 writes a probe pair every 20 ms and the others measure how long after each acknowledged write they serve it (printed as a histogram; a read older than the near cache's bound is a violation)."
    )
    var nearCache = false
    @Option(help: "With --chaos, the faults: restart, kill, or restart,kill (default: all that apply).")
    var faults: String?
    @Flag(help: "Print one JSON object instead of tables.") var json = false
    @Option(help: "Write the total latency distribution (HdrHistogram percentile text, µs) here.")
    var histogram: String?
    @Option(help: "Key namespace (default: a fresh one per run, removed afterwards).") var namespace: String?
    @Flag(help: "Delete every key of --namespace first, even if the load test did not write it.")
    var wipeNamespace = false
    /// Test hook: instance 1 records its cleans as completed without cleaning and reads no cache
    /// itself, so only the other instances can see the stale values (the check must be global).
    @Flag(help: .hidden) var plantStaleRead = false

    @Option(help: "Write an SVG plot of a probe client's readiness latency over time, faults marked.")
    var plot: String?

    func validate() throws {
        guard (1...64).contains(instances) else { throw ValidationError("--instances must be 1...64") }
        guard (1...1024).contains(tasks) else { throw ValidationError("--tasks must be 1...1024") }
        guard (1...1_000_000).contains(lines), (1...64).contains(connectors) else {
            throw ValidationError("--lines must be 1...1000000 and --connectors 1...64")
        }
        if let duration, !(duration > 0 && duration <= 86_400) { throw ValidationError("--duration must be 0...86400") }
        if let ops, !(1...1_000_000_000_000).contains(ops) { throw ValidationError("--ops must be 1...10^12") }
        try redisOptions.validatePoolSize()
        _ = try Self.parseMix(mix)
        if let faults {
            guard chaos else { throw ValidationError("--faults needs --chaos") }
            _ = try Self.parseFaults(faults)
        }
    }

    /// Parses "restart,kill" into fault kinds.
    static func parseFaults(_ text: String) throws -> Set<FaultInjector.Kind> {
        var kinds: Set<FaultInjector.Kind> = []
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let kind = FaultInjector.Kind(rawValue: item.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--faults must list restart and/or kill, comma-separated")
            }
            kinds.insert(kind)
        }
        return kinds
    }

    /// The faults to inject: `--faults`, else every kind this deployment allows. A restart needs
    /// a server of our own to kill, the embedded one.
    func faultKinds(embedded: Bool) throws -> Set<FaultInjector.Kind> {
        guard let faults else { return embedded ? [.restart, .kill] : [.kill] }
        let kinds = try Self.parseFaults(faults)
        if kinds.contains(.restart), !embedded {
            throw ToolFailure.badInput(
                "--faults restart needs the embedded redis-server (no --redis, no REDIS_URL): "
                    + "the load test restarts only a server it started; use --faults kill")
        }
        return kinds
    }

    /// Parses "80,10,8,2" into four percentages summing to 100.
    static func parseMix(_ text: String) throws -> [Int] {
        let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 4, parts.allSatisfy({ (0...100).contains($0 ?? -1) }),
            parts.reduce(0, { $0 + ($1 ?? 0) }) == 100
        else {
            throw ValidationError("--mix must be four whole percentages summing to 100, e.g. 80,10,8,2")
        }
        return parts.map { $0! }
    }

    /// The shape of `--lines`, `--connectors` and `--mix` (each checked by `validate()` first).
    static func shape(lines: Int, connectors: Int, mix: String) throws -> LoadShape {
        do {
            return try LoadShape(lines: lines, connectors: connectors, mix: try parseMix(mix))
        } catch let error as LoadTestError {
            throw ValidationError(error.description)
        }
    }

    func run() async throws {
        let namespace = self.namespace ?? "lt-" + UUID().uuidString.prefix(8).lowercased()
        let keys = try KeySpace(namespace: namespace)
        if chaos, redisOptions.configuredURL != nil { _ = try faultKinds(embedded: false) }  // before any work
        // Persist every write so that a restart of the embedded server loses nothing acknowledged.
        let (resolved, embedded) = try await redisOptions.resolve(
            embeddedArguments: chaos ? ["--appendonly", "yes", "--appendfsync", "always"] : [])
        // Every connection of the run (coordinator, instances, probe) carries this name, so that
        // --chaos closes only the run's own connections on a shared Redis.
        let clientName = redisOptions.clientName ?? "connector-status-loadtest-\(keys.namespace)"
        let deployment = resolved.withConfiguration { $0.clientName = clientName }
        var logger = toolLogger()
        if chaos { logger.logLevel = .critical }  // the injected faults are reported, not logged
        try await withClient(deployment, logger: logger, stopping: embedded) { redis in
            try await execute(
                redis: redis, deployment: deployment, keys: keys, embedded: embedded, clientName: clientName)
        }
    }

    private func execute(
        redis: any RedisCommandClient, deployment: RedisDeployment, keys: KeySpace, embedded: EmbeddedRedisServer?,
        clientName: String
    ) async throws {
        // No other demo or load test may run on the namespace meanwhile: it would clear our data.
        let lease = try await NamespaceLease.acquire(keys, owner: "loadtest", redis: redis)
        let running: Set<String> = [NamespaceGuard.runningKey(keys)]
        do {
            // The namespace must be the run's own: it is deleted at the end.
            let claim = try await NamespaceGuard.claim(
                keys, owner: "loadtest", wipe: wipeNamespace, redis: redis, wipeOption: "--wipe-namespace")
            if claim == .ownedBefore {  // left by an earlier, interrupted run: start from nothing
                if !wipeNamespace, let foreign = try await LoadTestChecks.keyNotOfALoadTest(keys, redis: redis) {
                    throw ToolFailure.badInput(
                        "namespace '\(keys.namespace)' was left by an interrupted load test but now also holds "
                            + "\(foreign), which no load test writes; it refuses to clear it. Pick another "
                            + "--namespace, or pass --wipe-namespace to delete every key under '\(keys.namespace):'")
                }
                try await NamespaceGuard.removeAll(keys, redis: redis, keeping: running)
                try await redis.send("SET", NamespaceGuard.ownerKey(keys), "loadtest")
            }
        } catch {
            await lease.release()
            throw error
        }
        do {
            try await measure(
                redis: redis, deployment: deployment, keys: keys, embedded: embedded, clientName: clientName)
        } catch {
            // Also after Ctrl-C or SIGTERM: the run removes what it wrote before it exits.
            await evenIfCancelled { _ = try? await NamespaceGuard.removeAll(keys, redis: redis, keeping: running) }
            await lease.release()
            throw error
        }
        await lease.release()
    }

    private func measure(
        redis: any RedisCommandClient, deployment: RedisDeployment, keys: KeySpace, embedded: EmbeddedRedisServer?,
        clientName: String
    ) async throws {
        try await StatusStore(redis: redis, keys: keys, logger: toolLogger()).preloadScripts()
        let url = redisOptions.childURL(embedded: embedded)
        let runSeconds = duration ?? (ops == nil ? 10 : 3600)
        var common =
            [
                "--namespace", keys.namespace, "--tasks", String(tasks), "--lines", String(lines),
                "--connectors", String(connectors), "--mix", mix, "--duration", String(runSeconds),
            ] + (redisOptions.poolSize.map { ["--pool-size", String($0)] } ?? []) + ["--client-name", clientName]
        if let ops { common += ["--ops", String(max(1, ops / instances))] }
        if chaos || externalFaults { common.append("--chaos") }
        if durable { common.append("--durable") }
        if nearCache { common.append("--near-cache") }
        let started = ContinuousClock.now
        var spawned: [ChildProcess] = []
        do {
            for index in 0..<instances {
                var arguments = ["loadtest-instance", "--instance", String(index + 1)] + common
                if plantStaleRead && index == 0 { arguments.append("--plant-stale-read") }
                spawned.append(
                    try ChildProcess(
                        name: "instance-\(index + 1)", arguments: arguments, redisURL: url, echoPrefix: nil))
            }
        } catch {
            for child in spawned { child.kill() }
            throw error
        }
        let children = spawned  // shared with the progress task: not mutated from here on
        let injector =
            chaos
            ? FaultInjector(
                redis: redis, embedded: embedded, kinds: try faultKinds(embedded: embedded != nil),
                clientName: clientName, probeKey: keys.toolKey("probe"), logger: Logger(label: "chaos")) : nil
        let probeTask = plot.map { _ in
            Task {
                await ReadinessProbe.run(
                    deployment: deployment, keys: keys, since: started, logger: Logger(label: "probe"))
            }
        }
        let chaosTask = injector.map { injector in Task { await injector.run() } }
        let progressTask = Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                let total = children.reduce(0) { $0 + $1.lastProgress }
                let seconds = (ContinuousClock.now - started).seconds
                if !json {
                    FileHandle.standardError.write(
                        Data(
                            String(format: "\r[%5.1fs] %d ops, %.0f ops/s   ", seconds, total, Double(total) / seconds)
                                .utf8))
                }
            }
        }
        // Every instance at once: the first to fail stops the others.
        let outputs: [[String]]
        do {
            outputs = try await ChildProcess.waitForAll(children, timeout: .seconds(runSeconds + 120)) { lines in
                Self.report(in: lines) != nil
            }
        } catch {
            progressTask.cancel()
            chaosTask?.cancel()
            probeTask?.cancel()
            _ = await injector?.finish()
            throw error
        }
        let reports = outputs.compactMap(Self.report(in:))
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
        total.violations.lostUpdates = try await LoadTestChecks.countLostUpdates(redis: redis, keys: keys, total: total)
        // The reference figure needs one server: redis-benchmark is not run on a cluster or Sentinel.
        var reference: BenchSample?
        if case .standalone(let configuration) = deployment {
            reference = try? await RedisBenchmarkTool.locate(configuration: configuration)
                .run(clients: 128, requests: 200_000, command: ["GET", keys.toolKey("bench")])
        }
        try await NamespaceGuard.removeAll(keys, redis: redis, keeping: [NamespaceGuard.runningKey(keys)])

        let result = LoadTestResult(
            instances: instances, tasksPerInstance: tasks, elapsedSeconds: elapsed.seconds, reports: reports,
            total: total, faults: faults, redisBenchmarkC128: reference?.opsPerSecond,
            machine: BenchEnvironment.machine(),
            mix: mix, chaos: chaos, deployment: deployment.kind)
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

    /// The ``InstanceReport`` on an instance's last output line, if it printed one.
    static func report(in lines: [String]) -> InstanceReport? {
        guard let last = lines.last else { return nil }
        return try? JSONDecoder().decode(InstanceReport.self, from: Data(last.utf8))
    }
}
