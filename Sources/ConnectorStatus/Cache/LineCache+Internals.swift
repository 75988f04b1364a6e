import CoreMetrics
import Foundation
import Logging
import RedisClient
import Tracing

/// The round trips behind ``LineCache``'s public API.
extension LineCache {
    /// What `cache_get.lua` answered.
    struct EntryRead {
        /// What the read found; the raw values are the states `cache_get.lua` answers.
        enum State: String {
            /// The entry holds a value of the current generation.
            case hit
            /// No current value.
            case miss
            /// A miss, and this caller now holds the lease: compute, then set.
            case lease
            /// A miss, and another caller holds the lease.
            case wait
            /// The entry was not `<generation>:<payload>`; it was removed.
            case corrupt
        }

        var generation: Int64
        var state: State
        /// The current value on a hit; the previous generation's when asked, on a miss.
        var payload: [UInt8]?
    }

    func readEntry(
        key: String, directory: CacheDirectory, line: LineID, leaseToken: String?, wantStale: Bool
    ) async throws(ConnectorStatusError) -> EntryRead {
        if leaseToken == nil && !wantStale {
            return try await readEntryPlain(key: key, directory: directory, line: line)
        }
        return try await readEntryScripted(
            key: key, directory: directory, line: line, leaseToken: leaseToken, wantStale: wantStale)
    }

    /// `EVALSHA cache_get`: the read that may take a lease, return a stale value, or create a
    /// missing generation.
    func readEntryScripted(
        key: String, directory: CacheDirectory, line: LineID, leaseToken: String?, wantStale: Bool
    ) async throws(ConnectorStatusError) -> EntryRead {
        let entry = keys.cacheEntry(directory: directory.name, line: line, key: key)
        let reply: RedisValue
        do {
            reply = try await redis.run(
                LineCacheScripts.get,
                keys: [
                    keys.cacheGeneration(directory: directory.name, line: line), entry,
                    keys.cacheLease(directory: directory.name, line: line, key: key), keys.versionFloors(line),
                ],
                arguments: [leaseToken ?? "", options.leaseTime.expiryMilliseconds, wantStale ? "1" : "0"])
        } catch {
            throw ConnectorStatusError.wrap(error, key: entry)
        }
        guard let parts = reply.array, parts.count >= 2, let generation = parts[0].int,
            let state = parts[1].string.flatMap(EntryRead.State.init(rawValue:))
        else { throw .unexpectedReply("cache_get returned \(reply)") }
        if state == .corrupt { noteRemovedCorruptEntry(entry) }
        return EntryRead(generation: generation, state: state, payload: parts.count > 2 ? parts[2].bytes : nil)
    }

    /// A read without lease or stale value: one `MGET` of the generation and the entry (same
    /// hash tag, so one slot; atomic), compared here. Cheaper on the server than a script, which
    /// matters because hits are the common case. A corrupt entry (not `<generation>:<payload>`)
    /// is unlinked. When the generation does not exist yet, `cache_get` creates it (so the
    /// generation handed out always exists and a clean across lines finds it).
    func readEntryPlain(key: String, directory: CacheDirectory, line: LineID) async throws(ConnectorStatusError)
        -> EntryRead
    {
        let entry = keys.cacheEntry(directory: directory.name, line: line, key: key)
        let generationKey = keys.cacheGeneration(directory: directory.name, line: line)
        let reply = try await send(RedisCommand("MGET", generationKey, entry), key: entry)
        guard let parts = reply.array, parts.count == 2 else { throw .unexpectedReply("MGET returned \(reply)") }
        guard let generationText = parts[0].string else {
            return try await readEntryScripted(
                key: key, directory: directory, line: line, leaseToken: nil, wantStale: false)
        }
        // The scripts' rule (what INCR takes): no sign, no leading zero, at most 18 digits; a
        // laxer parse ("05", "+5") would serve entries that no clean can invalidate.
        guard generationText.utf8.count <= 18, let generation = Int64(generationText), generation >= 0,
            String(generation) == generationText
        else {
            throw .wrongType(key: generationKey, message: "the cache generation is not an integer")
        }
        guard let value = parts[1].bytes else { return EntryRead(generation: generation, state: .miss, payload: nil) }
        guard let separator = value.firstIndex(of: UInt8(ascii: ":")) else {
            noteRemovedCorruptEntry(entry)
            _ = try await send(RedisCommand("UNLINK", entry), key: entry)
            return EntryRead(generation: generation, state: .corrupt, payload: nil)
        }
        guard value[..<separator].elementsEqual(generationText.utf8) else {
            return EntryRead(generation: generation, state: .miss, payload: nil)
        }
        return EntryRead(generation: generation, state: .hit, payload: Array(value[(separator + 1)...]))
    }

