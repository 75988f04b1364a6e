import CHiredis
import CoreMetrics
import Logging
import Synchronization
import Tracing

/// A pool of Redis connections, safe to share across every task and thread of a process.
///
/// Each connection has its own I/O thread (blocking hiredis calls never run on Swift's
/// cooperative pool) and pipelines automatically: concurrent calls are written together and
/// share one round trip. Connections are opened lazily on first use and re-opened after a
/// failure with capped exponential backoff; AUTH and SELECT are sent on every (re)connect.
///
/// ```swift
/// let redis = try RedisConnectionPool(configuration: RedisConfiguration(url: "redis://127.0.0.1:6379"))
/// try await redis.send("SET", "greeting", "hello")
/// let value = try await redis.send("GET", "greeting").string   // "hello"
/// await redis.close()
/// ```
///
/// Shared connections carry only commands with exactly one reply and no connection state:
/// `SUBSCRIBE`, `MULTI`/`EXEC`/`WATCH` on their own, `CLIENT REPLY`, `SELECT`, `MONITOR`, … are
/// refused before anything is sent (see ``send(_:)``). Use ``transaction(_:)`` for
/// `MULTI … EXEC`, ``withConnection(_:)`` for `WATCH` and other stateful work, and
/// ``subscribe(channels:patterns:bufferSize:healthCheckInterval:)`` for pub/sub.
///
/// Overload policy: each connection queues at most ``RedisConfiguration/maxQueuedCommands``
/// commands and none waits longer than ``RedisConfiguration/queueTimeout`` before it is written;
/// beyond either, calls fail at once with ``RedisClientError/Kind/overloaded`` and nothing is
/// sent. A cancelled caller returns at once with `CancellationError`.
///
/// Call ``close()`` before dropping the pool: it stops the I/O threads.
public final class RedisConnectionPool: RedisCommandClient {
    /// The configuration the pool was made with (its description hides the password).
    public let configuration: RedisConfiguration
    let logger: Logger
    let metrics: ClientMetrics
    let resolver: (any EndpointResolver)?
    /// Behind Sentinel: follows `+switch-master` and makes every connection reconnect.
    private let sentinelWatch: SentinelWatch?
    private let connections: [RedisConnection]
    private let roundRobin = Atomic<Int>(0)
    /// Connections lent by ``withConnection(_:)``, apart from the shared ones.
    let leases: ConnectionLeases
    /// Counts calls in flight; refuses new ones during a graceful shutdown and after close.
    let lifecycle = ClientLifecycle(clientName: "the Redis connection pool")
    /// Subscriptions made by this pool, ended by its service's shutdown.
    let subscriptions = SubscriptionRegistry()
    /// Spans per command, or `nil` when tracing is off (one `nil` check per call).
    let tracing: RedisTracing?

    /// Creates the pool's connections (they connect on first use).
    ///
    /// - Parameters:
    ///   - configuration: where Redis is and how the pool behaves.
    ///   - logger: where connects, reconnects and failures are logged (never the password).
    ///   - metricsLabel: the `client` dimension of every metric, to tell pools apart.
    ///   - tracer: makes a span per command, pipeline and transaction (see ``tracer``); `nil`
    ///     takes the tracer bootstrapped in `InstrumentationSystem` when the pool is made, and
    ///     when that is the no-op tracer, tracing is off and costs nothing.
    /// - Throws: ``RedisClientError`` of kind `invalidArgument` for impossible settings.
    public convenience init(
        configuration: RedisConfiguration,
        logger: Logger = Logger(label: "redis-client"),
        metricsLabel: String = "default",
        tracer: (any Tracer)? = nil
    ) throws(RedisClientError) {
        try self.init(
            configuration: configuration, logger: logger, metricsLabel: metricsLabel, resolver: nil, watch: nil,
            tracer: RedisTracing.resolve(tracer))
    }

