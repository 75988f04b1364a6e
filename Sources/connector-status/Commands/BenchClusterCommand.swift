import ArgumentParser
import ConnectorStatus
import ConnectorStatusBench
import EmbeddedRedis
import Foundation
import Logging
import RedisClient

/// Readiness throughput on a Redis Cluster against one server, in the same run, plus the cost
/// of durable (`WAIT`) status writes.
struct BenchClusterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-cluster",
        abstract: "Readiness on a Redis Cluster vs one embedded server, and the cost of WAIT, in one run.",
        discussion: """
            Needs a cluster URL (--redis or REDIS_URL), e.g. from `bash scripts/redis-cluster.sh \
            start`. Each round measures, interleaved: readiness checks from --callers tasks for \
            --seconds on one embedded redis-server and on the cluster; status writes with and \
            without `WAIT 1` on the cluster; and `redis-benchmark -t get` on both (with \
            --cluster) for reference. The table shows medians; the ratio is cluster / one server.

            Example:
              bash scripts/redis-cluster.sh start && source .build/redis-cluster.env
              connector-status bench-cluster --redis "$REDIS_CLUSTER_URL"
            """)

    @OptionGroup var redisOptions: RedisOptions

    @Option(help: "Concurrent callers.") var callers = 64
    @Option(help: "Seconds per measurement.") var seconds = 3.0
    @Option(help: "Rounds (medians are reported).") var rounds = 3
    @Option(help: "Connections to the one server; the cluster gets this many divided by its masters per node.")
    var connections = 6
    @Option(help: "Loopback TCP port of the one embedded server (TCP like the cluster, for a fair comparison).")
    var oneServerPort = 7499
    @Flag(help: "Print one JSON object instead of the table.") var json = false

    func validate() throws {
        guard (1...10_000).contains(callers), (1...1000).contains(rounds),
            (1...RedisConfiguration.maximumPoolSize).contains(connections)
        else {
            throw ValidationError(
                "--callers must be 1...10000, --rounds 1...1000 and --connections 1...\(RedisConfiguration.maximumPoolSize)"
            )
        }
        guard (1...65535).contains(oneServerPort) else { throw ValidationError("--one-server-port must be 1...65535") }
        guard seconds > 0 && seconds <= 600 else { throw ValidationError("--seconds must be in (0, 600]") }
    }

    func run() async throws {
        guard let url = redisOptions.configuredURL,
            case .cluster(let seeds, var template) = try RedisDeployment(url: url)
        else {
            throw ToolFailure.badInput(
                "bench-cluster needs a redis-cluster:// URL (--redis or REDIS_URL); start one with scripts/redis-cluster.sh"
            )
        }
        let cluster = try RedisClusterClient(seeds: seeds, template: template, logger: toolLogger())
        let masters = try await cluster.refreshTopology().masters
        template.poolSize = max(1, connections / max(1, masters.count))
        await cluster.close()
        let clusterClient = try RedisClusterClient(seeds: seeds, template: template, logger: toolLogger())
        let server = try await EmbeddedRedisServer.start(arguments: [
            "--port", String(oneServerPort), "--bind", "127.0.0.1",
        ])
        let oneServer = RedisEndpoint.tcp(host: "127.0.0.1", port: oneServerPort)
        let standalone = try RedisConnectionPool(
            configuration: RedisConfiguration(endpoint: oneServer, poolSize: connections), logger: toolLogger())
        StopOnSignal.install(server)
        try await stopping(server) {
            let bench = ClusterReadinessBench(callers: callers, duration: .seconds(seconds))
            let benchLogger = Logger(label: "bench")
            let log: (String) -> Void = { if !json { FileHandle.standardError.write(Data(($0 + "\n").utf8)) } }

            let (oneStore, onePairs) = try await ClusterReadinessBench.prepare(standalone, logger: benchLogger)
            let (clusterStore, clusterPairs) = try await ClusterReadinessBench.prepare(
                clusterClient, logger: benchLogger)
            let durableStore = StatusStore(
                redis: clusterClient, keys: clusterStore.keys, durability: .replicated(1, timeout: .milliseconds(500)),
                logger: toolLogger())
            let standaloneTool = try RedisBenchmarkTool.locate(endpoint: oneServer)
            var clusterTool = try RedisBenchmarkTool.locate(configuration: template)  // the first seed
            clusterTool.cluster = true

            var figures: [String: [Double]] = [:]
            var perNode: [String: Int] = [:]
            for round in 1...rounds {
                log("round \(round)/\(rounds)")
                figures["readiness_one_server", default: []].append(
                    try await bench.readinessOpsPerSecond(oneStore, onePairs))
                let before = await ClusterReadinessBench.evalshaCalls(clusterClient)
                figures["readiness_cluster", default: []].append(
                    try await bench.readinessOpsPerSecond(clusterStore, clusterPairs))
                let after = await ClusterReadinessBench.evalshaCalls(clusterClient)
                for (node, calls) in after { perNode[node, default: 0] += calls - (before[node] ?? 0) }
                figures["update_cluster", default: []].append(
                    try await bench.updateOpsPerSecond(clusterStore, clusterPairs))
                figures["update_cluster_wait1", default: []].append(
                    try await bench.updateOpsPerSecond(durableStore, clusterPairs))
                figures["update_one_server", default: []].append(try await bench.updateOpsPerSecond(oneStore, onePairs))
                let requests = 200_000
                figures["redis_benchmark_get_one_server", default: []].append(
                    try await standaloneTool.run(clients: callers, requests: requests, command: ["-t", "get"])
                        .opsPerSecond)
                figures["redis_benchmark_get_cluster", default: []].append(
                    try await clusterTool.run(clients: callers, requests: requests, command: ["-t", "get"]).opsPerSecond
                )
            }
            try await ClusterReadinessBench.remove(oneStore, onePairs)
            try await ClusterReadinessBench.remove(clusterStore, clusterPairs)
            await clusterClient.close()
            await standalone.close()

            let median = figures.mapValues { values in values.sorted()[values.count / 2] }
            let readinessRatio = median["readiness_cluster"]! / median["readiness_one_server"]!
            let referenceRatio = median["redis_benchmark_get_cluster"]! / median["redis_benchmark_get_one_server"]!
            let waitCost = median["update_cluster_wait1"]! / median["update_cluster"]!
            let evalshaTotal = max(1, perNode.values.reduce(0, +))
            let machine = BenchEnvironment.machine()
            if json {
                try printJSON(
                    ClusterBenchReport(
                        machine: machine, callers: callers, seconds: seconds, rounds: rounds, masters: masters.count,
                        opsPerSecond: median, readinessClusterVsOneServer: readinessRatio,
                        redisBenchmarkGetClusterVsOneServer: referenceRatio, updateWait1VsAsync: waitCost,
                        readinessSharePerMaster: perNode.mapValues { Double($0) / Double(evalshaTotal) }),
                    snakeCase: true)
                return
            }
            print("machine: \(machine); \(callers) callers, \(seconds) s per figure, median of \(rounds)")
            for name in median.keys.sorted() { print("  \(name): \(Int(median[name]!)) ops/s") }
            print("readiness, cluster / one server: \(String(format: "%.2f", readinessRatio))")
            print("redis-benchmark GET, cluster / one server: \(String(format: "%.2f", referenceRatio))")
            print("status update with WAIT 1 / without: \(String(format: "%.2f", waitCost))")
            for node in perNode.keys.sorted() {
                print(
                    "  readiness checks served by \(node): \(perNode[node]!) (\(Int(Double(perNode[node]!) * 100 / Double(evalshaTotal))) %)"
                )
            }
        }
    }
}

/// The `--json` form of ``BenchClusterCommand``'s figures.
struct ClusterBenchReport: Encodable {
    var machine: String
    var callers: Int
    var seconds: Double
    var rounds: Int
    var masters: Int
    /// Median operations per second of each measurement.
    var opsPerSecond: [String: Double]
    var readinessClusterVsOneServer: Double
    var redisBenchmarkGetClusterVsOneServer: Double
    var updateWait1VsAsync: Double
    /// The share of the cluster's readiness checks each master served.
    var readinessSharePerMaster: [String: Double]
}
