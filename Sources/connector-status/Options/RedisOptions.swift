import ArgumentParser
import EmbeddedRedis
import Foundation
import Logging
import RedisClient

/// `--redis URL`, shared by every command: the URL, else `REDIS_URL`, else an embedded server.
struct RedisOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Redis URL: redis://[user[:password]@]host[:port][/db] or unix:///path[?db=N]. Default: $REDIS_URL, else a private embedded redis-server.",
            valueName: "url"))
    var redis: String?

    @Option(name: .long, help: "Connections in the pool.")
    var poolSize: Int = 2

    /// The URL to use, or `nil` when an embedded server should be started.
    var configuredURL: String? {
        if let redis { return redis }
        if let fromEnvironment = ProcessInfo.processInfo.environment["REDIS_URL"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return nil
    }

    /// Resolves the configuration, starting an embedded server when none is configured (it is
    /// also stopped on SIGINT/SIGTERM). The caller must `stop()` the returned server.
    func resolve() throws -> (RedisConfiguration, EmbeddedRedisServer?) {
        if let url = configuredURL {
            var configuration = try RedisConfiguration(url: url)
            configuration.poolSize = poolSize
            return (configuration, nil)
        }
        let server = try EmbeddedRedisServer.start()
        StopOnSignal.install(server)
        var configuration = RedisConfiguration(endpoint: .unix(path: server.socketPath))
        configuration.poolSize = poolSize
        return (configuration, server)
    }
}

/// The logger the tool gives the library: warnings and errors to stderr.
func toolLogger(_ label: String = "connector-status") -> Logger {
    var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = .warning
    return logger
}