    /// Creates a pool whose connections ask `resolver` which server to connect to; with `watch`,
    /// they also reconnect whenever Sentinel announces a new master. `tracer` is used as it is
    /// (`nil`: no spans).
    init(
        configuration: RedisConfiguration, logger: Logger, metricsLabel: String,
        resolver: (any EndpointResolver)?, watch: (sentinels: [RedisEndpoint], masterName: String)?,
        tracer: (any Tracer)?
    ) throws(RedisClientError) {
        try configuration.validate()
        if configuration.tls?.insecure == true {
            logger.warning(
                "Redis TLS certificate verification is OFF (insecure=true): any server can pose as this one; use it for tests only",
                metadata: ["redis.endpoint": "\(configuration.endpoint)"])
        }
        self.configuration = configuration
        tracing = tracer.map {
            RedisTracing(
                tracer: $0, endpoint: resolver == nil ? configuration.endpoint : nil, database: configuration.database)
        }
        self.logger = logger
        self.resolver = resolver
        let metrics = ClientMetrics(label: metricsLabel)
        self.metrics = metrics
        let signal = watch.map { _ in ReconnectSignal() }
        connections = (0..<configuration.poolSize).map { index in
            RedisConnection(
                configuration: configuration, index: index, logger: logger, metrics: metrics, resolver: resolver,
                reconnectSignal: signal)
        }
        leases = ConnectionLeases(limit: configuration.poolSize) { index in
            RedisConnection(
                configuration: configuration, index: 1000 + index, logger: logger, metrics: metrics, resolver: resolver,
                reconnectSignal: signal)
        }
        if let watch, let signal {
            sentinelWatch = SentinelWatch(
                sentinels: watch.sentinels, masterName: watch.masterName, template: configuration, signal: signal,
                logger: logger, metrics: metrics)
        } else {
            sentinelWatch = nil
        }
    }

    /// Sends one command and returns its reply.
    ///
    /// Commands that would change the shared connection's state or its reply count are refused
    /// before anything is sent: `SUBSCRIBE`/`PSUBSCRIBE`/`SSUBSCRIBE` and their `UNSUBSCRIBE`s,
    /// `MONITOR`, `SYNC`/`PSYNC`, `MULTI`/`EXEC`/`DISCARD`/`WATCH`/`UNWATCH`, `CLIENT REPLY`,
    /// `CLIENT TRACKING`, `CLIENT SETNAME`, `SELECT`, `HELLO`, `AUTH`, `RESET`, `QUIT`,
    /// `READONLY`/`READWRITE`, `ASKING`.
    ///
    /// When the calling task is cancelled the call returns at once with `CancellationError`: a
    /// command not yet written is never sent; one already written runs, and its reply is dropped.
    ///
    /// - Throws: ``RedisServerError`` when Redis answers with an error reply (the server's text
    ///   is kept); ``RedisClientError`` when the command could not be sent or its reply did not
    ///   come (refused, closed, timeout, pool closed), of kind `invalidArgument` for a refused
    ///   command and `overloaded` when the connection's queue is full or the command waited
    ///   longer than the queue timeout, `shuttingDown` once a graceful shutdown began and
    ///   `poolClosed` after ``close()`` (nothing sent). With `connectionClosed`, `timeout` or
    ///   `ioError` the command may or may not have run: it is never retried.
    @discardableResult
    public func send(_ command: RedisCommand) async throws -> RedisValue {
        if let refusal = command.sharedConnectionRefusal() { throw refusal }
        try lifecycle.enter()
        defer { lifecycle.leave() }
        guard let tracing else { return try await sendUnchecked(command) }
        return try await tracing.trace(command) { _ in try await sendUnchecked(command) }
    }

    /// ``send(_:)`` without admission (for calls admitted already): the refusal check, then the
    /// command.
    func sendChecked(_ command: RedisCommand) async throws -> RedisValue {
        if let refusal = command.sharedConnectionRefusal() { throw refusal }
        return try await sendUnchecked(command)
    }

