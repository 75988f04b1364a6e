import CoreMetrics
import Foundation
import Logging
import RedisClient

/// An in-process cache of statuses and line-cache entries that proves, line by line, that what it
/// serves is fresh: a read it answers reflects every write acknowledged more than
/// ``NearCacheOptions/maxStaleness`` (300 ms by default) before the read began, on any instance.
/// On any doubt it answers nothing and the read goes to Redis.
///
/// Give it to a ``StatusStore`` (`StatusStore(redis:…, nearCache:)`) and to a ``LineCache``
/// (`LineCache(redis:…, nearCache:)`) — one near cache may serve both — and run it (``run()``, e.g.
/// in a task group or as part of a `ServiceGroup` via ``NearCacheService``). Then `isReady` and
/// `status`, and the line cache's `get`, `lookup` and the hits of `value`, with
/// ``ReadConsistency/bounded`` (their default) are answered from memory once the line is proven;
/// ``ReadConsistency/strict`` always asks Redis. A line-cache entry is never served past its time
/// to live in Redis.
///
/// How freshness is proven:
/// - Every write script publishes its event on the line's channel with the line's sequence and a
///   chain link (the epoch before and after the write). The cache applies events in order; an event
///   that does not link (a lost or extra event, another history after a failover) drops the line.
/// - Every ``NearCacheOptions/reconcileInterval`` (100 ms) a barrier runs `lua/near_barrier.lua` on
///   the master of each group of recently read lines: it reads their sequences and epochs and
///   publishes them on this process's heartbeat channel, in one step. The heartbeat arrives after
///   every event those lines published before it, so the cache compares exactly; a line whose
///   position agrees is proven as of the barrier's start. No heartbeat, no proof: after
///   `maxStaleness` the line is read from Redis again.
/// - A lost subscription or dropped messages drop every line at once. A write made through a store
///   or line cache of this process drops what it changes before the write returns (reads see their
///   own writes).
///
/// Not seen (stated in the README): edits of status hashes or cache keys made outside this library
/// (until the line's next write or drop), a directory's generation key evicted or deleted, and
/// writes Redis itself loses in a failover (the cache converges to what the new master holds
/// within `maxStaleness` of reaching it).
///
/// Redis commands: `PSUBSCRIBE ns:{L*}:ev` and `SUBSCRIBE ns:nc:hb:<instance>` on one dedicated
/// connection; `EVALSHA near_barrier` per group of lines per barrier; `EVALSHA near_status_get` or
/// `EVALSHA near_cache_get` per miss.
public final class NearCache: Sendable {
    /// The key layout; a store uses this near cache only when its own is the same.
    public let keys: KeySpace
    /// The bounds this cache keeps.
    public let options: NearCacheOptions
    /// This process's name on the heartbeat channel (16 random hex digits).
    public let instance: String
    let redis: any RedisCommandClient
    let lines: NearCacheLines
    let logger: Logger
    let metrics = NearCacheMetrics()
    private let control = GuardedState(Control())
    private let heartbeatChannel: String
    private let isCluster: Bool

    /// A barrier sent and not yet heard back: when it began and which lines (as they were then) it
    /// asked about.
    private struct PendingBarrier {
        var startedAt: UInt64
        var generation: UInt64
        var identities: [Int64: UInt64]
    }

    private struct Control {
        var running = false
        var closed = false
        var subscription: RedisSubscription?
        /// Subscribed now (heartbeats can come back).
        var subscribed = false
        /// Bumped whenever everything is dropped: barriers sent before are ignored.
        var generation: UInt64 = 0
        var tick: UInt64 = 0
        var pending: [UInt64: PendingBarrier] = [:]
        var lastProof: UInt64 = 0
        var hits = 0
        var misses = 0
        var resyncs: [NearCacheDoubt: Int] = [:]
    }

