import RedisClient

/// One comparison: the same commands through `redis-benchmark` and through our client.
struct BenchScenario: Sendable {
    /// Short name shown in the table, e.g. `GET serial`.
    let name: String
    /// What the reference side runs, e.g. `redis-benchmark -c 1 -t get`.
    let referenceDescription: String
    /// The lowest acceptable ratio ours / reference.
    let targetRatio: Double
    let runReference: @Sendable (RedisBenchmarkTool) async throws -> BenchSample
    let runOurs: @Sendable (RedisConnectionPool) async throws -> BenchSample
}

/// The outcome of one scenario over every round.
struct BenchResult: Codable, Sendable {
    var name: String
    var reference: String
    var targetRatio: Double
    var referenceSeries = BenchSeries()
    var oursSeries = BenchSeries()

    var ratio: Double {
        referenceSeries.medianOpsPerSecond > 0 ? oursSeries.medianOpsPerSecond / referenceSeries.medianOpsPerSecond : 0
    }
    var met: Bool { ratio >= targetRatio }
}

/// The scenarios of the client layer (issue 2): GET serial, explicit pipeline, concurrency.
enum ClientScenarios {
    static let key = "key:__rand_int__"

    static func all(requests: Int) -> [BenchScenario] {
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