    /// ``send(_:)`` without the refusal check (for the cluster client, which checked already).
    func sendUnchecked(_ command: RedisCommand) async throws -> RedisValue {
        let connection = pickConnection()
        let start = chiredis_monotonic_ns()
        defer {
            metrics.commands.increment()
            metrics.duration.recordNanoseconds(Int64(truncatingIfNeeded: chiredis_monotonic_ns() &- start))
        }
        do {
            return try await connection.send(command)
        } catch let error as RedisServerError {
            metrics.serverErrors.increment()
            throw error
        }
    }

    /// Sends commands back to back on one connection (an explicit pipeline: one write, one read
    /// pass) and returns one result per command, in order.
    ///
    /// Each result is the reply, or the error for that command alone: ``RedisServerError`` for an
    /// error reply, ``RedisClientError`` when the connection failed (then every command from
    /// that point on carries it). Because the commands are contiguous on one connection, a
    /// complete `MULTI … EXEC` (or `DISCARD`) block inside a pipeline is atomic; prefer
    /// ``transaction(_:)``. Scripts answering `NOSCRIPT` are loaded and run again (after the rest
    /// of the pipeline).
    ///
    /// The commands refused by ``send(_:)`` are refused here too, and so are `WATCH`/`UNWATCH`
    /// and a `MULTI` without its `EXEC`/`DISCARD` (or the reverse): then nothing is sent and every
    /// result is that ``RedisClientError`` of kind `invalidArgument`. A cancelled caller gets
    /// `CancellationError` in every result.
    ///
    /// This method itself does not throw: every outcome is in the results.
    public func pipeline(_ commands: [RedisCommand]) async -> [Result<RedisValue, any Error>] {
        guard !commands.isEmpty else { return [] }
        if let refusal = Self.pipelineRefusal(commands) {
            return Array(repeating: .failure(refusal), count: commands.count)
        }
        return await lifecycle.admitPipeline(count: commands.count, tracing: tracing) {
            await pipelineAdmitted(commands)
        }
    }

    /// ``pipeline(_:)`` once admitted: the batch, then `NOSCRIPT` healing.
    private func pipelineAdmitted(_ commands: [RedisCommand]) async -> [Result<RedisValue, any Error>] {
        var results = await sendBatch(commands)
        // Heal NOSCRIPT: load each missing script once, then re-run just those commands.
        let missing = results.indices.filter { index in
            guard commands[index].script != nil, case .failure(let error as RedisServerError) = results[index] else {
                return false
            }
            return error.isNoScript
        }
        if !missing.isEmpty {
            var scripts: [RedisScript] = []
            for index in missing where !scripts.contains(commands[index].script!) {
                scripts.append(commands[index].script!)
            }
            metrics.scriptLoads.increment(by: scripts.count)
            logger.debug("loading scripts after NOSCRIPT", metadata: ["scripts": "\(scripts.map(\.name))"])
            let retry = scripts.map { RedisCommand("SCRIPT", "LOAD", $0.source) } + missing.map { commands[$0] }
            let retried = await sendBatch(retry)
            for (offset, index) in missing.enumerated() {
                results[index] = retried[scripts.count + offset]
            }
        }
        return results
    }

    /// Runs `script` with `EVALSHA`, loading it first if the server answers `NOSCRIPT`.
    ///
    /// - Throws: ``RedisServerError`` for an error the script raised (or a wrong key type),
    ///   ``RedisClientError`` for connection failures.
    @discardableResult
    public func run(
        _ script: RedisScript, keys: [any RedisArgumentConvertible] = [], arguments: [any RedisArgumentConvertible] = []
    ) async throws -> RedisValue {
        try lifecycle.enter()
        defer { lifecycle.leave() }
        let command = script.command(keys: keys, arguments: arguments)
        guard let tracing else { return try await sendHealingScript(command) }
        return try await tracing.trace(command) { _ in try await sendHealingScript(command) }
    }

    /// Sends `command`; when it runs a script the server does not know (`NOSCRIPT`), loads the
    /// script and runs the command again on one connection.
    func sendHealingScript(_ command: RedisCommand) async throws -> RedisValue {
        do {
            return try await sendChecked(command)
        } catch let error as RedisServerError where error.isNoScript && command.script != nil {
            return try await sendContiguously(before: [], command, after: [])[0].get()
        }
    }