    /// A read found `entry` not `<generation>:<payload>` and removed it: counted and logged.
    func noteRemovedCorruptEntry(_ entry: String) {
        metrics.corrupt.increment()
        logger.warning("removed a line-cache entry without a generation prefix", metadata: ["key": "\(entry)"])
    }

    /// Counts a read's outcome: a hit when it found a value, else a miss unless `countingMisses` is
    /// `false` (the caller goes on to Redis and counts there).
    func count(found: Bool, countingMisses: Bool = true) {
        if found {
            metrics.hits.increment()
        } else if countingMisses {
            metrics.misses.increment()
        }
    }

    /// The first read of get-or-compute: `MGET` (``readEntryPlain(key:directory:line:)``), or with
    /// a serving near cache `EVALSHA near_cache_get`, which also fills it (one round trip either
    /// way).
    func firstRead(key: String, directory: CacheDirectory, line: LineID) async throws(ConnectorStatusError)
        -> EntryRead
    {
        guard let nearCache, nearCache.isServing else {
            return try await readEntryPlain(key: key, directory: directory, line: line)
        }
        let fill = try await nearCache.readCacheEntry(directoryName: directory.name, key: key, line: line)
        nearCache.completeCacheFill(fill, decoded: nil)
        switch fill.state {
        case .hit: return EntryRead(generation: fill.generation, state: .hit, payload: fill.payload)
        case .corrupt:
            noteRemovedCorruptEntry(keys.cacheEntry(directory: directory.name, line: line, key: key))
            return EntryRead(generation: fill.generation, state: .corrupt, payload: nil)
        default: return EntryRead(generation: fill.generation, state: .miss, payload: nil)
        }
    }

    @discardableResult
    func store(
        _ bytes: [UInt8], key: String, directory: CacheDirectory, line: LineID, ttl: Duration?,
        expectedGeneration: Int64?
    ) async throws(ConnectorStatusError) -> Bool {
        let entry = keys.cacheEntry(directory: directory.name, line: line, key: key)
        let lifetime = jittered(ttl ?? directory.defaultTTL)
        let reply: RedisValue
        // Reads see this process's writes: the near cache forgets the entry when the script returns.
        defer { nearCache?.noteLocalCacheWrite(line: line, directory: directory.name, key: key) }
        do {
            reply = try await redis.run(
                LineCacheScripts.set,
                keys: [
                    keys.cacheGeneration(directory: directory.name, line: line), entry,
                    keys.cacheIndex(directory: directory.name, line: line), keys.versionFloors(line),
                    keys.lineSequence(line), keys.lineEpoch(line),
                ],
                arguments: [
                    expectedGeneration.map { String($0) } ?? "", bytes, lifetime.expiryMilliseconds, line.rawValue,
                    Self.nowMilliseconds(), keys.eventChannel(line), KeySpace.encodeName(directory.name),
                    KeySpace.encodeName(key), EpochToken().text,
                ])
        } catch {
            throw ConnectorStatusError.wrap(error, key: entry)
        }
        guard let stored = reply.array?.first?.int else { throw .unexpectedReply("cache_set returned \(reply)") }
        if stored != 1 {
            metrics.staleWritesRefused.increment()
            logger.debug(
                "line-cache write refused: the directory was cleaned after the writer read it",
                metadata: ["key": "\(entry)"])
        }
        return stored == 1
    }

