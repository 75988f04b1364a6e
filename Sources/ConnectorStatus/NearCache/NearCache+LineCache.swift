import CoreMetrics
import RedisClient

/// Line-cache entries in the near cache (for ``LineCache``): hits, fills and this process's writes.
///
/// An entry is kept with the directory's generation it was read under (or the knowledge that there
/// was no entry of that generation) and its time to live in Redis. Every change that can make it
/// wrong is an event on its line — `cache_set`, `cache_remove` and `cache_clean` (of one line or
/// across lines) announce themselves, and a status write that cleans the connector-info directory
/// says so in its event — so the chain rule and the barrier prove entries exactly as they prove
/// statuses. An entry is never served past its TTL.
extension NearCache {
    /// What a line-cache fill read: the entry with its line's position, and the claim on the line
    /// taken before the read began.
    struct CacheFill {
        var ticket: NearCacheLines.FillTicket
        var name: NearEntryKey
        /// The position the read saw; `nil` when it cannot prove anything (a key of another type).
        var link: ChainLink?
        var generation: Int64
        /// `.hit`, `.miss` or `.corrupt`, as `near_cache_get.lua` answers.
        var state: LineCache.EntryRead.State
        var payload: [UInt8]?
        /// The entry's time to live in Redis when read, milliseconds; negative: none.
        var timeToLiveMilliseconds: Int64
        /// Coarse time when the read began (the TTL counts from here, never later).
        var startedAt: UInt64
    }

    /// The cached entry `key` of `directory` (both as ``KeySpace/encodeName(_:)`` spells them) when
    /// its line is proven fresh and the entry has not expired; `nil` on a miss.
    func cachedEntry(line: LineID, directory: String, key: String) -> NearEntry? {
        lines.cacheEntry(
            line: line.rawValue, name: NearEntryKey(directory: directory, key: key), now: CoarseClock.now())
    }

    /// Reads one line-cache entry from Redis with its line's position (the caller decodes it, then
    /// hands it to ``completeCacheFill(_:decoded:)``).
    ///
    /// Sends `EVALSHA near_cache_get`.
    /// - Throws: ``ConnectorStatusError/wrongType(key:message:)`` when a key of the entry's
    ///   directory holds another type; Redis failures.
    func readCacheEntry(directoryName: String, key: String, line: LineID) async throws(ConnectorStatusError)
        -> CacheFill
    {
        let startedAt = CoarseClock.now()
        let ticket = lines.beginFill(line: line.rawValue, now: startedAt)
        let entry = keys.cacheEntry(directory: directoryName, line: line, key: key)
        let reply: RedisValue
        do {
            reply = try await redis.run(
                NearCacheScripts.cacheGet,
                keys: [
                    keys.cacheGeneration(directory: directoryName, line: line), entry, keys.versionFloors(line),
                    keys.lineSequence(line), keys.lineEpoch(line),
                ],
                arguments: [])
        } catch {
            throw ConnectorStatusError.wrap(error, key: entry)
        }
        guard let parts = reply.array, parts.count == 6, let generation = parts[0].int,
            let state = parts[1].string.flatMap(LineCache.EntryRead.State.init(rawValue:)),
            let sequence = parts[3].string, let epoch = parts[4].string, let timeToLive = parts[5].int
        else { throw .unexpectedReply("near_cache_get returned \(reply)") }
        return CacheFill(
            ticket: ticket,
            name: NearEntryKey(directory: KeySpace.encodeName(directoryName), key: KeySpace.encodeName(key)),
            link: Self.link(sequence: sequence, epoch: epoch), generation: generation, state: state,
            payload: state == .hit ? parts[2].bytes : nil, timeToLiveMilliseconds: timeToLive, startedAt: startedAt)
    }

    /// Caches what ``readCacheEntry(directoryName:key:line:)`` read when that is still safe: a hit
    /// (with its decoded value when the caller decoded it: later hits of that type take it as is,
    /// others decode the bytes), or a miss.
    func completeCacheFill(_ fill: CacheFill, decoded: (any Sendable)?) {
        let expiresAt: UInt64
        switch fill.state {
        case .hit:
            guard fill.payload != nil else { return }
            // PTTL is whole milliseconds (up to 1 ms more than is left) and the coarse clock lags
            // by up to its resolution: both are taken off, so Redis always expires it first.
            let margin = CoarseClock.resolution + 1_000_000
            let lifetime = UInt64(max(0, fill.timeToLiveMilliseconds)) &* 1_000_000
            expiresAt =
                fill.timeToLiveMilliseconds < 0
                ? .max : (lifetime > margin ? fill.startedAt &+ (lifetime - margin) : fill.startedAt)
        case .miss:
            expiresAt = .max
        default:
            return
        }
        let bytes = 160 + fill.name.directory.utf8.count + fill.name.key.utf8.count + 2 * (fill.payload?.count ?? 0)
        let entry = NearEntry(
            generation: fill.generation, payload: fill.payload, decoded: decoded, expiresAt: expiresAt, sequence: 0,
            bytes: bytes)
        switch lines.completeCacheFill(fill.ticket, name: fill.name, link: fill.link, entry: entry) {
        case .cached: metrics.fillsCached.increment()
        case .doubted(let reason): note(reason)
        default: metrics.fillsRefused.increment()
        }
    }

    /// This process wrote the entry `key` of `directory` (raw names) on `line`; with `key` `nil`,
    /// cleaned the directory on the line; with `line` `nil`, on every line.
    func noteLocalCacheWrite(line: LineID?, directory: String, key: String?) {
        lines.noteLocalCacheWrite(
            line: line?.rawValue, directory: KeySpace.encodeName(directory), key: key.map(KeySpace.encodeName))
    }
}
