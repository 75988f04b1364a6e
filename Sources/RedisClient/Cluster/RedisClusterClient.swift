import CoreMetrics
import Logging
import Tracing

/// A client for a Redis Cluster: routes each command to the master that serves its key's slot.
///
/// It reads the slot map with `CLUSTER SLOTS` from the masters (the seeds before any map is
/// known; any node it heard of when none answers), keeps one ``RedisConnectionPool`` per master
/// (each with automatic pipelining; pools of nodes that stop serving slots are closed), follows `MOVED` (the slot
/// map is updated and refreshed) and `ASK` (the command is sent once more after `ASKING`),
/// waits and retries on `TRYAGAIN` and `CLUSTERDOWN`, and refreshes the map when a node stops
/// answering. Pipelines are split by node, sent in parallel and put back in the caller's order;
/// scripts are loaded on the node that answered `NOSCRIPT`; ``scan(cursor:matching:count:type:)``
/// walks every master.
///
/// ```swift
/// let cluster = try RedisClusterClient(seeds: [.tcp(host: "127.0.0.1", port: 7000)])
/// try await cluster.send("SET", "{user1}:name", "Ada")
/// await cluster.close()
/// ```
///
/// Call ``close()`` before dropping the client: it stops every pool's I/O threads.
public final class RedisClusterClient: RedisCommandClient {
    /// The nodes asked for the slot map when no other node is known.
    public let seeds: [RedisEndpoint]
    /// What every node's pool shares (credentials, timeouts, pool size per node).
    public let template: RedisConfiguration

    let logger: Logger
    let metricsLabel: String
    let metrics: ClientMetrics
    let knownNodes: EndpointList
    private let state: GuardedState<State>
    private let movedCounter: Counter
    private let askCounter: Counter
    private let refreshCounter: Counter
    /// Counts calls in flight; refuses new ones during a graceful shutdown and after close.
    let lifecycle = ClientLifecycle(clientName: "the Redis cluster client")
    /// Subscriptions made by this client, ended by its service's shutdown.
    let subscriptions = SubscriptionRegistry()
    /// Spans per command, or `nil` when tracing is off (one `nil` check per call). The nodes'
    /// pools make none: one span covers a command with its redirections and retries.
    let tracing: RedisTracing?

    /// The tracer this client makes its spans with, or `nil` when tracing is off.
    public var tracer: (any Tracer)? { tracing?.tracer }

    /// How many redirections or retries one command may take before its last error is thrown
    /// (with pauses growing from the third on: under 2 s in all).
    let maxAttempts = 10
    /// The pause before retrying after `TRYAGAIN`, `CLUSTERDOWN` or a refused connection,
    /// multiplied by the attempt number.
    let retryPause: Duration = .milliseconds(50)
    /// The longest a node's pool waits between reconnect attempts (shorter than the template's
    /// if need be): while a dead master's slots still point at it, each command waits for that
    /// pool's next attempt before the map is read again.
    static let maxNodeReconnectDelay: Duration = .milliseconds(250)

    /// The pause before retry `attempt`: ``retryPause`` × attempt, at most 250 ms.
    func pause(_ attempt: Int) -> Duration { min(retryPause * attempt, .milliseconds(250)) }

    /// Refreshes triggered by failures are at most this frequent.
    let minimumRefreshInterval: Duration = .milliseconds(100)

    private struct State {
        var topology: ClusterTopology?
        /// Slots learned from `MOVED` since the last refresh.
        var movedSlots: [Int: RedisEndpoint] = [:]
        var pools: [RedisEndpoint: RedisConnectionPool] = [:]
        var refreshing: Task<ClusterTopology, any Error>?
        var lastRefresh: ContinuousClock.Instant?
        var isClosed = false
    }