    /// The cross-instance half of get-or-compute: read; on a miss take the lease and compute,
    /// or wait for the holder. Sets `line_cache.outcome` on `span`: `hit`, `miss` (computed
    /// under the lease), `stale` (the previous value while another instance computes),
    /// `lease_timeout` (computed after waiting for the holder in vain), and
    /// `line_cache.lease_waited` when it waited for another instance's lease.
    func loadOrCompute(
        key: String, directory: CacheDirectory, line: LineID, ttl: Duration?, staleWhileComputing: Bool,
        span: (any Span)? = nil, compute: @Sendable () async throws -> [UInt8]
    ) async throws -> [UInt8] {
        let token = UUID().uuidString
        let deadline = ContinuousClock.now + options.leaseWait
        var waited = false
        // Hits are the common case: one MGET first (with a near cache, the read that fills it);
        // the lease script only on a miss.
        let first = try await firstRead(key: key, directory: directory, line: line)
        if first.state == .hit, let payload = first.payload {
            metrics.hits.increment()
            span?.attributes["line_cache.outcome"] = "hit"
            return payload
        }
        while true {
            let read = try await readEntry(
                key: key, directory: directory, line: line, leaseToken: token, wantStale: staleWhileComputing)
            switch read.state {
            case .hit:
                if let payload = read.payload {
                    metrics.hits.increment()
                    span?.attributes["line_cache.outcome"] = "hit"
                    return payload
                }
            case .wait:
                if !waited {
                    metrics.leaseWaits.increment()
                    waited = true
                    span?.attributes["line_cache.lease_waited"] = true
                }
                // Asked for: the previous value while another instance computes (no retry).
                if staleWhileComputing, let stale = read.payload {
                    span?.attributes["line_cache.outcome"] = "stale"
                    return stale
                }
                if ContinuousClock.now < deadline {
                    try await Task.sleep(for: options.leasePollInterval)
                    continue
                }
                // The holder is slow or gone: compute without the lease, still refusing to
                // overwrite a clean that comes meanwhile.
                logger.info("line-cache lease wait timed out; computing", metadata: ["key": "\(key)"])
                metrics.misses.increment()
                span?.attributes["line_cache.outcome"] = "lease_timeout"
                let bytes = try await compute()
                try await store(
                    bytes, key: key, directory: directory, line: line, ttl: ttl, expectedGeneration: read.generation)
                return bytes
            case .miss, .lease, .corrupt:
                break
            }
            // A miss with the lease in hand (`lease`), or a corrupt entry: compute and store.
            metrics.misses.increment()
            span?.attributes["line_cache.outcome"] = "miss"
            do {
                let bytes = try await compute()
                try await store(
                    bytes, key: key, directory: directory, line: line, ttl: ttl, expectedGeneration: read.generation)
                await releaseLease(key: key, directory: directory, line: line, token: token)
                return bytes
            } catch {
                await releaseLease(key: key, directory: directory, line: line, token: token)
                throw error
            }
        }
    }

    func releaseLease(key: String, directory: CacheDirectory, line: LineID, token: String) async {
        let lease = keys.cacheLease(directory: directory.name, line: line, key: key)
        do {
            try await redis.run(LineCacheScripts.releaseLease, keys: [lease], arguments: [token])
        } catch {
            // The lease expires by itself; losing it early only lets another caller compute.
            logger.debug("could not release a line-cache lease", metadata: ["key": "\(lease)", "error": "\(error)"])
        }
    }

    func encode<Value: Encodable>(_ value: Value) throws(ConnectorStatusError) -> [UInt8] {
        let bytes: [UInt8]
        do {
            bytes = try coder.encode(value)
        } catch {
            throw .encodingFailed(String(describing: error))
        }
        if bytes.count > options.maxValueBytes {
            throw .valueTooLarge(size: bytes.count, limit: options.maxValueBytes)
        }
        return bytes
    }

    /// Decodes a payload; `nil` (and a warning) when it is not a `Value`.
    func decode<Value: Decodable>(
        _ type: Value.Type, _ bytes: [UInt8], key: String, directory: CacheDirectory, line: LineID
    ) -> Value? {
        do {
            return try coder.decode(type, from: bytes)
        } catch {
            metrics.corrupt.increment()
            logger.warning(
                "line-cache entry does not decode; treating it as a miss",
                metadata: [
                    "directory": "\(directory)", "line": "\(line)", "key": "\(key)", "type": "\(Value.self)",
                    "bytes": "\(bytes.count)",
                ])
            return nil
        }
    }

    /// One `SCAN` step (over every master of a cluster, see ``RedisCommandClient/scan(cursor:matching:count:type:)``).
    func scan(cursor: String, pattern: String, type: String?) async throws(ConnectorStatusError) -> (String, [String]) {
        do {
            let page = try await redis.scan(
                cursor: cursor, matching: pattern, count: options.reclaimScanCount, type: type)
            return (page.cursor, page.keys)
        } catch {
            throw ConnectorStatusError.wrap(error, key: pattern)
        }
    }

    /// `EVALSHA cache_clean` on one line (new generation, announced on the line's channel with
    /// its sequence and epoch; with `moveIndex`, the index of entry keys moves to a drain set of
    /// this clean, for the caller to walk), followed by `WAIT` when
    /// ``LineCacheOptions/cleanDurability`` asks for replicas.
    /// - Returns: the drain set's key and how many entry keys it holds.
    @discardableResult
    func cleanLine(_ directory: CacheDirectory, line: LineID, moveIndex: Bool) async throws(ConnectorStatusError) -> (
        drain: String, count: Int
    ) {
        let drainKey = keys.cacheDrain(directory: directory.name, line: line, token: UUID().uuidString)
        let input = cleanInput(directory, line: line, drain: drainKey, moveIndex: moveIndex)
        let generationKey = keys.cacheGeneration(directory: directory.name, line: line)
        let durability = options.cleanDurability
        let reply: RedisValue
        defer { nearCache?.noteLocalCacheWrite(line: line, directory: directory.name, key: nil) }
        do {
            if durability.replicas > 0 {
                let acknowledged: Int
                (reply, acknowledged) = try await redis.sendDurably(
                    LineCacheScripts.clean.command(keys: input.keys, arguments: input.arguments),
                    replicas: durability.replicas, timeout: durability.timeout)
                if acknowledged < durability.replicas {
                    throw ConnectorStatusError.notReplicated(acknowledged: acknowledged, required: durability.replicas)
                }
            } else {
                // `run` loads the script where the server answers NOSCRIPT.
                reply = try await redis.run(LineCacheScripts.clean, keys: input.keys, arguments: input.arguments)
            }
        } catch {
            throw ConnectorStatusError.wrap(error, key: generationKey)
        }
        guard let parts = reply.array, parts.count == 3, parts[0].int != nil, let count = parts[1].int else {
            throw .unexpectedReply("cache_clean returned \(reply)")
        }
        return (drainKey, Int(count))
    }

