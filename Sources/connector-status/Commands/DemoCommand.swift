import ArgumentParser
import ConnectorStatus
import ConnectorStatusBench
import EmbeddedRedis
import Foundation
import Logging
import RedisClient

/// The main job: three app-server instance processes share one Redis and agree on every
/// connector status as it changes.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run the scenario: 3 instance processes share connector statuses and line caches through Redis.",
        discussion: """
            Instance 1 registers two connectors, brings lines up step by step (active → \
            connection → register), raises and clears an error, changes config and cleans the \
            line cache. Instances 2 and 3 follow the events, check readiness and read the line \
            cache meanwhile. Then the tool prints the statuses and what each instance saw, and \
            checks that both observers agree. Exit 0 when they do.

            With no --redis and no REDIS_URL, a private redis-server is started on a unix socket \
            and stopped at exit. Against a shared Redis, the demo only touches its own namespace: \
            it claims it first (the key NS:owner = demo) and refuses (exit 2) a namespace that \
            holds data it did not write, unless --wipe-namespace is given. In its namespace it \
            deletes, before it starts, only what it writes: the statuses of demo_telegram and \
            demo_bot on lines 1 and 2, their registry entries, the connector-info cache of lines \
            1 and 2, and its NS:demo:done key. The instance processes get the Redis URL in their \
            environment, never on their command line.

            Example:
              connector-status demo
              connector-status demo --redis redis://127.0.0.1:6379 --pause-ms 100
            """)

    @OptionGroup var redisOptions: RedisOptions

    @Option(help: "Key namespace of the demo's data.")
    var namespace: String = "connector-status-demo"

    @Option(help: "Pause between the operator's steps, in milliseconds.")
    var pauseMs: Int = 250

    @Flag(help: "Delete every key of --namespace first, even if the demo did not write it.")
    var wipeNamespace = false

    func validate() throws {
        guard (0...10_000).contains(pauseMs) else { throw ValidationError("--pause-ms must be 0...10000") }
    }

    func run() async throws {
        let keys = try KeySpace(namespace: namespace)
        let (deployment, embedded) = try await redisOptions.resolve()
        try await withClient(deployment, logger: toolLogger(), stopping: embedded) { redis in
            try await runScenario(redis: redis, deployment: deployment, keys: keys, embedded: embedded)
        }
    }

    private func runScenario(
        redis: any RedisCommandClient, deployment: RedisDeployment, keys: KeySpace, embedded: EmbeddedRedisServer?
    ) async throws {
        let url = redisOptions.childURL(embedded: embedded)
        let store = StatusStore(redis: redis, keys: keys, logger: toolLogger())
        let cache = LineCache(redis: redis, keys: keys, logger: toolLogger())
        let registry = ConnectorRegistry(redis: redis, keys: keys, logger: toolLogger())
        let info = await redis.sendToEveryMaster(RedisCommand("INFO", "server"))
        let version = info.lazy.compactMap { try? $0.result.get().string }.first
            .flatMap { BenchEnvironment.field("redis_version", in: $0) }
        let place =
            embedded != nil ? "(embedded, private unix socket)" : "at \("\(deployment)".escapingControlCharacters)"
        print("ConnectorStatus demo — Redis \(version ?? "?") \(place), namespace \(namespace)")
        print("")

        // No other demo or load test may run on the namespace meanwhile: it would clear our data.
        let lease = try await NamespaceLease.acquire(keys, owner: "demo", redis: redis)
        do {
            try await runClaimed(redis: redis, keys: keys, url: url, store: store, cache: cache, registry: registry)
        } catch {
            await lease.release()
            throw error
        }
        await lease.release()
    }

    private func runClaimed(
        redis: any RedisCommandClient, keys: KeySpace, url: String, store: StatusStore, cache: LineCache,
        registry: ConnectorRegistry
    ) async throws {
        // A clean slate, of what the demo writes only, in a namespace that is the demo's.
        let claim = try await NamespaceGuard.claim(
            keys, owner: "demo", wipe: wipeNamespace, redis: redis, wipeOption: "--wipe-namespace")
        if case .wiped(let count) = claim { print("--wipe-namespace: deleted \(count) keys of \(namespace)") }
        for pair in DemoScenario.pairs { try await store.delete(pair.connector, line: pair.line) }
        for line in [DemoScenario.lineOne, DemoScenario.lineTwo] {
            try await cache.clean(.infoConnectorsLine, line: line)
        }
        for connector in DemoScenario.connectors { try await registry.unregister(connector.id) }
        try await redis.send("DEL", DemoScenario.doneKey(keys))

        let common = ["--namespace", namespace] + redisOptions.childArguments
        var children: [ChildProcess] = []
        do {
            try await runInstances(
                redis: redis, store: store, registry: registry, keys: keys, url: url, common: common,
                children: &children)
        } catch {
            for child in children { child.kill() }
            throw error
        }
    }

    private func runInstances(
        redis: any RedisCommandClient, store: StatusStore, registry: ConnectorRegistry, keys: KeySpace, url: String,
        common: [String], children: inout [ChildProcess]
    ) async throws {
        var observers: [ChildProcess] = []
        for name in ["instance-2", "instance-3"] {
            let observer = try ChildProcess(
                name: name, arguments: ["demo-instance", "--role", "observer", "--name", name] + common,
                redisURL: url, echoPrefix: nil)
            observers.append(observer)
            children.append(observer)
        }
        for observer in observers where !(await observer.waitForLine("subscribed", timeout: .seconds(20))) {
            throw ToolFailure(code: ToolExit.no, message: "\(observer.name) did not start")
        }
        print("instance-2 and instance-3 are following events, readiness and the line cache.")
        print("instance-1 drives the scenario:")
        let operatorProcess = try ChildProcess(
            name: "instance-1",
            arguments: ["demo-instance", "--role", "operator", "--name", "instance-1", "--pause-ms", String(pauseMs)]
                + common,
            redisURL: url, echoPrefix: "  [instance-1] ")
        children.append(operatorProcess)
        let operatorExit = await operatorProcess.waitForExit(timeout: .seconds(120))
        guard operatorExit.status == 0 else {
            throw ToolFailure(
                code: ToolExit.forFailedChild(operatorExit.status),
                message: "instance-1 failed (exit \(operatorExit.status ?? -1))")
        }
        try await Task.sleep(for: .milliseconds(300))  // let observers see the last change
        try await redis.send("SET", DemoScenario.doneKey(keys), "1", "EX", 60)
        let outputs = try await ChildProcess.waitForAll(observers, timeout: .seconds(30)) { lines in
            Self.observation(in: lines) != nil
        }
        let observations = outputs.compactMap(Self.observation(in:))
        let statuses = try await store.allStatuses()
        let ready = try await store.readyConnectors(line: DemoScenario.lineOne)
        let connectors = try await registry.list()
        try await redis.send("DEL", DemoScenario.doneKey(keys))
        print("")
        print(
            DemoSummary(statuses: statuses, connectors: connectors, observations: observations, readyOnLineOne: ready)
                .render())
        let problems = DemoSummary.check(statuses: statuses, observations: observations)
        print("")
        if problems.isEmpty {
            print("demo: OK — every instance saw the same events in the same per-line order, and the same readiness.")
        } else {
            for problem in problems { printError("demo: \(problem)") }
            throw ToolFailure(code: ToolExit.no, message: "the instances disagreed (see above)")
        }
    }

    /// The ``DemoObservation`` on an observer's last output line, if it printed one.
    static func observation(in lines: [String]) -> DemoObservation? {
        guard let last = lines.last else { return nil }
        return try? JSONDecoder().decode(DemoObservation.self, from: Data(last.utf8))
    }
}