    /// Creates a client; it connects and reads the slot map on first use.
    ///
    /// - Parameters:
    ///   - seeds: nodes to ask for the slot map (any node of the cluster will do; list several
    ///     in case one is down).
    ///   - template: settings every node connection shares (its endpoint is ignored); `nil` for
    ///     the defaults of ``RedisConfiguration``.
    ///   - logger: where redirections, refreshes and failures are logged (never the password).
    ///   - metricsLabel: the `client` dimension of every metric.
    ///   - tracer: makes a span per command, pipeline and transaction (with `server.address`
    ///     and `server.port` of the node that answered last); `nil` takes the tracer bootstrapped
    ///     in `InstrumentationSystem` when the client is made, and when that is the no-op tracer,
    ///     tracing is off and costs nothing.
    /// - Throws: ``RedisClientError`` of kind `invalidArgument` for no seeds, a database other
    ///   than 0, or impossible settings.
    public init(
        seeds: [RedisEndpoint], template: RedisConfiguration? = nil,
        logger: Logger = Logger(label: "redis-cluster"), metricsLabel: String = "default",
        tracer: (any Tracer)? = nil
    ) throws(RedisClientError) {
        guard !seeds.isEmpty else { throw RedisClientError(.invalidArgument, "a cluster needs at least one seed node") }
        let template = template ?? RedisConfiguration(endpoint: seeds[0])
        guard template.database == 0 else {
            throw RedisClientError(.invalidArgument, "a Redis Cluster has only database 0 (got \(template.database))")
        }
        var checked = template
        for seed in seeds {
            checked.endpoint = seed
            try checked.validate()
        }
        self.seeds = seeds
        self.template = template
        self.logger = logger
        self.metricsLabel = metricsLabel
        tracing = RedisTracing.resolve(tracer).map { RedisTracing(tracer: $0, endpoint: nil, database: 0) }
        metrics = ClientMetrics(label: metricsLabel)
        knownNodes = EndpointList(seeds)
        state = GuardedState(State())
        movedCounter = Counter(
            label: "redis_cluster_redirects_total", dimensions: [("client", metricsLabel), ("kind", "moved")])
        askCounter = Counter(
            label: "redis_cluster_redirects_total", dimensions: [("client", metricsLabel), ("kind", "ask")])
        refreshCounter = Counter(
            label: "redis_cluster_topology_refreshes_total", dimensions: [("client", metricsLabel)])
    }

    // MARK: - Commands

    /// Sends one command to the master that serves its key (any master for a keyless command).
    ///
    /// Follows `MOVED` and `ASK`, retries after `TRYAGAIN`/`CLUSTERDOWN` and after a refused
    /// connection (the command was not sent), at most 10 times in all.
    ///
    /// - Throws: ``RedisServerError`` for an error reply; ``RedisClientError`` for connection
    ///   failures (as ``RedisConnectionPool/send(_:)``) or `clusterUnavailable` when no node
    ///   serves the slot.
    ///
    /// Commands refused on a shared connection (see ``RedisConnectionPool/send(_:)``) are refused
    /// here too, `MULTI` and `EXEC` included: on a cluster they would go to an arbitrary master
    /// and make nothing atomic. Use ``transaction(_:)``.
    @discardableResult
    public func send(_ command: RedisCommand) async throws -> RedisValue {
        if let refusal = command.sharedConnectionRefusal() { throw refusal }
        try lifecycle.enter()
        defer { lifecycle.leave() }
        guard let tracing else { return try await sendRouted(command) }
        return try await tracing.trace(command) { span in try await sendRouted(command, span: span) }
    }

    /// ``send(_:)`` without the refusal check and admission (for calls admitted already); names
    /// each node tried on `span`.
    func sendRouted(_ command: RedisCommand, span: (any Span)? = nil) async throws -> RedisValue {
        try await routed(slot: command.routingSlot, span: span) { pool, asking in
            try await Self.send(command, to: pool, asking: asking)
        }
    }

