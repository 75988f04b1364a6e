import CoreMetrics
import Foundation
import Logging
import Metrics
import RedisClient
import Tracing

/// Connector status per (connector, line), shared by every instance through Redis.
///
/// Every write is one atomic Lua script that is immediate (when it returns, every instance reads
/// the new value), writes nothing when nothing changes, bumps `VERSION`, keeps the line index,
/// and publishes an event. Reads of one pair are single-hash reads (atomic without Lua);
/// readiness goes through a script so it is checked in one step.
///
/// ```swift
/// let store = StatusStore(redis: pool, logger: logger)
/// let telegram = try ConnectorID("telegram")
/// let line = try LineID(5)
/// try await store.update(telegram, line: line, .bringUp)
/// let ready = try await store.isReady(telegram, line: line)   // true
/// ```
public struct StatusStore: Sendable {
    /// The Redis pool every call goes through.
    public let redis: any RedisCommandClient
    /// The key layout.
    public let keys: KeySpace
    /// Input limits.
    public let limits: StatusLimits
    /// The cache directory whose generation is bumped when a flag changes or a status is deleted
    /// (Bitrix: "upon any config updates, reset channel data cache").
    public let connectorInfoDirectory: String
    /// Whether writes wait for replicas (`WAIT`); ``WriteDurability/asynchronous`` by default.
    public let durability: WriteDurability
    /// The tracer of this store's spans (one per update, delete and readiness check, with the
    /// Redis client's spans nested inside), or `nil` when tracing is off.
    public let tracer: (any Tracer)?
    /// The near cache that answers bounded reads (``ReadConsistency/bounded``), or `nil`.
    public let nearCache: NearCache?
    let logger: Logger
    let metrics: StatusMetrics

    /// Creates a store over `redis`.
    ///
    /// - Parameters:
    ///   - redis: the client every command goes through (one server, a cluster or Sentinel).
    ///   - keys: the key layout (namespace `imc` by default).
    ///   - limits: the DATA size limit (64 KiB by default), checked before anything is sent, and
    ///     the SCAN batch size of listings.
    ///   - connectorInfoDirectory: the line-cache directory cleaned by status changes; Bitrix's
    ///     `CACHE_DIR_INFO_CONNECTORS_LINE` by default.
    ///   - durability: whether writes wait for replicas (`WAIT`); asynchronous by default.
    ///   - nearCache: answers ``isReady(_:line:consistency:)`` and ``status(_:line:consistency:)``
    ///     from memory once it has proven a line fresh (see ``NearCache``); ignored, with a
    ///     warning, when its key layout is not `keys` (it would watch other keys).
    ///   - logger: where the store logs. Logging is never bootstrapped here.
    ///   - tracer: makes a span per update, delete and readiness check; `nil` uses the Redis
    ///     client's tracer (`RedisCommandClient.tracer`), and none when that is off.
    public init(
        redis: any RedisCommandClient, keys: KeySpace = .standard, limits: StatusLimits = StatusLimits(),
        connectorInfoDirectory: String = "/imconnector/infoconnectorsline/",
        durability: WriteDurability = .asynchronous, nearCache: NearCache? = nil, logger: Logger,
        tracer: (any Tracer)? = nil
    ) {
        self.redis = redis
        self.tracer = tracer ?? redis.tracer
        self.durability = durability
        self.keys = keys
        self.limits = limits
        self.connectorInfoDirectory = connectorInfoDirectory
        self.logger = logger
        metrics = StatusMetrics()
        if let nearCache, nearCache.keys != keys {
            logger.warning(
                "near cache ignored: its key layout differs from the store's",
                metadata: ["store": "\(keys.namespace)", "nearCache": "\(nearCache.keys.namespace)"])
            self.nearCache = nil
        } else {
            self.nearCache = nearCache
        }
    }

    // MARK: Reads

