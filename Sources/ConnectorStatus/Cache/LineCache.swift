import CoreMetrics
import Foundation
import Logging
import RedisClient
import Tracing

/// A per-line cache in Redis that every instance shares and can clear in one step
/// (Bitrix `Main\Data\Cache` with `clean($line, $dir)` and `cleanDir($dir)`).
///
/// Each (directory, line) has a generation counter. Entries carry the generation they were
/// written under; a read returns an entry only if it matches the current generation. So a
/// clean is one `INCR` — O(1) whatever the number of keys — and is visible to every instance
/// the moment it returns. A write carries the generation its writer read *before* computing,
/// and is refused if a clean came in between: stale data is never resurrected. A generation
/// that is missing (never used, evicted, deleted) is created from the server clock in
/// microseconds, so a number never comes back. A clean of one line frees that line's old
/// entries at once (from an index of the keys written since the last clean); a clean across
/// lines leaves them to their TTL or ``reclaim(_:line:from:maxBatches:progress:)``.
///
/// ```swift
/// let cache = LineCache(redis: pool, logger: logger)
/// let info: LineInfo = try await cache.value(key: "info", in: .infoConnectorsLine, line: line) {
///     try await loadLineInfo(line)          // runs once across instances on a miss
/// }
/// try await cache.clean(.infoConnectorsLine, line: line)   // after a config change
/// ```
public struct LineCache: Sendable {
    public let redis: any RedisCommandClient
    public let keys: KeySpace
    public let options: LineCacheOptions
    /// The tracer of this cache's spans (one per get-or-compute and clean, with the Redis
    /// client's spans nested inside), or `nil` when tracing is off.
    public let tracer: (any Tracer)?
    /// Answers bounded reads from memory once it has proven their line fresh (see ``NearCache``);
    /// `nil` when there is none or its key layout differs from ``keys``.
    public let nearCache: NearCache?
    let coder: any CacheValueCoder
    let logger: Logger
    let metrics = LineCacheMetrics()
    private let flights = SingleFlight()

    /// Creates a cache over `redis`.
    ///
    /// - Parameters:
    ///   - redis: the client every command goes through (one server, a cluster or Sentinel).
    ///   - keys: the key layout (namespace `imc` by default).
    ///   - options: lease, TTL, size and reclaim settings.
    ///   - coder: turns values into bytes and back (JSON by default).
    ///   - logger: where the cache logs (entries that do not decode, among others). Logging is
    ///     never bootstrapped here.
    ///   - tracer: makes a span per get-or-compute (``value(key:in:line:ttl:staleWhileComputing:compute:)``,
    ///     with `line_cache.outcome`) and per clean; `nil` uses the Redis client's tracer
    ///     (`RedisCommandClient.tracer`), and none when that is off.
    ///   - nearCache: answers ``get(_:key:in:line:consistency:)``, ``lookup(_:key:in:line:consistency:)``
    ///     and the hits of ``value(key:in:line:ttl:staleWhileComputing:compute:)`` from memory once
    ///     it has proven the line fresh (the same ``NearCache`` a ``StatusStore`` uses may serve
    ///     both); ignored, with a warning, when its key layout is not `keys`.
    public init(
        redis: any RedisCommandClient, keys: KeySpace = .standard, options: LineCacheOptions = LineCacheOptions(),
        coder: any CacheValueCoder = JSONCacheCoder(), nearCache: NearCache? = nil, logger: Logger,
        tracer: (any Tracer)? = nil
    ) {
        self.redis = redis
        self.tracer = tracer ?? redis.tracer
        self.keys = keys
        self.options = options
        self.coder = coder
        self.logger = logger
        if let nearCache, nearCache.keys != keys {
            logger.warning(
                "near cache ignored: its key layout differs from the line cache's",
                metadata: ["cache": "\(keys.namespace)", "nearCache": "\(nearCache.keys.namespace)"])
            self.nearCache = nil
        } else {
            self.nearCache = nearCache
        }
    }

    // MARK: Reading