    /// Sends `before`, `command`, `after` back to back on one connection (for `ASKING` + command,
    /// command + `WAIT`) and returns the results of `command` and of `after`. When `command` runs
    /// a script the server does not know, the script is loaded and the whole sequence sent again
    /// after it, so nothing runs between the load and the command.
    func sendContiguously(
        before: [RedisCommand], _ command: RedisCommand, after: [RedisCommand]
    ) async -> ArraySlice<Result<RedisValue, any Error>> {
        let sequence = before + [command] + after
        var results = await sendBatch(sequence)
        if let script = command.script, case .failure(let error as RedisServerError) = results[before.count],
            error.isNoScript
        {
            metrics.scriptLoads.increment()
            logger.debug("loading script after NOSCRIPT", metadata: ["script": "\(script.name)"])
            results = Array(await sendBatch([RedisCommand("SCRIPT", "LOAD", script.source)] + sequence).dropFirst())
        }
        return results[before.count...]
    }

    /// Closes every connection: queued commands fail with `poolClosed`, commands already written
    /// get their replies, and the I/O threads exit before this returns. Calls made afterwards
    /// fail with `poolClosed` at once. Subscriptions made by ``subscribe(channels:patterns:bufferSize:healthCheckInterval:)``
    /// keep running (each has its own connection; close them, or let the pool's service
    /// shutdown end them, see ``run()``).
    public func close() async {
        lifecycle.markClosed()
        sentinelWatch?.stop()
        for connection in connections { await connection.close() }
        await leases.close()
    }

    /// The number of connections.
    public var size: Int { connections.count }

    /// The tracer this pool makes its spans with, or `nil` when tracing is off.
    public var tracer: (any Tracer)? { tracing?.tracer }

    // MARK: - Internals

    /// Sends commands contiguously on one connection (no NOSCRIPT healing).
    func sendBatch(_ commands: [RedisCommand]) async -> [Result<RedisValue, any Error>] {
        let connection = pickConnection()
        let start = chiredis_monotonic_ns()
        let results = await connection.sendBatch(commands)
        metrics.commands.increment(by: commands.count)
        metrics.duration.recordNanoseconds(Int64(truncatingIfNeeded: chiredis_monotonic_ns() &- start))
        return results
    }

    /// A task executor that runs tasks on one of the pool's I/O threads, between I/O passes.
    ///
    /// A caller that runs `withTaskExecutorPreference(pool.taskExecutor()) { … }` sends its
    /// commands on that thread's connection and is resumed on the same thread, so a round trip
    /// costs no thread switch: serial latency equals a plain blocking client's. Code run there
    /// delays that connection's I/O while it runs: keep it short and never block in it.
    /// Successive calls on an idle pool spread over its connections.
    public func taskExecutor() -> any TaskExecutor {
        leastLoaded()
    }

    /// The connection with the least queued work, scanning from a rotating start so that equal
    /// loads spread evenly.
    /// A caller already running on one of our I/O threads (see ``taskExecutor()``) uses that
    /// thread's connection.
    private func pickConnection() -> RedisConnection {
        if connections.count == 1 { return connections[0] }
        for connection in connections where connection.isCurrentThread { return connection }
        return leastLoaded()
    }

    /// The connection with the least queued work, from a rotating start.
    private func leastLoaded() -> RedisConnection {
        if connections.count == 1 { return connections[0] }
        let start = roundRobin.add(1, ordering: .relaxed).newValue
        var best = connections[start % connections.count]
        var bestLoad = best.load.load(ordering: .relaxed)
        if bestLoad == 0 { return best }
        for offset in 1..<connections.count {
            let candidate = connections[(start + offset) % connections.count]
            let candidateLoad = candidate.load.load(ordering: .relaxed)
            if candidateLoad < bestLoad {
                best = candidate
                bestLoad = candidateLoad
                if bestLoad == 0 { break }
            }
        }
        return best
    }
}