    /// Sends `command` to the master of its key, then `WAIT replicas timeout` on the same
    /// connection; see ``RedisCommandClient/sendDurably(_:replicas:timeout:)``. Redirections and
    /// retries as in ``send(_:)`` (the `WAIT` goes with the command).
    public func sendDurably(_ command: RedisCommand, replicas: Int, timeout: Duration) async throws -> (
        reply: RedisValue, acknowledged: Int
    ) {
        if let refusal = command.sharedConnectionRefusal() { throw refusal }
        try lifecycle.enter()
        defer { lifecycle.leave() }
        guard let tracing else {
            return try await routed(slot: command.routingSlot, span: nil) { pool, asking in
                try await pool.sendDurably(command, replicas: replicas, timeout: timeout, asking: asking)
            }
        }
        return try await tracing.trace(command) { span in
            try await routed(slot: command.routingSlot, span: span) { pool, asking in
                try await pool.sendDurably(command, replicas: replicas, timeout: timeout, asking: asking)
            }
        }
    }

    /// Runs `operation` on the pool of the master that serves `slot` (any master when `nil`),
    /// following `MOVED` and `ASK` (then `asking` is `true`: send `ASKING` first), retrying after
    /// `TRYAGAIN`/`CLUSTERDOWN` and after a refused connection, at most 10 times.
    private func routed<Value: Sendable>(
        slot: Int?, span: (any Span)?, _ operation: (RedisConnectionPool, _ asking: Bool) async throws -> Value
    ) async throws -> Value {
        var target = try await endpoint(forSlot: slot)
        var asking = false
        var attempt = 0
        while true {
            attempt += 1
            if span != nil { RedisTracing.setServer(target, on: span) }
            let pool = try pool(for: target)
            do {
                return try await operation(pool, asking)
            } catch let error as RedisServerError {
                guard attempt < maxAttempts else { throw error }
                if let redirect = ClusterRedirect(error, fallbackHost: target.hostOrEmpty) {
                    asking = redirect.kind == .ask
                    if redirect.kind == .moved {
                        movedCounter.increment()
                        learn(redirect)
                    } else {
                        askCounter.increment()
                    }
                    logger.debug(
                        "cluster redirection",
                        metadata: [
                            "redirect": "\(error.code)", "slot": "\(redirect.slot)", "to": "\(redirect.endpoint)",
                        ])
                    target = redirect.endpoint
                    // Redirected again and again: the nodes disagree for a moment (a migration
                    // is being finished). Give them time instead of bouncing between them.
                    if attempt > 2 { try await Task.sleep(for: pause(attempt - 2)) }
                    continue
                }
                guard error.isRetryableClusterState else { throw error }
                try await Task.sleep(for: pause(attempt))
                if error.code == "CLUSTERDOWN" { _ = try? await refreshTopology() }
                target = try await endpoint(forSlot: slot)
                asking = false
            } catch let error as RedisClientError {
                if error.suggestsTopologyChange { refreshSoon() }
                // A pool closed because its node left the slot map: the command was not sent.
                let retired = error.kind == .poolClosed && !isClosed
                guard error.commandWasNotSent || retired, attempt < maxAttempts, !isClosed else { throw error }
                try await Task.sleep(for: pause(attempt))
                _ = try? await refreshTopology()
                target = try await endpoint(forSlot: slot)
                asking = false
            }
        }
    }

    /// Sends the commands as one pipeline per node, in parallel, and returns one result per
    /// command in the caller's order. Commands answered with a redirection, `TRYAGAIN`,
    /// `CLUSTERDOWN` or a refused connection are then sent again one by one through
    /// ``send(_:)``; `NOSCRIPT` is healed on the node that answered it.
    ///
    /// Commands to different nodes are not ordered with respect to each other; commands to one
    /// node keep their order. Never throws: every outcome is in the results.
    ///
    /// Commands refused by ``send(_:)`` (`MULTI`/`EXEC` included) make the whole pipeline fail
    /// with that `invalidArgument` error before anything is sent.
    public func pipeline(_ commands: [RedisCommand]) async -> [Result<RedisValue, any Error>] {
        guard !commands.isEmpty else { return [] }
        for command in commands {
            if let refusal = command.sharedConnectionRefusal() {
                return Array(repeating: .failure(refusal), count: commands.count)
            }
        }
        return await lifecycle.admitPipeline(count: commands.count, tracing: tracing) {
            await pipelineAdmitted(commands)
        }
    }

