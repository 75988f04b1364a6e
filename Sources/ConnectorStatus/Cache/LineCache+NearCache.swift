import CoreMetrics
import Logging

/// Reads of ``LineCache`` answered by its ``LineCache/nearCache``.
extension LineCache {
    /// The answer the near cache holds for `key` when its line is proven fresh: the value (decoded
    /// by the fill, or decoded now when another type was asked), or a known miss; `nil` when the
    /// near cache has no answer (then ask Redis).
    ///
    /// With `countingMisses` `false` a known miss is not counted (the caller goes on to Redis and
    /// counts the outcome there).
    func nearLookup<Value: Decodable & Sendable>(
        _ type: Value.Type, key: String, directory: CacheDirectory, line: LineID, countingMisses: Bool = true
    ) -> CacheLookup<Value>? {
        guard let nearCache,
            let entry = nearCache.cachedEntry(
                line: line, directory: KeySpace.encodeName(directory.name), key: KeySpace.encodeName(key))
        else { return nil }
        // A known miss first: `nil as? Value` succeeds when `Value` is itself an optional.
        guard let payload = entry.payload else {
            count(found: false, countingMisses: countingMisses)
            return CacheLookup(value: nil, generation: entry.generation)
        }
        if let value = entry.decoded as? Value {
            count(found: true)
            return CacheLookup(value: value, generation: entry.generation)
        }
        // Cached for another type: decode for this one (a miss when it is not one).
        let value = decode(type, payload, key: key, directory: directory, line: line)
        count(found: value != nil, countingMisses: countingMisses)
        return CacheLookup(value: value, generation: entry.generation)
    }

    /// Reads `key` from Redis with its line's position (`EVALSHA near_cache_get`) and caches the
    /// answer in the near cache when that is safe.
    func nearFill<Value: Decodable & Sendable>(
        _ type: Value.Type, key: String, directory: CacheDirectory, line: LineID, countingMisses: Bool = true
    ) async throws(ConnectorStatusError) -> CacheLookup<Value> {
        guard let nearCache else {
            return try await lookup(type, key: key, in: directory, line: line, consistency: .strict)
        }
        let fill = try await nearCache.readCacheEntry(directoryName: directory.name, key: key, line: line)
        if fill.state == .corrupt {
            noteRemovedCorruptEntry(keys.cacheEntry(directory: directory.name, line: line, key: key))
        }
        guard fill.state == .hit, let payload = fill.payload else {
            nearCache.completeCacheFill(fill, decoded: nil)
            count(found: false, countingMisses: countingMisses)
            return CacheLookup(value: nil, generation: fill.generation)
        }
        let value = decode(type, payload, key: key, directory: directory, line: line)
        nearCache.completeCacheFill(fill, decoded: value)
        count(found: value != nil, countingMisses: countingMisses)
        return CacheLookup(value: value, generation: fill.generation)
    }
}