    /// The status of one pair, or `nil` when it was never written (or was deleted).
    ///
    /// With a running ``nearCache`` and `.bounded` consistency (the default), answered from memory
    /// when the line is proven fresh; a miss sends `EVALSHA near_status_get` (the status with the
    /// line's position) and caches it. Otherwise sends `HGETALL` on the pair's hash (one round
    /// trip, atomic).
    /// - Throws: ``ConnectorStatusError/wrongType(key:message:)`` when another type sits at the key;
    ///   ``ConnectorStatusError/redis(_:)`` for connection failures.
    public func status(
        _ connector: ConnectorID, line: LineID, consistency: ReadConsistency = .bounded
    ) async throws(ConnectorStatusError) -> StatusSnapshot? {
        if consistency == .bounded, let nearCache {
            if let cached = nearCache.lines.status(line: line.rawValue, connector: connector, now: CoarseClock.now()) {
                return cached
            }
            if nearCache.isServing { return try await nearCache.fillStatus(connector, line: line) }
        }
        let key = keys.status(connector, line: line)
        let reply = try await send(RedisCommand("HGETALL", key), key: key)
        guard let fields = reply.array else { throw .unexpectedReply("HGETALL returned \(reply)") }
        return try StatusSnapshot(connector: connector, line: line, hash: fields)
    }

    /// Whether the pair is ready (Bitrix `isStatus`): active, connection, register and no error.
    /// A pair that was never written is not ready.
    ///
    /// With a running ``nearCache`` and `.bounded` consistency (the default), answered from memory
    /// when the line is proven fresh (no span, no Redis command); a miss sends `EVALSHA
    /// near_status_get` and caches the status. Otherwise sends `EVALSHA status_ready` (one round
    /// trip; atomic against any concurrent update).
    /// - Throws: ``ConnectorStatusError/wrongType(key:message:)``, ``ConnectorStatusError/redis(_:)``.
    public func isReady(
        _ connector: ConnectorID, line: LineID, consistency: ReadConsistency = .bounded
    ) async throws(ConnectorStatusError) -> Bool {
        if consistency == .bounded, let nearCache {
            if let ready = cachedReadiness(connector, line: line) { return ready }
            if nearCache.isServing {
                metrics.readinessChecks.increment()
                return try await nearCache.fillStatus(connector, line: line)?.isReady ?? false
            }
        }
        return try await isReadyInRedis(connector, line: line)
    }

    /// The pair's readiness from the ``nearCache`` when it has proven the line fresh (the bound of
    /// ``NearCacheOptions/maxStaleness``), without suspending; `nil` means "ask Redis" (no near
    /// cache, line not proven, pair not cached) — then call ``isReady(_:line:consistency:)``.
    ///
    /// For the hottest paths (a check before every outgoing message): no task switch, no Redis
    /// command, no span.
    @inline(__always)
    public func cachedReadiness(_ connector: ConnectorID, line: LineID) -> Bool? {
        nearCache?.lines.readiness(line: line.rawValue, connector: connector, now: CoarseClock.now())
    }

    /// `EVALSHA status_ready`, in a span.
    private func isReadyInRedis(_ connector: ConnectorID, line: LineID) async throws(ConnectorStatusError) -> Bool {
        try await DomainSpan.run(tracer, "StatusStore.isReady", connector: connector, line: line) {
            (span: (any Span)?) async throws(ConnectorStatusError) -> Bool in
            let key = keys.status(connector, line: line)
            metrics.readinessChecks.increment()
            do {
                let reply = try await redis.run(StatusScripts.ready, keys: [key])
                return reply.int == 1
            } catch {
                throw ConnectorStatusError.wrap(error, key: key)
            }
        }
    }

    /// Readiness of many pairs in one round trip: one `EVALSHA status_ready_many` per line (all
    /// of a line's keys share one slot), sent as one pipeline.
    ///
    /// - Returns: readiness per pair; pairs never written are `false`.
    /// - Throws: the first error any line's script raised.
    public func readiness(of pairs: [StatusPair]) async throws(ConnectorStatusError) -> [StatusPair: Bool] {
        try await DomainSpan.run(tracer, "StatusStore.readiness") {
            (span: (any Span)?) async throws(ConnectorStatusError) -> [StatusPair: Bool] in
            guard !pairs.isEmpty else { return [:] }
            span?.attributes["connector_status.pairs"] = pairs.count
            var byLine: [LineID: [ConnectorID]] = [:]
            for pair in pairs where !(byLine[pair.line]?.contains(pair.connector) ?? false) {
                byLine[pair.line, default: []].append(pair.connector)
            }
            let lines = Array(byLine.keys)
            let commands = lines.map { line in
                StatusScripts.readyMany.command(keys: byLine[line]!.map { keys.status($0, line: line) })
            }
            metrics.readinessChecks.increment(by: pairs.count)
            let results = await redis.pipeline(commands)
            var answer: [StatusPair: Bool] = [:]
            answer.reserveCapacity(pairs.count)
            for (index, line) in lines.enumerated() {
                let values: [RedisValue]
                do {
                    guard let array = try results[index].get().array else {
                        throw ConnectorStatusError.unexpectedReply("status_ready_many did not return an array")
                    }
                    values = array
                } catch {
                    throw ConnectorStatusError.wrap(error, key: keys.lineIndex(line))
                }
                for (position, connector) in byLine[line]!.enumerated() {
                    answer[StatusPair(connector: connector, line: line)] = values[position].int == 1
                }
            }
            return answer
        }
    }

