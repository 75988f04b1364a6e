import ArgumentParser
import ConnectorStatusBench
import Foundation
import RedisClient

/// `bench-tls`: the cost of TLS, measured on one server that listens both in plain TCP and in
/// TLS, the two sides interleaved in the same run.
struct BenchTLSCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-tls",
        abstract: "Benchmark the client over TLS against plain TCP on the same server, in the same run.",
        discussion: """
            Scenarios, each on both sides, `rounds` times, alternating which side goes first: GET \
            from one caller (serial round trips), GET from 64 concurrent callers (automatic \
            pipelining), SET of 1 KiB from 64 callers, explicit pipelines of 100 GETs, and \
            connect + PING + close (the TLS handshake). The table shows the median ops/s with \
            min–max, the median p50/p99 latency and the ratio TLS / plain.

            The URLs come from --plain-url/--tls-url or PLAIN_REDIS_URL/TLS_REDIS_URL (a URL with \
            a password belongs in the environment, not in a process's arguments). \
            scripts/bench-tls.sh makes the certificates, starts the server pinned to a CPU and \
            runs this command pinned to another:

              bash scripts/bench-tls.sh --rounds 5
            """)

    @Option(help: "The server over plain TCP (redis://). Default: $PLAIN_REDIS_URL.")
    var plainURL: String?

    @Option(help: "The same server over TLS (rediss://…?cacert=…). Default: $TLS_REDIS_URL.")
    var tlsURL: String?

    @Option(help: "Rounds per scenario (median and min–max are reported).")
    var rounds: Int = 3

    @Option(help: "Base request count per run (scenarios scale it).")
    var requests: Int = 50_000

    @Option(help: "Connections in each pool.")
    var poolSize: Int = 2

    func validate() throws {
        guard (1...1000).contains(rounds) else { throw ValidationError("--rounds must be 1...1000") }
        guard (1000...100_000_000).contains(requests) else {
            throw ValidationError("--requests must be 1000...100000000")
        }
        guard (1...64).contains(poolSize) else { throw ValidationError("--pool-size must be 1...64") }
    }

    /// One side of the comparison.
    private struct Side {
        var name: String
        var configuration: RedisConfiguration
        var pool: RedisConnectionPool
    }

    /// One scenario: how to run it against a pool (or a configuration, for connects).
    private struct Scenario {
        var name: String
        var run: @Sendable (RedisConnectionPool, RedisConfiguration) async throws -> BenchSample
    }

    func run() async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let plainText = plainURL ?? environment["PLAIN_REDIS_URL"],
            let tlsText = tlsURL ?? environment["TLS_REDIS_URL"]
        else {
            throw ToolFailure.badInput(
                "bench-tls needs --plain-url and --tls-url (or PLAIN_REDIS_URL and TLS_REDIS_URL)")
        }
        var plain = try RedisConfiguration(url: plainText)
        var tls = try RedisConfiguration(url: tlsText)
        guard plain.tls == nil, tls.tls != nil else {
            throw ToolFailure.badInput("bench-tls needs a redis:// URL for the plain side and a rediss:// one for TLS")
        }
        plain.poolSize = poolSize
        tls.poolSize = poolSize
        let sides = [
            Side(
                name: "plain", configuration: plain,
                pool: try RedisConnectionPool(configuration: plain, logger: toolLogger())),
            Side(
                name: "TLS", configuration: tls, pool: try RedisConnectionPool(configuration: tls, logger: toolLogger())
            ),
        ]
        let key = "bench-tls:\(UUID().uuidString)"
        let value = String(repeating: "v", count: 1024)
        for side in sides { try await side.pool.send("SET", key, "xxx") }
        let protocolVersion = try await RedisTLSSessionInfo.probe(tls).map { "\($0.protocolVersion) \($0.cipher)" }

        let requests = requests
        let scenarios = [
            Scenario(name: "GET, 1 caller, serial") { pool, _ in
                try await ClientWorkload.serial(pool: pool, requests: requests / 5) {
                    _ = try await $0.send("GET", key)
                }
            },
            Scenario(name: "GET, 64 concurrent callers") { pool, _ in
                try await ClientWorkload.concurrent(pool: pool, requests: requests * 2, callers: 64) {
                    _ = try await $0.send("GET", key)
                }
            },
            Scenario(name: "SET 1 KiB, 64 concurrent callers") { pool, _ in
                try await ClientWorkload.concurrent(pool: pool, requests: requests * 2, callers: 64) {
                    _ = try await $0.send("SET", key + ":1k", value)
                }
            },
            Scenario(name: "GET, pipelines of 100") { pool, _ in
                try await ClientWorkload.pipelined(
                    pool: pool, requests: requests * 4, depth: 100, command: RedisCommand("GET", key))
            },
            Scenario(name: "connect + PING + close") { _, configuration in
                try await Self.connects(configuration, count: 100)
            },
        ]
        var results = Array(repeating: (plain: BenchSeries(), tls: BenchSeries()), count: scenarios.count)
        for round in 0..<rounds {
            for (index, scenario) in scenarios.enumerated() {
                log("round \(round + 1)/\(rounds): \(scenario.name)")
                let order = round % 2 == 0 ? [0, 1] : [1, 0]
                for sideIndex in order {
                    let side = sides[sideIndex]
                    let sample = try await scenario.run(side.pool, side.configuration)
                    if sideIndex == 0 {
                        results[index].plain.samples.append(sample)
                    } else {
                        results[index].tls.samples.append(sample)
                    }
                }
            }
        }
        for side in sides {
            try await side.pool.send("DEL", key, key + ":1k")
            await side.pool.close()
        }

        var table = TextTable([
            "scenario", "plain ops/s (min–max)", "TLS ops/s (min–max)", "TLS / plain", "p50 µs plain → TLS",
            "p99 µs plain → TLS",
        ])
        for (scenario, result) in zip(scenarios, results) {
            table.add([
                scenario.name, Self.series(result.plain), Self.series(result.tls),
                String(format: "%.2f", result.tls.medianOpsPerSecond / max(result.plain.medianOpsPerSecond, 1)),
                String(format: "%.0f → %.0f", result.plain.medianP50, result.tls.medianP50),
                String(format: "%.0f → %.0f", result.plain.medianP99, result.tls.medianP99),
            ])
        }
        print("TLS vs plain TCP, same server, \(rounds) rounds, \(poolSize) connections per pool")
        print("plain: \(plain.endpoint)   TLS: \(tls.endpoint) (\(protocolVersion ?? "?"))")
        print("machine: \(BenchEnvironment.machine())")
        print(table.render())
    }

    /// `count` times: a new pool of one connection, `PING`, close. Ops/s is connects per second.
    private static func connects(_ configuration: RedisConfiguration, count: Int) async throws -> BenchSample {
        var single = configuration
        single.poolSize = 1
        var latencies: [Double] = []
        let start = ContinuousClock.now
        for _ in 0..<count {
            let begin = ContinuousClock.now
            let pool = try RedisConnectionPool(configuration: single, logger: toolLogger())
            do {
                try await pool.send("PING")
            } catch {
                await pool.close()
                throw error
            }
            await pool.close()
            latencies.append((ContinuousClock.now - begin).microseconds)
        }
        latencies.sort()
        return BenchSample(
            opsPerSecond: Double(count) / (ContinuousClock.now - start).seconds,
            p50Microseconds: latencies[latencies.count / 2],
            p99Microseconds: latencies[min(latencies.count - 1, latencies.count * 99 / 100)])
    }

    private static func series(_ series: BenchSeries) -> String {
        String(
            format: "%@ (%@–%@)", opsText(series.medianOpsPerSecond), opsText(series.minOpsPerSecond),
            opsText(series.maxOpsPerSecond))
    }

    private static func opsText(_ value: Double) -> String {
        value >= 1000 ? String(format: "%.1fk", value / 1000) : String(format: "%.0f", value)
    }

    private func log(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }
}