    /// The current value of `key`, or `nil` on a miss. An entry that cannot be decoded as
    /// `Value` counts as a miss and is logged, but stays (another coder or type may own it);
    /// only an entry that is not `<generation>:<payload>` at all is removed by a read.
    ///
    /// Sends `MGET` of the directory's generation and the entry (`EVALSHA cache_get` when the
    /// generation does not exist yet). With a running ``nearCache`` and `.bounded` consistency (the
    /// default), answered from memory when the line is proven fresh; a miss sends `EVALSHA
    /// near_cache_get` (the entry with the line's position) and caches the answer.
    /// - Throws: ``ConnectorStatusError/wrongType(key:message:)`` when another type sits at the
    ///   key, ``ConnectorStatusError/redis(_:)`` for connection failures.
    public func get<Value: Decodable & Sendable>(
        _ type: Value.Type = Value.self, key: String, in directory: CacheDirectory, line: LineID,
        consistency: ReadConsistency = .bounded
    ) async throws(ConnectorStatusError) -> Value? {
        try await lookup(type, key: key, in: directory, line: line, consistency: consistency).value
    }

    /// Like ``get(_:key:in:line:consistency:)``, and also returns the generation read, for a later
    /// ``set(_:key:in:line:ttl:ifGeneration:)`` that must not outlive a clean.
    public func lookup<Value: Decodable & Sendable>(
        _ type: Value.Type = Value.self, key: String, in directory: CacheDirectory, line: LineID,
        consistency: ReadConsistency = .bounded
    ) async throws(ConnectorStatusError) -> CacheLookup<Value> {
        if consistency == .bounded, let nearCache {
            if let answer = nearLookup(type, key: key, directory: directory, line: line) { return answer }
            if nearCache.isServing { return try await nearFill(type, key: key, directory: directory, line: line) }
        }
        let read = try await readEntry(key: key, directory: directory, line: line, leaseToken: nil, wantStale: false)
        guard let payload = read.payload, read.state == .hit else {
            metrics.misses.increment()
            return CacheLookup(value: nil, generation: read.generation)
        }
        guard let value = decode(type, payload, key: key, directory: directory, line: line) else {
            metrics.misses.increment()
            return CacheLookup(value: nil, generation: read.generation)
        }
        metrics.hits.increment()
        return CacheLookup(value: value, generation: read.generation)
    }

    // MARK: Writing

    /// Stores `value` with a TTL (the directory's default when `nil`), jittered, and announces
    /// it on the line's event channel with the line's sequence and epoch (a refused write writes
    /// and announces nothing).
    ///
    /// Sends `EVALSHA cache_set` (one round trip).
    /// - Parameters:
    ///   - value: the value to store, encoded by the cache's ``CacheValueCoder``.
    ///   - key: the entry's name within the directory.
    ///   - directory: the cache directory.
    ///   - line: the line the entry belongs to.
    ///   - ttl: how long the entry lives; `nil` for the directory's default.
    ///   - ifGeneration: the generation from an earlier ``lookup(_:key:in:line:consistency:)``:
    ///     the write is refused if the directory was cleaned since. `nil` writes under the current
    ///     generation.
    /// - Returns: `true` when stored, `false` when refused because a clean came first.
    /// - Throws: ``ConnectorStatusError/valueTooLarge(size:limit:)`` and
    ///   ``ConnectorStatusError/encodingFailed(_:)`` before anything is sent;
    ///   ``ConnectorStatusError/wrongType(key:message:)`` naming a key of another type (nothing
    ///   changed); ``ConnectorStatusError/server(_:)`` (`NOPERM`) when the ACL denies publishing to
    ///   the line's channel (nothing changed); Redis failures.
    @discardableResult
    public func set<Value: Encodable>(
        _ value: Value, key: String, in directory: CacheDirectory, line: LineID, ttl: Duration? = nil,
        ifGeneration: Int64? = nil
    ) async throws(ConnectorStatusError) -> Bool {
        let bytes = try encode(value)
        return try await store(
            bytes, key: key, directory: directory, line: line, ttl: ttl, expectedGeneration: ifGeneration)
    }