    /// ``pipeline(_:)`` once admitted: split by node, sent in parallel, rerouted where needed.
    private func pipelineAdmitted(_ commands: [RedisCommand]) async -> [Result<RedisValue, any Error>] {
        var groups: [RedisEndpoint: [Int]] = [:]
        var results = [Result<RedisValue, any Error>?](repeating: nil, count: commands.count)
        // (That script keys share one slot is asserted where the command is built: RedisScript.)
        // Each slot is looked up once: the map may change between two lookups (another caller's
        // MOVED), and two commands of one key must not go to two nodes (the first, redirected and
        // sent again later, would then run after the second).
        var slotEndpoints: [Int: RedisEndpoint] = [:]
        for (index, command) in commands.enumerated() {
            let slot = command.routingSlot
            do {
                let endpoint: RedisEndpoint
                if let known = slotEndpoints[slot ?? -1] {
                    endpoint = known
                } else {
                    endpoint = try await self.endpoint(forSlot: slot)
                    slotEndpoints[slot ?? -1] = endpoint
                }
                groups[endpoint, default: []].append(index)
            } catch {
                results[index] = .failure(error)
            }
        }
        var work: [(RedisConnectionPool, [Int])] = []
        for (endpoint, indices) in groups {
            do {
                work.append((try pool(for: endpoint), indices))
            } catch {
                for index in indices { results[index] = .failure(error) }
            }
        }
        if work.count == 1, let (pool, indices) = work.first {
            // One node (e.g. every command for one line): no child tasks needed.
            for (index, reply) in zip(indices, await pool.pipeline(indices.map { commands[$0] })) {
                results[index] = reply
            }
        } else {
            await withTaskGroup(of: ([Int], [Result<RedisValue, any Error>]).self) { group in
                for (pool, indices) in work {
                    let slice = indices.map { commands[$0] }
                    group.addTask { (indices, await pool.pipeline(slice)) }
                }
                for await (indices, replies) in group {
                    for (index, reply) in zip(indices, replies) { results[index] = reply }
                }
            }
        }
        // Commands a node could not serve: send again, each through the redirect-aware path.
        for index in results.indices where Self.needsRerouting(results[index]) {
            let command = commands[index]
            do {
                results[index] = .success(try await sendRouted(command))
            } catch {
                results[index] = .failure(error)
            }
        }
        return results.map { $0! }
    }

    /// Sends `MULTI`, `commands`, `EXEC` contiguously to the master that serves their keys and
    /// returns each command's result from `EXEC`; see ``RedisConnectionPool/transaction(_:)``.
    ///
    /// Every key of every command must hash to one slot (use a `{hash tag}`): otherwise nothing
    /// is sent. A `MOVED` while queueing (the transaction did not run) is followed like a
    /// redirection of ``send(_:)``; after `ASK`, `ASKING` goes right before `MULTI`.
    ///
    /// - Throws: ``RedisClientError`` of kind `invalidArgument` for keys in several slots, no
    ///   command or a refused one; otherwise as ``RedisConnectionPool/transaction(_:)``.
    public func transaction(_ commands: [RedisCommand]) async throws -> [Result<RedisValue, any Error>] {
        var slot: Int?
        for command in commands {
            if let refusal = command.sharedConnectionRefusal() { throw refusal }
            for key in command.keys {
                let keySlot = HashSlot.slot(for: key)
                if let slot, slot != keySlot {
                    throw RedisClientError(
                        .invalidArgument,
                        "a cluster transaction's keys must share one hash slot (found slots \(slot) and \(keySlot)); "
                            + "use a {hash tag}")
                }
                slot = keySlot
            }
        }
        try lifecycle.enter()
        defer { lifecycle.leave() }
        guard let tracing else {
            return try await routed(slot: slot, span: nil) { pool, asking in
                try await pool.transaction(commands, asking: asking)
            }
        }
        return try await tracing.traceBatch("MULTI", count: commands.count) {
            try await routed(slot: slot, span: nil) { pool, asking in
                try await pool.transaction(commands, asking: asking)
            }
        }
    }