    /// The connectors whose pair on `line` is ready, sorted (Bitrix: the line's connectors with
    /// `isStatus()`). One round trip: `SMEMBERS` of the line's ready set, which every write
    /// script keeps in step with the flags atomically.
    /// - Throws: ``ConnectorStatusError/wrongType(key:message:)``, ``ConnectorStatusError/redis(_:)``.
    public func readyConnectors(line: LineID) async throws(ConnectorStatusError) -> [ConnectorID] {
        try await members(of: keys.readySet(line)).sorted()
    }

    // MARK: Writes

    /// Applies `change` to one pair in one atomic script and returns what happened.
    ///
    /// Equal values write nothing, bump nothing and publish nothing (outcome `unchanged`).
    /// Otherwise `VERSION` is bumped, `UPDATED` stamped, the line index kept, the line's event
    /// sequence incremented and its epoch replaced (a fresh ``KeySpace/lineEpoch(_:)`` token), the
    /// event published, and — when a flag changed — the line's connector-info cache directory
    /// cleaned. A missing pair is created with every flag `N`
    /// except those set here.
    ///
    /// Sends `EVALSHA status_update` (one round trip), followed on the same connection by
    /// `WAIT` when ``durability`` asks for replicas.
    /// - Parameters:
    ///   - connector: the pair's connector.
    ///   - line: the pair's line.
    ///   - change: the flags and DATA to set; fields left `nil` are kept.
    ///   - ifVersion: compare-and-set: apply only if the pair's `VERSION` is this (0 = only if
    ///     the pair does not exist yet).
    /// - Throws: ``ConnectorStatusError/versionConflict(expected:actual:)`` when `ifVersion` does not
    ///   match (nothing changed); ``ConnectorStatusError/dataTooLarge(size:limit:)`` and
    ///   ``ConnectorStatusError/invalidData(_:)`` before anything is sent;
    ///   ``ConnectorStatusError/wrongType(key:message:)`` when another type sits at the key (nothing
    ///   overwritten); ``ConnectorStatusError/redis(_:)``: with `outcomeUnknown` the write may or may not
    ///   have happened — read the status back before retrying;
    ///   ``ConnectorStatusError/notReplicated(acknowledged:required:)`` when the write was applied
    ///   but too few replicas confirmed it in time.
    @discardableResult
    public func update(
        _ connector: ConnectorID, line: LineID, _ change: StatusChange, ifVersion: Int64? = nil
    ) async throws(ConnectorStatusError) -> StatusUpdate {
        try await DomainSpan.run(tracer, "StatusStore.update", connector: connector, line: line) {
            (span: (any Span)?) async throws(ConnectorStatusError) -> StatusUpdate in
            if let data = change.data { try validate(data: data) }
            if let ifVersion, ifVersion < 0 { throw .versionConflict(expected: ifVersion, actual: 0) }
            let key = keys.status(connector, line: line)
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            let scriptKeys: [any RedisArgumentConvertible] = [
                key, keys.lineIndex(line), keys.lineSequence(line),
                keys.cacheGeneration(directory: connectorInfoDirectory, line: line), keys.readySet(line),
                keys.versionFloors(line), keys.lineEpoch(line),
            ]
            var arguments: [any RedisArgumentConvertible] = [
                connector.rawValue, line.rawValue, ifVersion.map { String($0) } ?? "", now, keys.eventChannel(line),
                EpochToken().text, KeySpace.encodeName(connectorInfoDirectory),
            ]
            arguments += change.scriptArguments.map { $0 as any RedisArgumentConvertible }
            let reply: RedisValue
            defer {
                nearCache?.noteLocalWrite(
                    line: line, connector: connector, cleanedDirectory: KeySpace.encodeName(connectorInfoDirectory))
            }
            do {
                reply = try await runWrite(StatusScripts.update, keys: scriptKeys, arguments: arguments)
            } catch {
                metrics.writeErrors.increment()
                throw ConnectorStatusError.wrap(error, key: key)
            }
            guard let parts = reply.array, parts.count == 5, let outcomeText = parts[0].string,
                let version = parts[1].int, let sequence = parts[2].int, let hash = parts[4].array
            else { throw .unexpectedReply("status_update returned \(reply)") }
            if outcomeText == "conflict" {
                metrics.conflicts.increment()
                throw .versionConflict(expected: ifVersion ?? -1, actual: version)
            }
            guard let outcome = StatusUpdate.Outcome(rawValue: outcomeText),
                let status = try StatusSnapshot(connector: connector, line: line, hash: hash)
            else { throw .unexpectedReply("status_update returned \(reply)") }
            let changed = (parts[3].string ?? "").split(separator: ",").map(String.init)
            if outcome != .unchanged {
                metrics.writes.increment()
                logger.debug(
                    "status \(outcome.rawValue)",
                    metadata: [
                        "connector": "\(connector)", "line": "\(line)", "version": "\(version)",
                        "changed": "\(changed.joined(separator: ","))",
                    ])
            }
            span?.attributes["connector_status.outcome"] = outcome.rawValue
            return StatusUpdate(outcome: outcome, status: status, changedFields: changed, sequence: sequence)
        }
    }