    /// The `EVALSHA cache_clean` command of one line; `drain` is a fresh drain key (see
    /// ``KeySpace/cacheDrain(directory:line:token:)``), filled only with `moveIndex`.
    func cleanCommand(_ directory: CacheDirectory, line: LineID, drain: String, moveIndex: Bool) -> RedisCommand {
        let input = cleanInput(directory, line: line, drain: drain, moveIndex: moveIndex)
        return LineCacheScripts.clean.command(keys: input.keys, arguments: input.arguments)
    }

    /// The keys and arguments of `cache_clean` on one line, with a fresh epoch token (one per
    /// call: a NOSCRIPT retry of the same call reuses it).
    func cleanInput(_ directory: CacheDirectory, line: LineID, drain: String, moveIndex: Bool) -> (
        keys: [any RedisArgumentConvertible], arguments: [any RedisArgumentConvertible]
    ) {
        (
            keys: [
                keys.cacheGeneration(directory: directory.name, line: line),
                keys.cacheIndex(directory: directory.name, line: line), drain, keys.versionFloors(line),
                keys.lineSequence(line), keys.lineEpoch(line),
            ],
            arguments: [
                moveIndex ? "1" : "0", line.rawValue, Self.nowMilliseconds(), keys.eventChannel(line),
                KeySpace.encodeName(directory.name), EpochToken().text,
            ]
        )
    }

    /// The wall clock in unix milliseconds, for an event's `ts`.
    static func nowMilliseconds() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Walks one clean's drain set in batches of ``LineCacheOptions/freeBatchSize``: `SSCAN`,
    /// then `EVALSHA cache_reclaim` on those keys (unlinks those not of the current generation),
    /// pausing ``LineCacheOptions/reclaimPause`` between batches; then `UNLINK`s the drain set.
    /// The set is not changed while it is walked (so `SSCAN` stays cheap and sees every member);
    /// an interrupted walk leaves it to its TTL.
    /// - Returns: how many entries were unlinked.
    func drain(_ directory: CacheDirectory, line: LineID, drainKey: String) async throws(ConnectorStatusError) -> Int {
        let generationKey = keys.cacheGeneration(directory: directory.name, line: line)
        let entryPrefix = keys.cacheEntry(directory: directory.name, line: line, key: "")
        var reclaimed = 0
        var cursor = "0"
        repeat {
            let page = try await send(
                RedisCommand("SSCAN", drainKey, cursor, "COUNT", options.freeBatchSize), key: drainKey)
            guard let parts = page.array, parts.count == 2, let next = parts[0].string else {
                throw .unexpectedReply("SSCAN returned \(page)")
            }
            cursor = next
            // Only this directory's entries of this line (one slot); anything else is ignored.
            let entries = (parts[1].array ?? []).compactMap(\.string).filter { $0.hasPrefix(entryPrefix) }
            if !entries.isEmpty {
                do {
                    let reply = try await redis.run(
                        LineCacheScripts.reclaim,
                        keys: [generationKey] + entries.map { $0 as any RedisArgumentConvertible })
                    reclaimed += Int(reply.int ?? 0)
                } catch {
                    throw ConnectorStatusError.wrap(error, key: drainKey)
                }
            }
            if cursor != "0" && options.reclaimPause > .zero { try? await Task.sleep(for: options.reclaimPause) }
        } while cursor != "0"
        _ = try await send(RedisCommand("UNLINK", drainKey), key: drainKey)
        metrics.reclaimed.increment(by: reclaimed)
        return reclaimed
    }

    func send(_ command: RedisCommand, key: String) async throws(ConnectorStatusError) -> RedisValue {
        do {
            return try await redis.send(command)
        } catch {
            throw ConnectorStatusError.wrap(error, key: key)
        }
    }

    func jittered(_ ttl: Duration) -> Duration {
        guard options.ttlJitter > 0 else { return ttl }
        let factor = Double.random(in: (1 - options.ttlJitter)...(1 + options.ttlJitter))
        return max(.milliseconds(1), ttl * factor)
    }
}