    /// Lends `body` a connection of its own to the master that serves `key`'s slot; see
    /// ``RedisConnectionPool/withConnection(_:)``. Redirections are not followed inside: a
    /// `MOVED` reply reaches `body` as an error (the slot moved; try again).
    ///
    /// - Throws: what `body` throws; ``RedisClientError`` when no node serves the slot or the
    ///   client is closed; `CancellationError` while waiting for a connection.
    public func withConnection<Value: Sendable>(
        forKey key: String, _ body: (RedisLeasedConnection) async throws -> Value
    ) async throws -> Value {
        try lifecycle.enter()
        defer { lifecycle.leave() }
        let master = try await endpoint(forSlot: HashSlot.slot(for: key))
        return try await pool(for: master).withConnection(body)
    }

    /// Lends `body` a connection of its own to `master`, one of the masters of the slot map in
    /// use (``currentTopology()``'s ``ClusterTopology/masters``), for commands about that node
    /// itself rather than a key: `CLIENT LIST`, `CLIENT KILL`, `INFO`, `CONFIG GET`, … (for a key,
    /// use ``withConnection(forKey:_:)``). The connection comes from the pool this client keeps
    /// for that master (so it carries the template's credentials and client name); see
    /// ``RedisConnectionPool/withConnection(_:)``. Sends nothing itself (`CLUSTER SLOTS` first
    /// when no slot map is known yet).
    ///
    /// - Throws: what `body` throws; ``RedisClientError`` of kind `invalidArgument` when `master`
    ///   is not a master of the slot map in use, `clusterUnavailable` when no slot map can be
    ///   read, `poolClosed` after ``close()``; `CancellationError` while waiting for a connection.
    public func withConnection<Value: Sendable>(
        toMaster master: RedisEndpoint, _ body: (RedisLeasedConnection) async throws -> Value
    ) async throws -> Value {
        try lifecycle.enter()
        defer { lifecycle.leave() }
        guard try await currentTopology().masters.contains(master) else {
            throw RedisClientError(.invalidArgument, "\(master) is not a master of the Redis Cluster's slot map")
        }
        return try await pool(for: master).withConnection(body)
    }

    /// Runs `script` on the master that serves its keys (which must share one slot: asserted in
    /// debug builds), loading it there if that node answers `NOSCRIPT`.
    ///
    /// - Throws: as ``send(_:)``.
    @discardableResult
    public func run(
        _ script: RedisScript, keys: [any RedisArgumentConvertible] = [], arguments: [any RedisArgumentConvertible] = []
    ) async throws -> RedisValue {
        try await send(script.command(keys: keys, arguments: arguments))
    }

    /// Sends `command` to every master at once and returns each one's result (for `SCRIPT LOAD`,
    /// `FLUSHDB`, `INFO`, `DBSIZE`, …). When the slot map cannot be read, the one result is that
    /// error.
    public func sendToEveryMaster(_ command: RedisCommand) async -> [(
        endpoint: RedisEndpoint, result: Result<RedisValue, any Error>
    )] {
        do {
            try lifecycle.enter()
        } catch {
            return [(seeds[0], .failure(error))]
        }
        defer { lifecycle.leave() }
        let masters: [RedisEndpoint]
        do {
            masters = try await currentTopology().masters
        } catch {
            return [(seeds[0], .failure(error))]
        }
        return await withTaskGroup(of: (Int, RedisEndpoint, Result<RedisValue, any Error>).self) { group in
            for (index, master) in masters.enumerated() {
                group.addTask {
                    do {
                        return (index, master, .success(try await self.pool(for: master).send(command)))
                    } catch {
                        return (index, master, .failure(error))
                    }
                }
            }
            var collected: [(Int, RedisEndpoint, Result<RedisValue, any Error>)] = []
            for await item in group { collected.append(item) }
            return collected.sorted { $0.0 < $1.0 }.map { ($0.1, $0.2) }
        }
    }