    /// Deletes the status of one pair (Bitrix `Status::delete`), publishes a delete event and
    /// cleans the line's connector-info cache directory.
    ///
    /// Sends `EVALSHA status_delete` (one round trip), then `WAIT` when ``durability`` asks for
    /// replicas.
    /// - Returns: `true` when a status existed.
    /// - Throws: ``ConnectorStatusError/wrongType(key:message:)``, ``ConnectorStatusError/redis(_:)``,
    ///   ``ConnectorStatusError/notReplicated(acknowledged:required:)``.
    @discardableResult
    public func delete(_ connector: ConnectorID, line: LineID) async throws(ConnectorStatusError) -> Bool {
        try await DomainSpan.run(tracer, "StatusStore.delete", connector: connector, line: line) {
            (span: (any Span)?) async throws(ConnectorStatusError) -> Bool in
            let key = keys.status(connector, line: line)
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            defer {
                nearCache?.noteLocalWrite(
                    line: line, connector: connector, cleanedDirectory: KeySpace.encodeName(connectorInfoDirectory))
            }
            do {
                let reply = try await runWrite(
                    StatusScripts.delete,
                    keys: [
                        key, keys.lineIndex(line), keys.lineSequence(line),
                        keys.cacheGeneration(directory: connectorInfoDirectory, line: line), keys.readySet(line),
                        keys.versionFloors(line), keys.lineEpoch(line),
                    ],
                    arguments: [
                        connector.rawValue, line.rawValue, now, keys.eventChannel(line), EpochToken().text,
                        KeySpace.encodeName(connectorInfoDirectory),
                    ])
                let deleted = reply.array?.first?.int == 1
                if deleted { metrics.deletes.increment() }
                return deleted
            } catch {
                throw ConnectorStatusError.wrap(error, key: key)
            }
        }
    }

    // MARK: Helpers

    func validate(data: String) throws(ConnectorStatusError) {
        let size = data.utf8.count
        if size > limits.maxDataBytes { throw .dataTooLarge(size: size, limit: limits.maxDataBytes) }
        if size == 0 { return }
        do {
            _ = try JSONSerialization.jsonObject(with: Data(data.utf8), options: [.fragmentsAllowed])
        } catch {
            throw .invalidData("it does not parse (\(size) bytes)")
        }
    }

    /// Runs a write script, followed by `WAIT` when ``durability`` asks for replicas.
    func runWrite(
        _ script: RedisScript, keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible]
    ) async throws -> RedisValue {
        guard durability.replicas > 0 else { return try await redis.run(script, keys: keys, arguments: arguments) }
        let (reply, acknowledged) = try await redis.sendDurably(
            script.command(keys: keys, arguments: arguments), replicas: durability.replicas,
            timeout: durability.timeout)
        if acknowledged < durability.replicas {
            metrics.writeErrors.increment()
            throw ConnectorStatusError.notReplicated(acknowledged: acknowledged, required: durability.replicas)
        }
        return reply
    }

    func send(_ command: RedisCommand, key: String) async throws(ConnectorStatusError) -> RedisValue {
        do {
            return try await redis.send(command)
        } catch {
            throw ConnectorStatusError.wrap(error, key: key)
        }
    }
}
