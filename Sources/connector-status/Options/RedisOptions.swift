import ArgumentParser
import EmbeddedRedis
import Foundation
import Logging
import RedisClient

/// `--redis URL`, shared by every command: the URL, else `REDIS_URL`, else an embedded server.
///
/// Every URL form of ``RedisDeployment/init(url:)`` is accepted: one server, a Redis Cluster
/// or a master behind Sentinel.
struct RedisOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            """
            Redis URL, one of: redis://[user[:password]@]host[:port][/db] or unix:///path[?db=N] \
            (one server); redis-cluster://[user[:password]@]host:port[,host:port…] (a Redis Cluster, \
            any nodes as seeds); redis-sentinel://[user[:password]@]host:port[,host:port…]/mastername[/db] \
            (the master the sentinels name); rediss://, rediss-cluster://, rediss-sentinel:// for TLS \
            (?cacert=PATH&cert=PATH&key=PATH&sni=NAME). Default: $REDIS_URL, else a private embedded \
            redis-server.
            """,
            valueName: "url"))
    var redis: String?

    @Option(
        name: .long,
        help: "Connections in the pool (per node on a cluster), 1–1024. Default: the URL's pool_size, else 2.")
    var poolSize: Int?

    /// The `CLIENT SETNAME` of every connection (set by the load test on its instances, so that
    /// its faults close only its own connections).
    @Option(name: .long, help: .hidden)
    var clientName: String?

    /// The URL to use, or `nil` when an embedded server should be started.
    var configuredURL: String? {
        if let redis { return redis }
        if let fromEnvironment = ProcessInfo.processInfo.environment["REDIS_URL"], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return nil
    }

    /// The URL to hand to a child process (in its environment, never its arguments) so that it
    /// reaches the same Redis: the configured URL, else the embedded server's socket.
    func childURL(embedded: EmbeddedRedisServer?) -> String {
        embedded?.url ?? configuredURL ?? ""
    }

    /// `--pool-size N` and `--client-name NAME` for a child process, when given here.
    var childArguments: [String] {
        (poolSize.map { ["--pool-size", String($0)] } ?? []) + (clientName.map { ["--client-name", $0] } ?? [])
    }

    /// Resolves the deployment (with `--pool-size` and `--client-name` applied), starting an embedded server with
    /// `embeddedArguments` when no URL is configured (it is also stopped on SIGINT, SIGTERM and SIGHUP). The
    /// caller must `stop()` the returned server.
    ///
    /// - Throws: ``RedisClientError`` of kind `invalidURL` (exit 2; the message never repeats
    ///   the password) for a URL of no known form; ``EmbeddedRedisError`` when the server
    ///   cannot start.
    func resolve(embeddedArguments: [String] = []) async throws -> (RedisDeployment, EmbeddedRedisServer?) {
        try validatePoolSize()
        if let url = configuredURL {
            return (applySettings(try RedisDeployment(url: url)), nil)
        }
        let server = try await EmbeddedRedisServer.start(arguments: embeddedArguments)
        StopOnSignal.install(server)
        return (applySettings(.standalone(RedisConfiguration(endpoint: .unix(path: server.socketPath)))), server)
    }

    /// `--pool-size` within 1...``RedisConfiguration/maximumPoolSize`` (a pool opens every
    /// connection, each with a thread, at once).
    func validatePoolSize() throws {
        if let poolSize, !(1...RedisConfiguration.maximumPoolSize).contains(poolSize) {
            throw ToolFailure.badInput("--pool-size must be 1...\(RedisConfiguration.maximumPoolSize)")
        }
    }

    private func applySettings(_ deployment: RedisDeployment) -> RedisDeployment {
        guard poolSize != nil || clientName != nil else { return deployment }
        return deployment.withConfiguration { configuration in
            if let poolSize { configuration.poolSize = poolSize }
            if let clientName { configuration.clientName = clientName }
        }
    }
}

extension RedisDeployment {
    /// The one server's configuration; throws exit 2 naming `command` for a cluster or a
    /// Sentinel deployment, for the commands that need a single server of their own.
    func standaloneConfiguration(for command: String, reason: String) throws -> RedisConfiguration {
        guard case .standalone(let configuration) = self else {
            throw ToolFailure.badInput(
                "\(command) needs one Redis server (\(reason)); --redis is a \(kind) URL: "
                    + "give a redis:// or unix:// URL, or none for the embedded server")
        }
        return configuration
    }
}

/// The logger the tool gives the library: warnings and errors to stderr.
func toolLogger(_ label: String = "connector-status") -> Logger {
    var logger = Logger(label: label) { StreamLogHandler.standardError(label: $0) }
    logger.logLevel = .warning
    return logger
}