    /// Subscribes on a dedicated connection to any node (a reconnect tries the next known node):
    /// `PUBLISH` in a cluster reaches every node.
    public func subscribe(
        channels: [String], patterns: [String] = [], bufferSize: Int = 10_000,
        healthCheckInterval: Duration = .seconds(5)
    ) -> RedisSubscription {
        let subscription = RedisSubscription(
            configuration: template, channels: channels, patterns: patterns, bufferSize: max(1, bufferSize),
            healthCheckInterval: healthCheckInterval, logger: logger, metrics: metrics,
            resolver: RotatingEndpoints(nodes: knownNodes))
        subscriptions.add(subscription)
        return subscription
    }

    /// Closes every node's pool; later calls fail with `poolClosed`. Subscriptions keep running
    /// (the client's service shutdown ends them, see ``run()``).
    public func close() async {
        lifecycle.markClosed()
        let pools = state.withLock { state in
            state.isClosed = true
            return Array(state.pools.values)
        }
        for pool in pools { await pool.close() }
    }

    // MARK: - Topology

    /// The slot map in use, read from the cluster first if none is known yet.
    ///
    /// - Throws: ``RedisClientError`` of kind `clusterUnavailable` when no node answers.
    public func currentTopology() async throws -> ClusterTopology {
        if let topology = state.withLock({ $0.topology }) { return topology }
        return try await refreshTopology()
    }

    /// Reads the slot map again (`CLUSTER SLOTS`, asked of every known node at once; the first
    /// complete answer wins) and routes by it from now on. Concurrent calls share one refresh.
    ///
    /// - Throws: ``RedisClientError`` of kind `clusterUnavailable` when no node gives a map.
    @discardableResult
    public func refreshTopology() async throws -> ClusterTopology {
        let task = try state.withLock { state throws(RedisClientError) -> Task<ClusterTopology, any Error> in
            if state.isClosed { throw RedisClientError(.poolClosed, "the Redis cluster client is closed") }
            if let running = state.refreshing { return running }
            let task = Task { try await self.loadTopology() }
            state.refreshing = task
            return task
        }
        return try await task.value
    }

    /// Starts a refresh in the background unless one ran very recently.
    func refreshSoon() {
        let due = state.withLock { state in
            guard !state.isClosed, state.refreshing == nil else { return false }
            if let last = state.lastRefresh, ContinuousClock.now - last < minimumRefreshInterval { return false }
            return true
        }
        if due { Task { _ = try? await self.refreshTopology() } }
    }

    /// The node to send a command for `slot` to (any master when `nil`).
    func endpoint(forSlot slot: Int?) async throws -> RedisEndpoint {
        let known = state.withLock { state -> RedisEndpoint? in
            guard let topology = state.topology else { return nil }
            guard let slot else { return topology.masters.first }
            return state.movedSlots[slot] ?? topology.master(forSlot: slot)
        }
        if let known { return known }
        let topology = try await refreshTopology()
        if let slot {
            if let master = topology.master(forSlot: slot) { return master }
            throw RedisClientError(.clusterUnavailable, "no Redis Cluster node serves slot \(slot)")
        }
        guard let any = topology.masters.first else {
            throw RedisClientError(.clusterUnavailable, "the Redis Cluster has no master serving slots")
        }
        return any
    }