    /// The cached value of `key`, or — on a miss — the result of `compute`, stored for the
    /// others. Stampede protection: inside this process concurrent calls for one key run
    /// `compute` once; across instances one holder of a short lease (`SET NX PX` with a random
    /// token) computes while the others wait up to ``LineCacheOptions/leaseWait`` for its value
    /// (then compute themselves). With `staleWhileComputing`, waiters get the previous
    /// generation's value at once if there is one.
    ///
    /// Sends `EVALSHA cache_get` (taking the lease on a miss), then on a miss `EVALSHA
    /// cache_set` and `EVALSHA cache_release_lease`. With a running ``nearCache``, a value it holds
    /// for a proven line is returned from memory (no command, no span); otherwise the first read
    /// is `EVALSHA near_cache_get`, which also fills it.
    /// - Throws: what `compute` throws (nothing is stored then), encoding and size errors, Redis
    ///   failures.
    public func value<Value: Codable & Sendable>(
        key: String, in directory: CacheDirectory, line: LineID, ttl: Duration? = nil,
        staleWhileComputing: Bool = false, compute: @escaping @Sendable () async throws -> Value
    ) async throws -> Value {
        if let value = nearLookup(Value.self, key: key, directory: directory, line: line, countingMisses: false)?.value
        {
            return value
        }
        return try await DomainSpan.run(tracer, "LineCache.value", line: line, directory: directory) {
            (span: (any Span)?) async throws -> Value in
            let flightKey = keys.cacheEntry(directory: directory.name, line: line, key: key)
            let cache = self
            for _ in 0..<3 {
                let (bytes, leader) = try await flights.run(flightKey) {
                    try await cache.loadOrCompute(
                        key: key, directory: directory, line: line, ttl: ttl, staleWhileComputing: staleWhileComputing,
                        span: span
                    ) { try cache.encode(try await compute()) }
                }
                // Another caller in this process was computing it: this one shared the result.
                if !leader { span?.attributes["line_cache.outcome"] = "joined" }
                if leader || staleWhileComputing {
                    return try await decodeOrCompute(
                        bytes, key: key, directory: directory, line: line, compute: compute)
                }
                // A caller that joined another's computation may have joined after a clean that the
                // computation started before; only a value current *now* is safe to hand it. One read
                // tells: a hit is current; otherwise take (or join) a new flight.
                let read = try await readEntry(
                    key: key, directory: directory, line: line, leaseToken: nil, wantStale: false)
                if read.state == .hit, let payload = read.payload {
                    return try await decodeOrCompute(
                        payload, key: key, directory: directory, line: line, compute: compute)
                }
            }
            // Cleaned under our feet three times in a row: compute once more, as leader.
            let bytes = try await loadOrCompute(
                key: key, directory: directory, line: line, ttl: ttl, staleWhileComputing: staleWhileComputing,
                span: span
            ) { try self.encode(try await compute()) }
            return try await decodeOrCompute(bytes, key: key, directory: directory, line: line, compute: compute)
        }
    }

    /// Decodes `bytes` as `Value`; when they are another type (another caller cached a
    /// different type under this key), computes directly.
    private func decodeOrCompute<Value: Codable & Sendable>(
        _ bytes: [UInt8], key: String, directory: CacheDirectory, line: LineID,
        compute: @Sendable () async throws -> Value
    ) async throws -> Value {
        if let value = decode(Value.self, bytes, key: key, directory: directory, line: line) { return value }
        return try await compute()
    }

    // MARK: Cleaning

    /// Removes one entry (Bitrix `clean($id, $dir)` for one id) and announces it on the line's
    /// event channel (with the line's sequence and epoch), whether or not the entry was there.
    ///
    /// Sends `EVALSHA cache_remove` (one round trip: checks the line's sequence and epoch keys,
    /// publishes, `UNLINK`s the entry, advances the sequence and epoch).
    /// - Returns: `true` when an entry existed.
    /// - Throws: ``ConnectorStatusError/wrongType(key:message:)`` naming the line's sequence or epoch
    ///   key when it holds something else (nothing changed); ``ConnectorStatusError/server(_:)``
    ///   (`NOPERM`) when the ACL denies publishing to the line's channel (nothing changed);
    ///   ``ConnectorStatusError/redis(_:)`` for connection failures.
    @discardableResult
    public func remove(key: String, in directory: CacheDirectory, line: LineID) async throws(ConnectorStatusError)
        -> Bool
    {
        let entry = keys.cacheEntry(directory: directory.name, line: line, key: key)
        let reply: RedisValue
        defer { nearCache?.noteLocalCacheWrite(line: line, directory: directory.name, key: key) }
        do {
            reply = try await redis.run(
                LineCacheScripts.remove, keys: [entry, keys.lineSequence(line), keys.lineEpoch(line)],
                arguments: [
                    line.rawValue, Self.nowMilliseconds(), keys.eventChannel(line), KeySpace.encodeName(directory.name),
                    KeySpace.encodeName(key), EpochToken().text,
                ])
        } catch {
            throw ConnectorStatusError.wrap(error, key: entry)
        }
        guard let parts = reply.array, parts.count == 2, let removed = parts[0].int else {
            throw .unexpectedReply("cache_remove returned \(reply)")
        }
        return removed == 1
    }

