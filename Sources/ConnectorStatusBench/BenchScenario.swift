import RedisClient

/// The reference side of a comparison: `redis-benchmark` against the same server (the tool runs
/// the binary; see `RedisBenchmarkTool` in the executable).
public protocol ReferenceBenchmark: Sendable {
    /// Runs `redis-benchmark -c clients -n requests -P pipeline <command…>` and returns its
    /// figures; throws ``BenchError`` when it cannot run or prints no result.
    func run(clients: Int, requests: Int, pipeline: Int, command: [String]) async throws -> BenchSample
}

extension ReferenceBenchmark {
    /// ``run(clients:requests:pipeline:command:)`` without pipelining.
    public func run(clients: Int, requests: Int, command: [String]) async throws -> BenchSample {
        try await run(clients: clients, requests: requests, pipeline: 1, command: command)
    }
}

/// A benchmark that could not run, or whose operation did not answer as it should.
public struct BenchError: Error, CustomStringConvertible {
    /// What went wrong.
    public let description: String
    /// An error saying `description`.
    public init(_ description: String) { self.description = description }
}

/// One comparison: the same commands through `redis-benchmark` and through our client.
public struct BenchScenario: Sendable {
    /// Short name shown in the table, e.g. `GET serial`.
    public let name: String
    /// What the reference side runs, e.g. `redis-benchmark -c 1 -t get`.
    public let referenceDescription: String
    /// The lowest acceptable ratio ours / reference.
    public let targetRatio: Double
    /// Runs the reference side once.
    public let runReference: @Sendable (any ReferenceBenchmark) async throws -> BenchSample
    /// Runs our side once, through `pool`.
    public let runOurs: @Sendable (RedisConnectionPool) async throws -> BenchSample
}

/// The outcome of one scenario over every round.
public struct BenchResult: Codable, Sendable {
    /// The scenario's name.
    public var name: String
    /// What the reference side ran.
    public var reference: String
    /// The lowest acceptable ratio ours / reference (0: for information).
    public var targetRatio: Double
    /// The reference side's runs.
    public var referenceSeries = BenchSeries()
    /// Our side's runs.
    public var oursSeries = BenchSeries()

    /// No run yet of the scenario named `name`.
    public init(name: String, reference: String, targetRatio: Double) {
        self.name = name
        self.reference = reference
        self.targetRatio = targetRatio
    }

    /// Median ops/s ours / reference (0 before the reference ran).
    public var ratio: Double {
        referenceSeries.medianOpsPerSecond > 0 ? oursSeries.medianOpsPerSecond / referenceSeries.medianOpsPerSecond : 0
    }
    /// Whether the ratio reached the target.
    public var met: Bool { ratio >= targetRatio }
}

/// The scenarios of the client layer (issue 2): GET serial, explicit pipeline, concurrency.
public enum ClientScenarios {
    /// The key `GET` reads (`redis-benchmark -t get`'s own key); the run sets it first.
    public static let key = "key:__rand_int__"

    /// Every scenario of the client layer, sized by `requests`.
    public static func all(requests: Int) -> [BenchScenario] {
        let get = RedisCommand("GET", key)
        return [
            BenchScenario(
                name: "GET, 1 caller, serial", referenceDescription: "redis-benchmark -c 1 -t get", targetRatio: 0.9,
                runReference: { try await $0.run(clients: 1, requests: requests / 10, command: ["GET", key]) },
                runOurs: { pool in
                    try await ClientWorkload.serial(pool: pool, requests: requests / 10) { try await $0.send(get) }
                }),
            BenchScenario(
                name: "GET, 1 caller, serial, on the pool's executor",
                referenceDescription: "redis-benchmark -c 1 -t get",
                targetRatio: 0.9,
                runReference: { try await $0.run(clients: 1, requests: requests / 10, command: ["GET", key]) },
                runOurs: { pool in
                    try await withTaskExecutorPreference(pool.taskExecutor()) {
                        try await ClientWorkload.serial(pool: pool, requests: requests / 10) { try await $0.send(get) }
                    }
                }),
            BenchScenario(
                name: "GET, explicit pipeline of 100", referenceDescription: "redis-benchmark -c 1 -P 100 -t get",
                targetRatio: 0.5,
                runReference: {
                    try await $0.run(clients: 1, requests: requests * 5, pipeline: 100, command: ["GET", key])
                },
                runOurs: { pool in
                    try await ClientWorkload.pipelined(pool: pool, requests: requests * 5, depth: 100, command: get)
                }),
            BenchScenario(
                name: "GET, 64 concurrent callers", referenceDescription: "redis-benchmark -c 50 -t get (no -P)",
                targetRatio: 3.0,
                runReference: { try await $0.run(clients: 50, requests: requests, command: ["GET", key]) },
                runOurs: { pool in
                    try await ClientWorkload.concurrent(pool: pool, requests: requests * 3, callers: 64) {
                        try await $0.send(get)
                    }
                }),
        ]
    }
}