    /// The pool of `endpoint`'s node, created on first use.
    func pool(for endpoint: RedisEndpoint) throws(RedisClientError) -> RedisConnectionPool {
        try state.withLock { state throws(RedisClientError) -> RedisConnectionPool in
            if state.isClosed { throw RedisClientError(.poolClosed, "the Redis cluster client is closed") }
            if let pool = state.pools[endpoint] { return pool }
            var configuration = template
            configuration.endpoint = endpoint
            // A dead node is retried often enough that its replacement is found quickly.
            configuration.maxReconnectDelay = min(configuration.maxReconnectDelay, Self.maxNodeReconnectDelay)
            configuration.initialReconnectDelay = min(
                configuration.initialReconnectDelay, configuration.maxReconnectDelay)
            let pool = try RedisConnectionPool(
                configuration: configuration, logger: logger, metricsLabel: metricsLabel, resolver: nil, watch: nil,
                tracer: nil)
            state.pools[endpoint] = pool
            return pool
        }
    }

    var isClosed: Bool { state.withLock { $0.isClosed } }

    /// The nodes this client holds a pool for: once a map is loaded, its masters (and, until the
    /// next refresh, a node a redirection named).
    public var openPoolEndpoints: [RedisEndpoint] { state.withLock { Array($0.pools.keys) } }

    // MARK: - Internals

    /// Asks every known node for `CLUSTER SLOTS` at once and installs the first complete map
    /// (or, when none is complete, the one covering most slots).
    private func loadTopology() async throws -> ClusterTopology {
        defer { state.withLock { $0.refreshing = nil } }
        refreshCounter.increment()
        // The masters first (or the seeds before any map is known): asking every node would
        // open a pool, with its threads, for each replica.
        let masters = state.withLock { $0.topology?.masters ?? [] }
        let candidates = masters.isEmpty ? seeds : masters
        var pools = try candidates.map { endpoint throws(RedisClientError) in (endpoint, try pool(for: endpoint)) }
        var best = await Self.firstCompleteTopology(from: pools)
        if case .failure = best {
            // None of them answered: any node we ever heard of will do.
            var others: [RedisEndpoint] = []
            for node in seeds + knownNodes.all where !candidates.contains(node) && !others.contains(node) {
                others.append(node)
            }
            if !others.isEmpty {
                pools = try others.map { endpoint throws(RedisClientError) in (endpoint, try pool(for: endpoint)) }
                best = await Self.firstCompleteTopology(from: pools)
            }
        }
        switch best {
        case .success(let topology):
            install(topology)
            return topology
        case .failure(let error):
            state.withLock { $0.lastRefresh = .now }
            logger.warning("reading the Redis Cluster slot map failed", metadata: ["error": "\(error.message)"])
            throw error
        }
    }

    private func install(_ topology: ClusterTopology) {
        let (changed, retired) = state.withLock { state in
            let changed = state.topology != topology
            state.topology = topology
            state.movedSlots = [:]
            state.lastRefresh = .now
            // Pools of nodes that serve no slots (gone, moved to a new address, demoted, or
            // replicas asked once when no master answered) are closed: their threads must not
            // pile up. A pool is opened again when a node is needed.
            let keep = Set(topology.masters)
            let retired = state.pools.filter { !keep.contains($0.key) }
            for endpoint in retired.keys { state.pools[endpoint] = nil }
            return (changed, Array(retired.values))
        }
        if !retired.isEmpty {
            logger.debug("closing pools of nodes that serve no slots", metadata: ["pools": "\(retired.count)"])
            Task { for pool in retired { await pool.close() } }
        }
        knownNodes.update(topology.nodes, seeds: seeds)
        if changed {
            logger.info(
                "Redis Cluster slot map loaded",
                metadata: ["masters": "\(topology.masters.count)", "slots": "\(topology.coveredSlotCount)"])
        }
    }

    /// Remembers where `MOVED` said a slot lives, and refreshes the whole map in the background.
    func learn(_ redirect: ClusterRedirect) {
        state.withLock { $0.movedSlots[redirect.slot] = redirect.endpoint }
        refreshSoon()
    }

