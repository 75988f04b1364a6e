import ServiceLifecycle
import Tracing

/// What the rest of the library needs from Redis, whatever its deployment: one server
/// (``RedisConnectionPool``), a master behind Sentinel (also a ``RedisConnectionPool``, whose
/// connections ask the sentinels where the master is), or a Redis Cluster
/// (``RedisClusterClient``).
///
/// Code written against this protocol runs unchanged on all three. Make one from a URL with
/// ``RedisDeployment/makeClient(logger:metricsLabel:tracer:)``.
///
/// Rules that make code portable to a cluster: every key a command or a script touches must
/// share one hash slot (use a `{hash tag}`), and anything that must see every key uses
/// ``scan(cursor:matching:count:type:)`` (which visits every master), never `KEYS`.
///
/// Every client is a `ServiceLifecycle.Service`: put it in a `ServiceGroup` and its `run()`
/// drains and closes it on graceful shutdown (see ``RedisConnectionPool/run()``); without a
/// group, call ``close()``.
public protocol RedisCommandClient: Service, Sendable {
    /// Sends one command and returns its reply.
    ///
    /// On a cluster the command goes to the master that serves its key (see
    /// ``RedisCommand/routingKey``), following `MOVED` and `ASK` redirections.
    ///
    /// - Throws: ``RedisServerError`` for an error reply; ``RedisClientError`` when the command
    ///   could not be sent or its reply did not come. With `connectionClosed`, `timeout` or
    ///   `ioError` the command may or may not have run: it is never retried.
    @discardableResult
    func send(_ command: RedisCommand) async throws -> RedisValue

    /// Sends commands as pipelines (one per server on a cluster) and returns one result per
    /// command, in the caller's order. Never throws: every outcome is in the results. Scripts
    /// answering `NOSCRIPT` are loaded on the server that answered and run again.
    func pipeline(_ commands: [RedisCommand]) async -> [Result<RedisValue, any Error>]

    /// Runs `script` with `EVALSHA` (loading it first where the server answers `NOSCRIPT`).
    ///
    /// - Throws: ``RedisServerError`` for an error the script raised (or a wrong key type),
    ///   ``RedisClientError`` for connection failures.
    @discardableResult
    func run(
        _ script: RedisScript, keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible]
    ) async throws -> RedisValue

    /// Sends `command`, then `WAIT replicas timeout` on the same connection, and returns the
    /// command's reply and how many replicas acknowledged the write (`WAIT`'s reply).
    ///
    /// Replication in Redis is asynchronous: a write acknowledged by a master can vanish when the
    /// master fails before a replica got it. Waiting for `replicas` acknowledgements makes that
    /// much less likely (not impossible: a failover may still promote a replica that lacked it)
    /// at the cost of one replication round trip per write. A script answering `NOSCRIPT` is
    /// loaded and run again before the `WAIT`.
    ///
    /// - Throws: as ``send(_:)``. Fewer acknowledgements than asked for is not an error here:
    ///   compare the returned count.
    func sendDurably(_ command: RedisCommand, replicas: Int, timeout: Duration) async throws -> (
        reply: RedisValue, acknowledged: Int
    )

    /// Sends `MULTI`, `commands`, `EXEC` contiguously on one connection and returns each
    /// command's result from `EXEC`'s reply. On a cluster every key must share one slot.
    ///
    /// - Throws: ``RedisClientError`` of kind `invalidArgument` (no commands, a refused command,
    ///   keys in several cluster slots: nothing sent); the ``RedisServerError`` of the first
    ///   command Redis refused to queue (then none ran); connection failures as ``send(_:)``.
    func transaction(_ commands: [RedisCommand]) async throws -> [Result<RedisValue, any Error>]

    /// Lends `body` a connection of its own (on a cluster: to the master serving `key`) for
    /// stateful work such as `WATCH` … `MULTI` … `EXEC`; see ``RedisLeasedConnection``.
    ///
    /// - Throws: what `body` throws; ``RedisClientError`` when no connection can be had.
    func withConnection<Value: Sendable>(
        forKey key: String, _ body: (RedisLeasedConnection) async throws -> Value
    ) async throws -> Value

    /// One step of a keyspace scan (`SCAN cursor MATCH pattern COUNT count [TYPE type]`).
    ///
    /// Start with cursor `"0"` and pass each returned cursor back until it is `"0"` again. On a
    /// cluster the cursor walks every master in turn and the scan starts over when slots moved
    /// while it ran, so every key that existed for the whole scan is returned at least once
    /// (as with one server, a key may be returned more than once). A cursor is an opaque text:
    /// store it to resume later, but only with the same client kind.
    ///
    /// - Throws: as ``send(_:)``; ``RedisClientError`` of kind `invalidArgument` for a cursor
    ///   this client did not make.
    func scan(cursor: String, matching pattern: String, count: Int, type: String?) async throws -> (
        cursor: String, keys: [String]
    )

    /// Sends `command` to every master (one server: to it) and returns each one's result.
    /// For commands that act on a whole server: `SCRIPT LOAD`, `FLUSHDB`, `INFO`, `DBSIZE`.
    func sendToEveryMaster(_ command: RedisCommand) async -> [(
        endpoint: RedisEndpoint, result: Result<RedisValue, any Error>
    )]

    /// Subscribes to `channels` (`SUBSCRIBE`) and `patterns` (`PSUBSCRIBE`) on a dedicated
    /// connection that reconnects and resubscribes by itself. On a cluster any node will do:
    /// `PUBLISH` reaches every node.
    func subscribe(
        channels: [String], patterns: [String], bufferSize: Int, healthCheckInterval: Duration
    ) -> RedisSubscription

    /// Closes every connection; calls made afterwards fail with `poolClosed`.
    func close() async

    /// Stops taking new calls (they fail with ``RedisClientError/Kind/shuttingDown``, nothing
    /// sent), ends the subscriptions this client made, gives calls already made up to `timeout`
    /// to finish, then closes as ``close()``. What the client's service `run()` does on graceful
    /// shutdown.
    func shutdownGracefully(within timeout: Duration) async

    /// The tracer this client makes a span with per command, pipeline and transaction, or `nil`
    /// when tracing is off. The domain types (`StatusStore`, `LineCache`) trace with it too
    /// unless given their own.
    var tracer: (any Tracer)? { get }
}

extension RedisCommandClient {
    /// Sends one command built from a name and arguments; see ``send(_:)``.
    @discardableResult
    public func send(_ name: String, _ arguments: any RedisArgumentConvertible...) async throws -> RedisValue {
        try await send(RedisCommand(name, arguments: arguments))
    }

    /// Runs `script` with keys only; see ``run(_:keys:arguments:)``.
    @discardableResult
    public func run(_ script: RedisScript, keys: [any RedisArgumentConvertible] = []) async throws -> RedisValue {
        try await run(script, keys: keys, arguments: [])
    }

    /// Subscribes with the default buffer (10,000 events) and health check (every 5 s).
    public func subscribe(channels: [String], patterns: [String] = []) -> RedisSubscription {
        subscribe(channels: channels, patterns: patterns, bufferSize: 10_000, healthCheckInterval: .seconds(5))
    }
}