    /// Cleans `directory` on `line` (Bitrix `$cache->clean($line, $dir)`): when this returns,
    /// no instance reads any entry written before, and their memory is freed.
    ///
    /// Sends `EVALSHA cache_clean` (a new generation — visible to every instance at once and
    /// announced on the line's event channel with its sequence and epoch — and the line's entry
    /// keys move from the directory's index set to a drain set of this clean),
    /// followed by `WAIT` with ``LineCacheOptions/cleanDurability``; then walks the drain set in
    /// batches of ``LineCacheOptions/freeBatchSize`` (`SSCAN`, then `EVALSHA cache_reclaim`, which
    /// unlinks only entries not of the current generation), pausing
    /// ``LineCacheOptions/reclaimPause`` between batches, and `UNLINK`s it. No SCAN; cost O(entries of this line), in short steps that keep other
    /// clients' latency. With ``LineCacheOptions/freeOnClean`` `false`, the old entries are left
    /// to their TTL (or ``reclaim(_:line:from:maxBatches:progress:)``) and this returns 0.
    /// - Returns: how many old entries were unlinked.
    /// - Throws: ``ConnectorStatusError/wrongType(key:message:)`` naming the key when the
    ///   generation, index or drain key holds another type (nothing changed);
    ///   ``ConnectorStatusError/notReplicated(acknowledged:required:)`` when the clean was applied
    ///   but too few replicas confirmed it in time; ``ConnectorStatusError/redis(_:)``.
    @discardableResult
    public func clean(_ directory: CacheDirectory, line: LineID) async throws(ConnectorStatusError) -> Int {
        try await DomainSpan.run(tracer, "LineCache.clean", line: line, directory: directory) {
            (span: (any Span)?) async throws(ConnectorStatusError) -> Int in
            let (drainKey, waiting) = try await cleanLine(directory, line: line, moveIndex: options.freeOnClean)
            metrics.cleans.increment()
            logger.debug("line cache cleaned", metadata: ["directory": "\(directory)", "line": "\(line)"])
            guard options.freeOnClean, waiting > 0 else { return 0 }
            return try await drain(directory, line: line, drainKey: drainKey)
        }
    }