    /// Sends `CLUSTER SLOTS` to every pool at once; returns the first complete map as soon as it
    /// arrives (a dead or slow node does not delay it), or the best partial one once all have
    /// answered, or an error naming the last failure.
    private static func firstCompleteTopology(
        from pools: [(RedisEndpoint, RedisConnectionPool)]
    ) async -> Result<ClusterTopology, RedisClientError> {
        guard !pools.isEmpty else {
            return .failure(RedisClientError(.clusterUnavailable, "no Redis Cluster node is known"))
        }
        let race = TopologyRace(candidates: pools.count)
        return await withCheckedContinuation { continuation in
            for (endpoint, pool) in pools {
                Task {
                    let answer: Result<ClusterTopology, RedisClientError>
                    do {
                        let reply = try await pool.send(RedisCommand("CLUSTER", "SLOTS"))
                        answer = .success(try ClusterTopology(slotsReply: reply, answeredBy: endpoint.hostOrEmpty))
                    } catch let error as RedisClientError {
                        answer = .failure(error)
                    } catch {
                        answer = .failure(
                            RedisClientError(.clusterUnavailable, "CLUSTER SLOTS on \(endpoint) failed: \(error)"))
                    }
                    if let outcome = race.record(answer) { continuation.resume(returning: outcome) }
                }
            }
        }
    }

    /// Sends `command` on `pool`, after `ASKING` when asked to, loading its script there when the
    /// node answers `NOSCRIPT`.
    private static func send(_ command: RedisCommand, to pool: RedisConnectionPool, asking: Bool) async throws
        -> RedisValue
    {
        if !asking { return try await pool.sendHealingScript(command) }
        return try await pool.sendContiguously(before: [RedisCommand("ASKING")], command, after: []).first!.get()
    }

    /// Whether a pipelined result should be sent again through ``send(_:)``.
    private static func needsRerouting(_ result: Result<RedisValue, any Error>?) -> Bool {
        switch result {
        case .failure(let error as RedisServerError): return error.isRedirect || error.isRetryableClusterState
        case .failure(let error as RedisClientError): return error.commandWasNotSent || error.kind == .poolClosed
        default: return false
        }
    }
}

extension RedisEndpoint {
    /// The host of a TCP endpoint (empty for a Unix socket).
    var hostOrEmpty: String {
        if case .tcp(let host, _) = self { return host }
        return ""
    }
}

/// The state of one ``RedisClusterClient`` topology refresh: answers arrive from several nodes;
/// the first complete map (or, once all answered, the best one) decides, exactly once.
private final class TopologyRace: Sendable {
    private struct State {
        var decided = false
        var remaining: Int
        var best: ClusterTopology?
        var lastError = RedisClientError(.clusterUnavailable, "no Redis Cluster node answered CLUSTER SLOTS")
    }

    private let state: GuardedState<State>

    init(candidates: Int) {
        state = GuardedState(State(remaining: candidates))
    }

    /// Records one node's answer; returns the outcome when this answer decides the race.
    func record(_ answer: Result<ClusterTopology, RedisClientError>) -> Result<ClusterTopology, RedisClientError>? {
        state.withLock { state in
            guard !state.decided else { return nil }
            state.remaining -= 1
            switch answer {
            case .success(let topology) where topology.isComplete:
                state.decided = true
                return .success(topology)
            case .success(let topology):
                if topology.coveredSlotCount > (state.best?.coveredSlotCount ?? 0) { state.best = topology }
            case .failure(let error):
                state.lastError = RedisClientError(
                    .clusterUnavailable, "no Redis Cluster node gave a slot map; last: \(error.message)")
            }
            guard state.remaining == 0 else { return nil }
            state.decided = true
            if let best = state.best { return .success(best) }
            return .failure(state.lastError)
        }
    }
}
