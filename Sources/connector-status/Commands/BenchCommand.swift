import ArgumentParser
import ConnectorStatusBench
import EmbeddedRedis
import Foundation
import Logging
import RedisClient

/// Runs our client and `redis-benchmark` side by side on the same server, interleaved, and
/// prints ops/s, latency and the ratio for each scenario.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmark the client against redis-benchmark on the same server, in the same run.",
        discussion: """
            Each scenario runs `rounds` times, alternating which side goes first; the table shows \
            the median with min–max and the ratio of medians. Loopback round trips swing 2-3x \
            with CPU placement, so pin: --server-cpu puts the embedded redis-server on one CPU, \
            --client-cpu puts this process and redis-benchmark (which inherits it) on another, \
            the same for both sides of every comparison:

              connector-status bench --server-cpu 1 --client-cpu 0 --rounds 5

            Needs one server: the embedded one, or a redis:// or unix:// URL (a cluster or \
            Sentinel URL exits 2).

            Example:
              connector-status bench --json
            """)

    @OptionGroup var redisOptions: RedisOptions

    @Option(help: "Rounds per scenario (median and min–max are reported).")
    var rounds: Int = 3

    @Option(help: "Base request count per run (scenarios scale it).")
    var requests: Int = 100_000

    @Option(help: "Only run scenarios whose name contains this text.")
    var filter: String?

    @Flag(help: "Print one JSON object instead of the table.")
    var json = false

    @Flag(
        help: """
            Skip the single-figure measurements (batch readiness, memory, clean, reclaim, the Swift runtime's \
            cost of a cancellable call, near-cache store hits); --filter skips them too, but --filter \
            cancellation and --filter "near cache" run those two alone.
            """)
    var skipFacts = false

    @Option(help: "Pin the embedded redis-server to this CPU (taskset).")
    var serverCPU: Int?

    @Option(help: "Pin this process, and so redis-benchmark, to this CPU (taskset).")
    var clientCPU: Int?

    func validate() throws {
        guard (1...1000).contains(rounds) else { throw ValidationError("--rounds must be 1...1000") }
        guard (1000...100_000_000).contains(requests) else {
            throw ValidationError("--requests must be 1000...100000000")
        }
        for (cpu, option) in [(serverCPU, "--server-cpu"), (clientCPU, "--client-cpu")] {
            if let cpu, !(0...4095).contains(cpu) { throw ValidationError("\(option) must be 0...4095") }
        }
        try redisOptions.validatePoolSize()
    }

    func run() async throws {
        if let clientCPU { try await CPUPinning.pin(pid: getpid(), cpu: clientCPU) }
        let (deployment, embedded) = try await redisOptions.resolve()
        try await stopping(embedded) {
            // redis-benchmark and the pool's task executor work against one server.
            let configuration = try deployment.standaloneConfiguration(
                for: "bench", reason: "it compares with redis-benchmark on the same server")
            if let serverCPU {
                guard let pid = embedded?.processIdentifier else {
                    throw ValidationError("--server-cpu needs the embedded server (no --redis, no REDIS_URL)")
                }
                try await CPUPinning.pin(pid: pid, cpu: serverCPU)
            }
            let pool = try RedisConnectionPool(configuration: configuration, logger: toolLogger())
            let reference = try RedisBenchmarkTool.locate(configuration: configuration)
            let info = try await pool.send("INFO", "server").string ?? ""
            let version = BenchEnvironment.field("redis_version", in: info) ?? "?"
            try await pool.send("SET", ClientScenarios.key, "xxx")
            let benchLogger = Logger(label: "bench")
            try await StatusScenarios.prepare(pool, logger: benchLogger)
            try await CacheScenarios.prepare(pool, logger: benchLogger)

            let scenarios =
                (ClientScenarios.all(requests: requests) + StatusScenarios.all(requests: requests, logger: benchLogger)
                + CacheScenarios.all(requests: requests, logger: benchLogger)
                + NearCacheScenarios.all(requests: requests, logger: benchLogger)).filter {
                    scenario in
                    filter.map { scenario.name.localizedCaseInsensitiveContains($0) } ?? true
                }
            let results = try await BenchRunner.compare(
                scenarios, rounds: rounds, reference: reference, pool: pool
            ) { if !json { log($0) } }
            var facts: [String] = []
            if filter == nil && !skipFacts {
                facts += try await StatusScenarios.facts(pool: pool, logger: benchLogger)
                facts += try await CacheScenarios.facts(pool: pool, logger: benchLogger) { if !json { log($0) } }
            }
            // The runtime's own cost of a cancellable call: with every fact, or alone with
            // `--filter cancellation`.
            if !skipFacts && (filter == nil || "cancellation".localizedCaseInsensitiveContains(filter ?? "")) {
                facts.append(await CancellationCost.fact())
            }
            if !skipFacts && (filter == nil || "near cache memory".localizedCaseInsensitiveContains(filter ?? "")) {
                facts += NearCacheScenarios.memoryFacts()
            }
            try await pool.send("DEL", ClientScenarios.key)
            try await NamespaceGuard.removeAll(StatusScenarios.keys, redis: pool)
            try await NamespaceGuard.removeAll(CacheScenarios.keys, redis: pool)
            await pool.close()

            let report = BenchReport(
                machine: BenchEnvironment.machine(), redisVersion: version,
                endpoint: embedded == nil ? "\(configuration.endpoint)" : "embedded \(configuration.endpoint)",
                poolSize: configuration.poolSize, rounds: rounds, results: results,
                facts: facts + CPUPinning.describe(server: serverCPU, client: clientCPU))
            if json {
                print(try report.json())
            } else {
                print(report.table())
            }
        }
    }

    private func log(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
