/// Decides, at every (re)connect, which server a connection talks to, and whether the server it
/// reached is the right one.
///
/// A plain pool has none: it always connects to its configuration's endpoint. A pool behind
/// Sentinel asks the sentinels for the current master on each connect and refuses a server that
/// says it is a replica; a cluster subscription rotates over the known nodes.
///
/// Every method is called on a connection's I/O thread (never on Swift's cooperative pool), so
/// it may block on the network; it must return within the configuration's connect timeout
/// (per server asked).
protocol EndpointResolver: Sendable {
    /// The configuration to connect with: `configuration` with the endpoint to use now.
    func resolve(_ configuration: RedisConfiguration) throws(RedisClientError) -> RedisConfiguration

    /// Checks a freshly connected (and authenticated) context; throws to refuse it.
    func verify(_ context: HiredisContext, configuration: RedisConfiguration) throws(RedisClientError)

    /// Whether an error reply means the connection now points at the wrong server (for
    /// example `READONLY` after a failover demoted it): the connection is then dropped and the
    /// next command resolves again.
    func isStale(_ error: RedisServerError) -> Bool
}

extension HiredisContext {
    /// Connects (and authenticates) to `configuration`'s endpoint, or, with a resolver, to the
    /// server it chooses and then verifies. Returns the context and the endpoint reached.
    static func connect(
        _ configuration: RedisConfiguration, resolver: (any EndpointResolver)?
    ) throws(RedisClientError) -> (context: HiredisContext, endpoint: RedisEndpoint) {
        guard let resolver else { return (try HiredisContext(configuration: configuration), configuration.endpoint) }
        let resolved = try resolver.resolve(configuration)
        let context = try HiredisContext(configuration: resolved)
        try resolver.verify(context, configuration: resolved)
        return (context, resolved.endpoint)
    }

    /// Sends one command and waits for its reply, on the calling thread.
    ///
    /// - Throws: ``RedisClientError`` for I/O failures; an error reply is returned as
    ///   ``RedisValue/error(_:)``.
    func roundTrip(_ command: RedisCommand, timeout: Duration) throws(RedisClientError) -> RedisValue {
        let deadline = ContinuousClock.now + timeout
        append(command)
        try flush(deadline: deadline)
        return try readReply(deadline: deadline)
    }
}