    /// Cleans `directory` on every line (Bitrix `cleanDir`). Sends `SCAN MATCH` over the
    /// generation keys of that directory (`COUNT` ``LineCacheOptions/reclaimScanCount``) and one
    /// pipelined `EVALSHA cache_clean` per line found (each announced on its line's channel): O(keys in the database) spread over short
    /// round trips; each line's clean is atomic, the whole is not. Every line a reader or writer
    /// has touched has a generation key, so every line that could serve an entry is cleaned.
    /// Old entries are left to ``reclaim(_:line:from:maxBatches:progress:)`` and their TTL.
    ///
    /// A line whose generation key cannot be cleaned (another type, not an integer) does not
    /// stop the others: every other line is cleaned, then the bad keys are reported.
    /// - Returns: how many lines were cleaned.
    /// - Throws: ``ConnectorStatusError/cleanIncomplete(cleaned:badKeys:)`` naming the keys that
    ///   could not be cleaned (after cleaning every other line); Redis failures.
    @discardableResult
    public func clean(_ directory: CacheDirectory) async throws(ConnectorStatusError) -> Int {
        try await DomainSpan.run(tracer, "LineCache.cleanDirectory", directory: directory) {
            (span: (any Span)?) async throws(ConnectorStatusError) -> Int in
            defer { nearCache?.noteLocalCacheWrite(line: nil, directory: directory.name, key: nil) }
            let pattern = keys.cacheGenerationScanPattern(directory: directory.name)
            var cursor = "0"
            var cleaned = 0
            var badKeys: Set<String> = []
            // A scan may return a key more than once (on a cluster it starts over when slots move):
            // each line is cleaned, and counted, once per call.
            var seen: Set<LineID> = []
            repeat {
                let (next, found) = try await scan(cursor: cursor, pattern: pattern, type: nil)
                let lines = found.compactMap { key in keys.line(ofKey: key).map { (key, $0) } }
                    .filter { seen.insert($0.1).inserted }
                if options.cleanDurability.replicas > 0 {
                    for (_, line) in lines {
                        do throws(ConnectorStatusError) {
                            try await cleanLine(directory, line: line, moveIndex: false)
                            cleaned += 1
                        } catch .wrongType(let named, _) {
                            badKeys.insert(named)
                        }
                    }
                } else if !lines.isEmpty {
                    let results = await redis.pipeline(
                        lines.map {
                            cleanCommand(
                                directory, line: $0.1,
                                drain: keys.cacheDrain(directory: directory.name, line: $0.1, token: "unused"),
                                moveIndex: false)
                        })
                    for ((key, _), result) in zip(lines, results) {
                        do {
                            _ = try result.get()
                            cleaned += 1
                        } catch {
                            let wrapped = ConnectorStatusError.wrap(error, key: key)
                            guard case .wrongType(let named, _) = wrapped else { throw wrapped }
                            badKeys.insert(named)
                        }
                    }
                }
                cursor = next
            } while cursor != "0"
            metrics.cleans.increment(by: cleaned)
            if !badKeys.isEmpty {
                logger.error(
                    "line cache clean across lines skipped keys it could not clean",
                    metadata: ["directory": "\(directory)", "cleaned": "\(cleaned)", "bad_keys": "\(badKeys)"])
                throw .cleanIncomplete(cleaned: cleaned, badKeys: badKeys.sorted())
            }
            return cleaned
        }
    }

    /// Frees the memory of entries written under older generations of `directory` (on `line`,
    /// or on every line when `nil`). Resumable: pass the returned cursor back with `from`.
    ///
    /// Sends `SCAN MATCH <entries of the directory> COUNT` ``LineCacheOptions/reclaimScanCount``,
    /// then for each batch one `EVALSHA cache_reclaim` per line (reads only each value's
    /// generation prefix, `UNLINK`s the old ones), pausing ``LineCacheOptions/reclaimPause``
    /// between batches. Never `KEYS`, never one long script.
    /// - Parameters:
    ///   - directory: the cache directory whose old entries are freed.
    ///   - line: one line, or `nil` for every line.
    ///   - cursor: where to resume: `"0"` to start, or the cursor of a returned progress.
    ///   - maxBatches: stop after this many SCAN batches (`nil`: run to the end).
    ///   - progress: called after each batch.
    public func reclaim(
        _ directory: CacheDirectory, line: LineID?, from cursor: String = "0", maxBatches: Int? = nil,
        progress: (@Sendable (ReclaimProgress) -> Void)? = nil
    ) async throws(ConnectorStatusError) -> ReclaimProgress {
        let pattern = keys.cacheEntryScanPattern(directory: directory.name, line: line)
        var state = ReclaimProgress(cursor: cursor, examined: 0, reclaimed: 0)
        var batches = 0
        repeat {
            let (next, found) = try await scan(cursor: state.cursor, pattern: pattern, type: "string")
            state.examined += found.count
            var byLine: [LineID: [String]] = [:]
            for key in found {
                if let keyLine = keys.line(ofKey: key) { byLine[keyLine, default: []].append(key) }
            }
            if !byLine.isEmpty {
                let lines = Array(byLine.keys)
                let commands = lines.map { entryLine in
                    LineCacheScripts.reclaim.command(
                        keys: [keys.cacheGeneration(directory: directory.name, line: entryLine)] + byLine[entryLine]!)
                }
                for (index, result) in await redis.pipeline(commands).enumerated() {
                    do {
                        state.reclaimed += Int(try result.get().int ?? 0)
                    } catch {
                        throw ConnectorStatusError.wrap(error, key: keys.linePrefix(lines[index]))
                    }
                }
            }
            state.cursor = next
            batches += 1
            progress?(state)
            if !state.isComplete && options.reclaimPause > .zero {
                try? await Task.sleep(for: options.reclaimPause)
            }
        } while !state.isComplete && batches < (maxBatches ?? Int.max)
        metrics.reclaimed.increment(by: state.reclaimed)
        return state
    }
}
