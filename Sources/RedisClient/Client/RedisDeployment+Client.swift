import Logging
import Tracing

extension RedisDeployment {
    /// Makes the client for this deployment: a ``RedisConnectionPool`` for one server, a
    /// ``RedisClusterClient`` for a cluster, a Sentinel-following ``RedisConnectionPool`` for a
    /// master behind sentinels. Nothing is contacted until the first command.
    ///
    /// ```swift
    /// let redis = try RedisDeployment(url: "redis-cluster://127.0.0.1:7000").makeClient()
    /// ```
    ///
    /// - Parameters:
    ///   - logger: where connects, reconnects and failures are logged (never the password).
    ///   - metricsLabel: the `client` dimension of every metric, to tell clients apart.
    ///   - tracer: spans per command (see ``RedisConnectionPool/init(configuration:logger:metricsLabel:tracer:)``);
    ///     `nil` takes the bootstrapped tracer, and tracing is off when that is the no-op tracer.
    /// - Throws: ``RedisClientError`` of kind `invalidArgument` for impossible settings.
    public func makeClient(
        logger: Logger = Logger(label: "redis-client"), metricsLabel: String = "default", tracer: (any Tracer)? = nil
    ) throws(RedisClientError) -> any RedisCommandClient {
        switch self {
        case .standalone(let configuration):
            return try RedisConnectionPool(
                configuration: configuration, logger: logger, metricsLabel: metricsLabel, tracer: tracer)
        case .cluster(let seeds, let template):
            return try RedisClusterClient(
                seeds: seeds, template: template, logger: logger, metricsLabel: metricsLabel, tracer: tracer)
        case .sentinel(let sentinels, let masterName, let template):
            return try RedisConnectionPool(
                sentinels: sentinels, masterName: masterName, template: template, logger: logger,
                metricsLabel: metricsLabel, tracer: tracer)
        }
    }
}

extension RedisDeployment {
    /// The same deployment with `change` applied to its configuration (one server) or template
    /// (cluster, sentinel): e.g. a different pool size or timeout for every connection.
    public func withConfiguration(_ change: (inout RedisConfiguration) -> Void) -> RedisDeployment {
        switch self {
        case .standalone(var configuration):
            change(&configuration)
            return .standalone(configuration)
        case .cluster(let seeds, var template):
            change(&template)
            return .cluster(seeds: seeds, template: template)
        case .sentinel(let sentinels, let masterName, var template):
            change(&template)
            return .sentinel(sentinels: sentinels, masterName: masterName, template: template)
        }
    }
}
