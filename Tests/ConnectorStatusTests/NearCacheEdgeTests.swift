import ConnectorStatus
import Foundation
import Logging
import RedisClient
import Testing

/// Edges of line-cache entries in the near cache, found by the review of issue 14's line-cache
/// work (`/work/notes/review-14-linecache.md`); each failed before its fix.
extension NearCacheTests {
    /// A near-cached miss read as an Optional type must stay a miss: `value` computes, `lookup`
    /// answers what Redis answers.
    @Test func aCachedMissReadAsAnOptionalTypeIsAMiss() async throws {
        try await NearCacheTests.withWriterAndReader { _, reader in
            let line = try line(61)
            let directory = CacheDirectory.component
            let cache = reader.lineCache
            #expect(await eventually(timeout: .seconds(30)) { reader.near.state.subscribed })
            let warmed = try await eventually(timeout: .seconds(30)) {
                let before = reader.near.state.hits
                _ = try await cache.get(Int.self, key: "absent", in: directory, line: line)
                return reader.near.state.hits > before
            }
            #expect(warmed)
            let strict = try await cache.lookup(
                Int?.self, key: "absent", in: directory, line: line, consistency: .strict)
            let bounded = try await cache.lookup(Int?.self, key: "absent", in: directory, line: line)
            #expect(strict.value == nil, "Redis: a miss")
            #expect(bounded.value == nil, "near cache: \(String(describing: bounded.value)) instead of a miss")
            let computed: Int? = try await cache.value(key: "absent", in: directory, line: line) { 42 }
            #expect(computed == 42, "value<Int?> on a near-cached miss must compute")
        }
    }

    /// `value` alone (the load test's only cache read) on a proven line: its hits should come from
    /// memory, as the README says ("the hits of `value`").
    @Test func valueAloneIsServedFromMemory() async throws {
        try await NearCacheTests.withWriterAndReader { writer, reader in
            let line = try line(62)
            let bot = try connector("bot")
            try await writer.store.update(bot, line: line, .bringUp)
            #expect(try await reader.warm(bot, line: line))
            let directory = CacheDirectory.component
            _ = try await reader.lineCache.value(key: "k", in: directory, line: line) { 1 }
            var servedFromMemory = false
            for _ in 0..<50 {
                let before = reader.near.state.hits
                _ = try await reader.lineCache.value(key: "k", in: directory, line: line) { 2 }
                if reader.near.state.hits > before {
                    servedFromMemory = true
                    break
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(servedFromMemory, "value() alone never fills the near cache")
        }
    }

    /// One large (allowed) entry should not cost the line its statuses and its proof.
    @Test func aLargeEntryDoesNotDropItsLine() async throws {
        try await NearCacheTests.withWriterAndReader { writer, reader in
            let line = try line(63)
            let bot = try connector("bot")
            try await writer.store.update(bot, line: line, .bringUp)
            #expect(try await reader.warm(bot, line: line))
            let big = String(repeating: "x", count: 600_000)
            try await LineCache(redis: writer.pool, keys: writer.keys, logger: Logger(label: "test")).set(
                big, key: "big", in: .component, line: line)
            try await Task.sleep(for: .milliseconds(300))
            #expect(try await reader.warm(bot, line: line))
            _ = try await reader.lineCache.get(String.self, key: "big", in: .component, line: line)
            let before = reader.near.state.hits
            _ = try await reader.store.isReady(bot, line: line)
            #expect(reader.near.state.hits > before, "the status's line was dropped by the large entry's fill")
        }
    }
}

extension NearCacheTests {
    /// A key of another type at each key a near-cached line-cache read touches: a typed error or a
    /// miss, never a trap, and nothing of the bad key is served from memory.
    @Test func keysOfAnotherTypeUnderANearCachedReadAreAnErrorOrAMiss() async throws {
        try await Self.withWriterAndReader { writer, reader in
            let line = try line(64)
            let directory = CacheDirectory.component
            let bot = try connector("bot")
            try await writer.store.update(bot, line: line, .bringUp)
            #expect(try await reader.warm(bot, line: line))
            let cache = reader.lineCache
            // The entry holds a hash: a miss, or (when the read must first make the generation,
            // whose checks look at the entry) the typed error naming it; twice the same.
            let entry = writer.keys.cacheEntry(directory: directory.name, line: line, key: "h")
            try await writer.pool.send("HSET", entry, "f", "v")
            for _ in 0..<2 {
                do {
                    #expect(try await cache.get(String.self, key: "h", in: directory, line: line) == nil)
                } catch let error as ConnectorStatusError {
                    guard case .wrongType(let key, _) = error else { throw error }
                    #expect(key == entry)
                }
            }
            // The generation holds a list, then text that is not a generation: typed errors.
            let generation = writer.keys.cacheGeneration(directory: "/bad/", line: line)
            try await writer.pool.send("RPUSH", generation, "x")
            await #expect(throws: ConnectorStatusError.self) {
                try await cache.get(
                    String.self, key: "k", in: CacheDirectory(name: "/bad/", defaultTTL: .seconds(60)), line: line)
            }
            try await writer.pool.send("DEL", generation)
            try await writer.pool.send("SET", generation, "not-a-number")
            await #expect(throws: ConnectorStatusError.self) {
                try await cache.get(
                    String.self, key: "k", in: CacheDirectory(name: "/bad/", defaultTTL: .seconds(60)), line: line)
            }
            // The line's sequence holds a set: the read still answers (from Redis), and the
            // near cache proves nothing from it.
            let other = try LineID(65)
            try await writer.pool.send("SADD", writer.keys.lineSequence(other), "x")
            #expect(try await cache.get(String.self, key: "k", in: directory, line: other) == nil)
            #expect(try await reader.store.status(bot, line: other) == nil)
        }
    }
}
