import Logging
import Tracing

/// Finds the current master through Sentinel at every (re)connect of a pool's connections.
///
/// Asks each sentinel in turn `SENTINEL GET-MASTER-ADDR-BY-NAME <name>` (on a short-lived
/// connection without credentials: the URL's credentials are the master's; with the master's TLS
/// options, as `rediss-sentinel://` reaches the sentinels over TLS too), connects to the
/// address the first one gives, and refuses the server unless `ROLE` says `master` — right after
/// a failover a sentinel may still name the old master, now a replica. A `READONLY` reply (the
/// server was demoted under an open connection) drops the connection, so the next command finds
/// the new master.
struct SentinelMasterResolver: EndpointResolver {
    let sentinels: [RedisEndpoint]
    let masterName: String
    let logger: Logger

    func resolve(_ configuration: RedisConfiguration) throws(RedisClientError) -> RedisConfiguration {
        var failures: [String] = []
        for sentinel in sentinels {
            let asking = RedisConfiguration(
                endpoint: sentinel, connectTimeout: configuration.connectTimeout,
                commandTimeout: configuration.connectTimeout, tls: configuration.tls)
            do {
                let context = try HiredisContext(configuration: asking)
                let reply = try context.roundTrip(
                    RedisCommand("SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName),
                    timeout: configuration.connectTimeout)
                guard let parts = reply.array, parts.count == 2, let host = parts[0].string,
                    let portText = parts[1].string, let port = Int(portText), (1...65535).contains(port)
                else {
                    failures.append("\(sentinel) does not know a master named '\(masterName)'")
                    continue
                }
                var resolved = configuration
                resolved.endpoint = .tcp(host: host, port: port)
                return resolved
            } catch {
                failures.append("\(sentinel): \(error.message)")
            }
        }
        logger.warning(
            "no sentinel named the Redis master",
            metadata: ["master_name": "\(masterName)", "failures": "\(failures.joined(separator: "; "))"])
        let reason = failures.joined(separator: "; ")
        let kind: RedisClientError.Kind =
            failures.allSatisfy { $0.contains("does not know") } ? .wrongRole : .connectionRefused
        throw RedisClientError(kind, "no sentinel named the master '\(masterName)': \(reason)")
    }

    func verify(_ context: HiredisContext, configuration: RedisConfiguration) throws(RedisClientError) {
        let reply = try context.roundTrip(RedisCommand("ROLE"), timeout: configuration.connectTimeout)
        let role = reply.array?.first?.string ?? "unknown"
        guard role == "master" else {
            throw RedisClientError(
                .wrongRole,
                "\(configuration.endpoint), named by Sentinel as master '\(masterName)', says it is a \(role)")
        }
    }

    func isStale(_ error: RedisServerError) -> Bool { error.code == "READONLY" }
}

extension RedisConnectionPool {
    /// Creates a pool to the master that `sentinels` know as `masterName`; each connection asks
    /// the sentinels again when it (re)connects, and every connection reconnects as soon as a
    /// sentinel announces a new master (`+switch-master`), so the pool follows a failover.
    ///
    /// - Parameters:
    ///   - sentinels: the sentinels to ask, in order (at least one; the first that names a master wins).
    ///   - masterName: the master's name in the sentinels' configuration (`mymaster`).
    ///   - template: settings of the master connections (credentials, database, timeouts, pool
    ///     size); its endpoint is ignored.
    ///   - logger: where connects, reconnects, failovers and failures are logged (never the
    ///     password).
    ///   - metricsLabel: the `client` dimension of every metric, to tell pools apart.
    ///   - tracer: as for ``init(configuration:logger:metricsLabel:tracer:)``; spans carry no
    ///     `server.address` (the master changes with failovers).
    /// - Throws: ``RedisClientError`` of kind `invalidArgument` for no sentinels, an empty name
    ///   or impossible settings. Nothing is contacted until the first command.
    public convenience init(
        sentinels: [RedisEndpoint], masterName: String, template: RedisConfiguration,
        logger: Logger = Logger(label: "redis-client"), metricsLabel: String = "default",
        tracer: (any Tracer)? = nil
    ) throws(RedisClientError) {
        guard !sentinels.isEmpty else {
            throw RedisClientError(.invalidArgument, "Sentinel needs at least one sentinel")
        }
        guard !masterName.isEmpty else { throw RedisClientError(.invalidArgument, "Sentinel needs a master name") }
        var configuration = template
        configuration.endpoint = sentinels[0]
        try self.init(
            configuration: configuration, logger: logger, metricsLabel: metricsLabel,
            resolver: SentinelMasterResolver(sentinels: sentinels, masterName: masterName, logger: logger),
            watch: (sentinels, masterName), tracer: RedisTracing.resolve(tracer))
    }
}