    /// Creates a near cache over `redis` (one server, a cluster or Sentinel). It holds nothing and
    /// proves nothing until ``run()`` runs.
    ///
    /// - Throws: ``ConnectorStatusError/invalidOption(_:)`` when `options` are out of range
    ///   (``NearCacheOptions/validate()``).
    public init(
        redis: any RedisCommandClient, keys: KeySpace = .standard, options: NearCacheOptions = NearCacheOptions(),
        logger: Logger
    ) throws(ConnectorStatusError) {
        try options.validate()
        self.redis = redis
        self.keys = keys
        self.options = options
        self.logger = logger
        instance = EpochToken().text
        heartbeatChannel = keys.nearCacheHeartbeatChannel(instance: instance)
        isCluster = redis is RedisClusterClient
        lines = NearCacheLines(options: options)
    }

    // MARK: Running

    /// Subscribes to every line's events and this process's heartbeats, and runs the barriers,
    /// until the calling task is cancelled or ``close()`` is called. Returns at once when it already
    /// runs or was closed.
    ///
    /// Never throws: when Redis refuses the subscription (an ACL without channel rights) or is
    /// down, nothing is proven and every read goes to Redis; ``state`` shows it.
    public func run() async {
        let subscription = redis.subscribe(
            channels: [heartbeatChannel], patterns: [keys.eventChannelPattern],
            bufferSize: options.subscriptionBufferSize, healthCheckInterval: .seconds(1))
        let claimed = control.withLock { control -> Bool in
            guard !control.running, !control.closed else { return false }
            control.running = true
            control.subscription = subscription
            return true
        }
        guard claimed else {
            subscription.close()
            return
        }
        defer {
            subscription.close()
            control.withLock { control in
                control.running = false
                control.subscribed = false
                control.subscription = nil
                control.generation += 1
                control.pending = [:]
            }
            lines.dropAll()
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.runBarriers() }
            for await event in subscription {
                handle(event)
            }
            group.cancelAll()
        }
    }

    /// Stops ``run()`` and drops everything; the cache serves nothing afterwards.
    public func close() {
        let subscription = control.withLock { control -> RedisSubscription? in
            control.closed = true
            return control.subscription
        }
        subscription?.close()
        lines.dropAll()
    }

    /// Drops every cached status and line-cache entry: the next reads go to Redis and are proven
    /// again.
    public func invalidateAll() {
        drop(.manual)
    }

    /// What the cache holds and whether it is proving lines now, for health endpoints and `doctor`.
    public var state: NearCacheState {
        let now = CoarseClock.now()
        let usage = lines.usage(now: now)
        let counters = lines.takeCounters()
        report(counters, usage: usage)
        return control.withLock { control in
            NearCacheState(
                running: control.running, subscribed: control.subscribed, entries: usage.entries,
                estimatedBytes: usage.bytes, lines: usage.lines, provenLines: usage.provenLines, hits: control.hits,
                misses: control.misses,
                resyncs: Dictionary(uniqueKeysWithValues: control.resyncs.map { ($0.key.rawValue, $0.value) }),
                lastProofAge: control.lastProof == 0 || now < control.lastProof
                    ? nil : .nanoseconds(Int64(now - control.lastProof)))
        }
    }

    // MARK: Reads (for StatusStore)

    /// Whether reads may be filled into the cache now (``run()`` runs and is subscribed).
    var isServing: Bool { control.withLock { $0.running && $0.subscribed } }

    /// Reads one pair's status from Redis together with its line's position and caches it when
    /// that is safe (see ``NearCacheLines/completeFill(_:connector:link:snapshot:)``).
    ///
    /// Sends `EVALSHA near_status_get`.
    func fillStatus(_ connector: ConnectorID, line: LineID) async throws(ConnectorStatusError) -> StatusSnapshot? {
        let ticket = lines.beginFill(line: line.rawValue, now: CoarseClock.now())
        let key = keys.status(connector, line: line)
        let reply: RedisValue
        do {
            reply = try await redis.run(
                NearCacheScripts.statusGet, keys: [key, keys.lineSequence(line), keys.lineEpoch(line)], arguments: [])
        } catch {
            throw ConnectorStatusError.wrap(error, key: key)
        }
        guard let parts = reply.array, parts.count == 3, let sequenceText = parts[0].string,
            let epoch = parts[1].string, let hash = parts[2].array
        else { throw .unexpectedReply("near_status_get returned \(reply)") }
        let snapshot = try StatusSnapshot(connector: connector, line: line, hash: hash)
        let link = Self.link(sequence: sequenceText, epoch: epoch)
        switch lines.completeFill(ticket, connector: connector, link: link, snapshot: snapshot) {
        case .cached: metrics.fillsCached.increment()
        case .doubted(let reason): note(reason)
        default: metrics.fillsRefused.increment()
        }
        return snapshot
    }

    /// This process wrote on `line` (`connector`'s status, or every status when `nil`), which may
    /// have cleaned the line-cache directory `cleanedDirectory` (encoded).
    func noteLocalWrite(line: LineID, connector: ConnectorID?, cleanedDirectory: String?) {
        lines.noteLocalWrite(line: line.rawValue, connector: connector, directory: cleanedDirectory)
    }

    // MARK: Events

    private func handle(_ event: RedisSubscriptionEvent) {
        switch event {
        case .subscribed:
            // The first subscription, or a resubscription after a loss: whatever was cached before
            // may have missed events.
            drop(.disconnected, subscribed: true)
        case .disconnected(let error):
            logger.debug("near cache subscription lost", metadata: ["error": "\(error)"])
            drop(.disconnected, subscribed: false)
        case .messagesDropped(let count):
            logger.warning("near cache subscription dropped messages", metadata: ["count": "\(count)"])
            drop(.overflow)
        case .message(let channel, let payload, let pattern):
            if pattern == nil && channel == heartbeatChannel {
                heartbeat(payload)
            } else if let message = LineEventMessage(json: payload), let doubt = lines.apply(message) {
                note(doubt)
            }
        }
    }

    /// Drops everything, ignores barriers already sent and, when `subscribed` is given, records
    /// whether heartbeats can come back now.
    private func drop(_ reason: NearCacheDoubt, subscribed: Bool? = nil) {
        control.withLock { control in
            if let subscribed { control.subscribed = subscribed }
            control.generation += 1
            control.pending = [:]
        }
        if lines.dropAll() > 0 || reason == .manual || reason == .overflow { note(reason) }
    }

    func note(_ reason: NearCacheDoubt) {
        metrics.resync(reason)
        control.withLock { $0.resyncs[reason, default: 0] += 1 }
    }

    /// A heartbeat: `"<tick> <line>:<seq>:<ep> …"`, published by `near_barrier.lua` after the
    /// events it covers.
    private func heartbeat(_ payload: [UInt8]) {
        guard let text = String(validating: payload, as: UTF8.self) else { return }
        let fields = text.split(separator: " ")
        guard let tickText = fields.first, let tick = UInt64(tickText) else { return }
        let barrier = control.withLock { control -> PendingBarrier? in
            guard let barrier = control.pending[tick], barrier.generation == control.generation else { return nil }
            return barrier
        }
        guard let barrier else { return }
        for field in fields.dropFirst() {
            let parts = field.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 3, let line = Int64(parts[0]), let identity = barrier.identities[line] else {
                continue
            }
            let link = Self.link(sequence: String(parts[1]), epoch: String(parts[2]))
            if let doubt = lines.confirm(line: line, identity: identity, link: link, startedAt: barrier.startedAt) {
                note(doubt)
            }
        }
        let now = CoarseClock.now()
        if now > barrier.startedAt { metrics.barrier.recordNanoseconds(Int64(now - barrier.startedAt)) }
        control.withLock { control in
            if barrier.startedAt > control.lastProof { control.lastProof = barrier.startedAt }
        }
    }

    /// A line's position as the scripts report it: `nil` when a key held another type (`?`) or the
    /// sequence is not an integer.
    static func link(sequence: String, epoch: String) -> ChainLink? {
        guard epoch != "?", let value = Int64(sequence), value >= 0 else { return nil }
        return ChainLink(sequence: value, epoch: epoch)
    }

    // MARK: Barriers

    private func runBarriers() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: options.reconcileInterval)
            } catch {
                return
            }
            await barrier()
        }
    }

    /// One barrier: asks the master of every recently read line for its position, through
    /// `near_barrier.lua`, which publishes the answer as a heartbeat after the events it covers.
    func barrier() async {
        let startedAt = CoarseClock.now()
        let candidates = lines.barrierCandidates(
            now: startedAt, idleAfter: UInt64(options.idleLineTimeout.nanoseconds))
        report(lines.takeCounters(), usage: lines.usage(now: startedAt))
        let staleAfter = UInt64(options.maxStaleness.nanoseconds)
        let tick = control.withLock { control -> UInt64? in
            guard control.subscribed, !candidates.isEmpty else { return nil }
            control.tick += 1
            control.pending[control.tick] = PendingBarrier(
                startedAt: startedAt, generation: control.generation,
                identities: Dictionary(candidates, uniquingKeysWith: { first, _ in first }))
            control.pending = control.pending.filter { startedAt &- $0.value.startedAt <= staleAfter }
            return control.tick
        }
        guard let tick else { return }
        let commands = barrierCommands(lines: candidates.map(\.line), tick: tick)
        let results = await redis.pipeline(commands)
        for case .failure(let error) in results {
            metrics.barrierFailures.increment()
            logger.debug("near cache barrier failed", metadata: ["error": "\(error)"])
        }
    }

    /// `near_barrier` commands: on a cluster one per hash slot (a script's keys share one slot),
    /// elsewhere one per 128 lines.
    func barrierCommands(lines: [Int64], tick: UInt64) -> [RedisCommand] {
        var groups: [[Int64]] = []
        if isCluster {
            var bySlot: [Int: [Int64]] = [:]
            for line in lines {
                guard let id = try? LineID(line) else { continue }
                bySlot[HashSlot.slot(for: keys.lineSequence(id)), default: []].append(line)
            }
            groups = Array(bySlot.values)
        } else {
            groups = stride(from: 0, to: lines.count, by: 128).map { Array(lines[$0..<min($0 + 128, lines.count)]) }
        }
        return groups.map { group in
            var scriptKeys: [any RedisArgumentConvertible] = []
            var arguments: [any RedisArgumentConvertible] = [heartbeatChannel, String(tick)]
            for line in group {
                guard let id = try? LineID(line) else { continue }
                scriptKeys.append(keys.lineSequence(id))
                scriptKeys.append(keys.lineEpoch(id))
                arguments.append(String(line))
            }
            return isCluster
                ? NearCacheScripts.barrier.command(keys: scriptKeys, arguments: arguments)
                : NearCacheScripts.barrier.crossSlotCommand(keys: scriptKeys, arguments: arguments)
        }
    }

    private func report(_ counters: NearCacheLines.Counters, usage: NearCacheLines.Usage) {
        if counters.hits > 0 { metrics.hits.increment(by: counters.hits) }
        if counters.misses > 0 { metrics.misses.increment(by: counters.misses) }
        if counters.evictions > 0 { metrics.evictions.increment(by: counters.evictions) }
        metrics.entries.record(usage.entries)
        metrics.bytes.record(usage.bytes)
        metrics.lines.record(usage.lines)
        metrics.provenLines.record(usage.provenLines)
        control.withLock { control in
            control.hits += counters.hits
            control.misses += counters.misses
        }
    }
}
