import ArgumentParser
import ConnectorStatus
import Foundation
import Logging
import RedisClient

/// One instance process of the demo (hidden): `operator` drives the scenario, `observer`
/// watches it and prints what it saw as JSON on its last line.
struct DemoInstanceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo-instance", abstract: "One app-server instance of the demo.", shouldDisplay: false)

    @OptionGroup var store: StoreOptions
    @Option var role: String
    @Option var name: String
    @Option var pauseMs: Int = 300

    func validate() throws {
        guard (0...10_000).contains(pauseMs) else { throw ValidationError("--pause-ms must be 0...10000") }
        try store.redisOptions.validatePoolSize()
    }

    func run() async throws {
        try await store.withSession { session in
            let cache = LineCache(redis: session.redis, keys: session.keys, logger: toolLogger())
            switch role {
            case "operator":
                let registry = ConnectorRegistry(redis: session.redis, keys: session.keys, logger: toolLogger())
                try await DemoOperator(
                    store: session.store, registry: registry, cache: cache, pause: .milliseconds(pauseMs)
                ).run()
            case "observer":
                let observation = try await DemoObserver(
                    name: name, redis: session.redis, store: session.store, cache: cache, interval: .milliseconds(50)
                ).run()
                try printJSON(observation)
            default:
                throw ToolFailure.badInput("--role must be operator or observer")
            }
        }
    }
}
