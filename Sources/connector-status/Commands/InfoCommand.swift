import ArgumentParser
import EmbeddedRedis
import Foundation
import RedisClient

/// Connects, then prints the server version, the round-trip latency and a pipelined throughput.
struct InfoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "info",
        abstract: "Connect to Redis and print its version, round-trip latency and pipelined throughput.",
        discussion: """
            Example:
              connector-status info --redis redis://127.0.0.1:6379
              connector-status info --redis redis-cluster://127.0.0.1:7000,127.0.0.1:7001
            """)

    @OptionGroup var redisOptions: RedisOptions

    func run() async throws {
        let (deployment, embedded) = try await redisOptions.resolve()
        try await withClient(deployment, logger: toolLogger(), stopping: embedded) { redis in
            print(
                "Redis:       \("\(deployment)".escapingControlCharacters)\(embedded != nil ? " (embedded, started for this run)" : "")"
            )
            // INFO is per server: ask every master (one server: it).
            for (endpoint, result) in await redis.sendToEveryMaster(RedisCommand("INFO", "server")) {
                let info = try result.get().string ?? ""
                let version =
                    info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("redis_version:") }?
                    .dropFirst("redis_version:".count) ?? "?"
                print("Version:     \(version)\(deployment.kind == .cluster ? " (master \(endpoint))" : "")")
            }

            // Round trip: serial PINGs.
            var samples: [Duration] = []
            for _ in 0..<2000 {
                let start = ContinuousClock.now
                try await redis.send("PING")
                samples.append(ContinuousClock.now - start)
            }
            samples.sort()
            print(
                String(
                    format: "Round trip:  p50 %.1f µs, p99 %.1f µs (2000 serial PINGs)",
                    samples[samples.count / 2].microseconds, samples[samples.count * 99 / 100].microseconds))

            // Throughput: 64 concurrent callers, automatic pipelining.
            let key = "connector-status:info:\(UUID().uuidString)"
            try await redis.send("SET", key, "value")
            let perTask = 2000
            let tasks = 64
            let start = ContinuousClock.now
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<tasks {
                    group.addTask {
                        for _ in 0..<perTask { try await redis.send("GET", key) }
                    }
                }
                try await group.waitForAll()
            }
            let elapsed = ContinuousClock.now - start
            try await redis.send("DEL", key)
            print(
                String(
                    format: "Throughput:  %.0f GET/s from %d concurrent callers (automatic pipelining)",
                    Double(tasks * perTask) / elapsed.seconds, tasks))
            await redis.close()
        }
    }
}
