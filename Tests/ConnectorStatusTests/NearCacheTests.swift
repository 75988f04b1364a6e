import ConnectorStatus
import Foundation
import Logging
import RedisClient
import Testing

/// The near cache against a real Redis (one server, the cluster or Sentinel, whichever the run
/// points at): another instance's writes are seen within the bound, a process sees its own writes
/// at once, and a lost subscription, a lost or replaced line position, or a cache that is not
/// running never serve an old value.
@Suite("Near cache", .timeLimit(.minutes(3)))
struct NearCacheTests {
    /// A reader instance: its own client (named, so its subscription can be found and killed), a
    /// running near cache and a store that uses it.
    struct Reader {
        let pool: any RedisCommandClient
        let near: NearCache
        let store: StatusStore
        let lineCache: LineCache
        let task: Task<Void, Never>
        let name: String

        /// The tests' bounds: a barrier every 100 ms, proofs valid for 3 s. The default 300 ms is
        /// shorter than a barrier's round trip in a ThreadSanitizer process beside every other
        /// suite, where nothing would ever be proven (correctly: reads then go to Redis).
        static let testOptions = NearCacheOptions(maxStaleness: .seconds(3))

        init(keys: KeySpace, options: NearCacheOptions = Reader.testOptions, url: String? = nil) throws {
            name = "nc-" + UUID().uuidString.prefix(8).lowercased()
            let name = name
            pool = try RedisDeployment(url: url ?? StatusTestRedis.url).withConfiguration {
                $0.poolSize = 2
                $0.clientName = name
            }.makeClient()
            near = try NearCache(redis: pool, keys: keys, options: options, logger: Logger(label: "test.near"))
            store = StatusStore(redis: pool, keys: keys, nearCache: near, logger: Logger(label: "test"))
            lineCache = LineCache(redis: pool, keys: keys, nearCache: near, logger: Logger(label: "test"))
            let near = near
            task = Task { await near.run() }
        }

        /// Waits until the cache is subscribed, then reads `pair` until the read is a hit.
        func warm(_ connector: ConnectorID, line: LineID) async throws -> Bool {
            #expect(await eventually(timeout: .seconds(30)) { near.state.subscribed })
            return try await eventually(timeout: .seconds(30)) {
                let before = near.state.hits
                _ = try await store.isReady(connector, line: line)
                return near.state.hits > before
            }
        }

        func close() async {
            near.close()
            task.cancel()
            await task.value
            await pool.close()
        }
    }

    @Test func anotherInstancesWriteIsSeenWithinTheBoundAndNeverOlderAfterIt() async throws {
        try await Self.withWriterAndReader { writer, reader in
            let telegram = try connector("telegram")
            let line = try line(31)
            try await writer.store.update(telegram, line: line, .bringUp)
            #expect(try await reader.warm(telegram, line: line))
            #expect(try await reader.store.isReady(telegram, line: line) == true)

            try await writer.store.update(telegram, line: line, StatusChange(error: true))
            let acknowledged = ContinuousClock.now
            var sawNew = false
            while ContinuousClock.now < acknowledged + .seconds(5) {
                if try await reader.store.isReady(telegram, line: line) == false {
                    sawNew = true
                    break
                }
            }
            #expect(sawNew)
            // After the bound, every read is the new value (from memory or from Redis).
            let bound = acknowledged + reader.near.options.maxStaleness
            if ContinuousClock.now < bound { try await Task.sleep(until: bound) }
            for _ in 0..<2_000 {
                #expect(try await reader.store.isReady(telegram, line: line) == false)
            }
            #expect(reader.near.state.hits > 0)
        }
    }

    @Test func aProcessReadsItsOwnWritesAtOnce() async throws {
        try await Self.withWriterAndReader { _, reader in
            let viber = try connector("viber")
            let line = try line(32)
            try await reader.store.update(viber, line: line, .bringUp)
            #expect(try await reader.warm(viber, line: line))
            for round in 0..<20 {
                let broken = round % 2 == 0
                try await reader.store.update(viber, line: line, StatusChange(error: broken))
                #expect(try await reader.store.isReady(viber, line: line) == !broken)
                #expect(try await reader.store.status(viber, line: line)?.error == broken)
            }
            try await reader.store.delete(viber, line: line)
            #expect(try await reader.store.status(viber, line: line) == nil)
            #expect(try await reader.store.isReady(viber, line: line) == false)
        }
    }

    @Test func strictReadsAlwaysAskRedis() async throws {
        try await Self.withWriterAndReader { writer, reader in
            let bot = try connector("bot")
            let line = try line(33)
            try await writer.store.update(bot, line: line, .bringUp)
            #expect(try await reader.warm(bot, line: line))
            // An edit made outside the library publishes nothing: a bounded read may keep the cached
            // value (the README's stated exception); a strict read sees Redis.
            try await writer.pool.send("HSET", writer.keys.status(bot, line: line), "ERROR", "Y")
            let hits = reader.near.state.hits
            #expect(try await reader.store.isReady(bot, line: line, consistency: .strict) == false)
            #expect(try await reader.store.status(bot, line: line, consistency: .strict)?.error == true)
            #expect(reader.near.state.hits == hits)
        }
    }

    @Test func aKilledSubscriptionDropsEverythingBeforeAWriteCanBeMissed() async throws {
        try await Self.withWriterAndReader { writer, reader in
            let telegram = try connector("telegram")
            let line = try line(34)
            try await writer.store.update(telegram, line: line, .bringUp)
            #expect(try await reader.warm(telegram, line: line))
            // Kill the reader's subscription connection(s) and write at once, racing the resubscribe.
            let killed = try await Self.killSubscriptions(named: reader.name, via: writer.pool)
            #expect(killed > 0)
            try await writer.store.update(telegram, line: line, StatusChange(error: true))
            let acknowledged = ContinuousClock.now
            let bound = acknowledged + reader.near.options.maxStaleness
            if ContinuousClock.now < bound { try await Task.sleep(until: bound) }
            for _ in 0..<500 {
                #expect(try await reader.store.isReady(telegram, line: line) == false)
            }
            #expect(
                await eventually(timeout: .seconds(30)) { reader.near.state.resyncs["disconnected", default: 0] > 0 })
            // And it serves from memory again afterwards.
            #expect(try await reader.warm(telegram, line: line))
        }
    }

    @Test func aLostOrReplacedLinePositionStopsServingWithinOneBarrier() async throws {
        try await Self.withWriterAndReader { writer, reader in
            let telegram = try connector("telegram")
            let line = try line(35)
            try await writer.store.update(telegram, line: line, .bringUp)
            #expect(try await reader.warm(telegram, line: line))
            // What a promoted replica that missed the last writes would hold: another status, another
            // position, and no event about it.
            try await Self.outOfBand(
                writer,
                [
                    RedisCommand("HSET", writer.keys.status(telegram, line: line), "ERROR", "Y"),
                    RedisCommand("SET", writer.keys.lineEpoch(line), "00000000deadbeef"),
                ])
            let changed = ContinuousClock.now
            let bound = changed + reader.near.options.maxStaleness
            if ContinuousClock.now < bound { try await Task.sleep(until: bound) }
            for _ in 0..<500 {
                #expect(try await reader.store.isReady(telegram, line: line) == false)
            }
            #expect(reader.near.state.resyncs["barrier_mismatch", default: 0] > 0)
            // A lost sequence key: the same.
            try await writer.store.update(telegram, line: line, StatusChange(error: false))
            #expect(try await reader.warm(telegram, line: line))
            try await Self.outOfBand(
                writer,
                [
                    RedisCommand("HSET", writer.keys.status(telegram, line: line), "ACTIVE", "N"),
                    RedisCommand("DEL", writer.keys.lineSequence(line)),
                ])
            try await Task.sleep(for: reader.near.options.maxStaleness)
            #expect(try await reader.store.isReady(telegram, line: line) == false)
        }
    }

    // MARK: Line-cache entries

    @Test func anotherInstancesCacheWritesAndCleansAreSeenWithinTheBound() async throws {
        try await Self.withWriterAndReader { writer, reader in
            let line = try line(37)
            let directory = CacheDirectory.infoConnectorsLine
            let writerCache = LineCache(redis: writer.pool, keys: writer.keys, logger: Logger(label: "test"))
            let readerCache = reader.lineCache
            try await writerCache.set("v1", key: "info", in: directory, line: line)
            #expect(await eventually(timeout: .seconds(30)) { reader.near.state.subscribed })
            let warmed = try await eventually(timeout: .seconds(30)) {
                let before = reader.near.state.hits
                let value = try await readerCache.get(String.self, key: "info", in: directory, line: line)
                return value == "v1" && reader.near.state.hits > before
            }
            #expect(warmed)

            /// After each change, every read that begins after the bound sees it.
            func expectAfterTheBound(_ expected: String?, _ change: String) async throws {
                let bound = ContinuousClock.now + reader.near.options.maxStaleness
                try await Task.sleep(until: bound)
                for _ in 0..<200 {
                    let value = try await readerCache.get(String.self, key: "info", in: directory, line: line)
                    #expect(value == expected, "after \(change)")
                }
            }
            try await writerCache.set("v2", key: "info", in: directory, line: line)
            try await expectAfterTheBound("v2", "a set")
            try await writerCache.remove(key: "info", in: directory, line: line)
            try await expectAfterTheBound(nil, "a remove")
            try await writerCache.set("v3", key: "info", in: directory, line: line)
            try await expectAfterTheBound("v3", "another set")
            try await writerCache.clean(directory, line: line)
            try await expectAfterTheBound(nil, "a clean of the line")
            try await writerCache.set("v4", key: "info", in: directory, line: line)
            try await expectAfterTheBound("v4", "a set after the clean")
            try await writerCache.clean(directory)
            try await expectAfterTheBound(nil, "a clean across lines")
            try await writerCache.set("v5", key: "info", in: directory, line: line)
            try await expectAfterTheBound("v5", "a set after the clean across lines")
            // A status write cleans the line's connector-info directory: announced in its event.
            try await writer.store.update(try connector("bot"), line: line, .bringUp)
            try await expectAfterTheBound(nil, "a status write")
            #expect(reader.near.state.hits > 200)
        }
    }

    @Test func aProcessReadsItsOwnCacheWritesAtOnce() async throws {
        try await Self.withWriterAndReader { _, reader in
            let line = try line(38)
            let directory = CacheDirectory.component
            let cache = reader.lineCache
            try await cache.set(0, key: "n", in: directory, line: line)
            #expect(await eventually(timeout: .seconds(30)) { reader.near.state.subscribed })
            let warmed = try await eventually(timeout: .seconds(30)) {
                let before = reader.near.state.hits
                _ = try await cache.get(Int.self, key: "n", in: directory, line: line)
                return reader.near.state.hits > before
            }
            #expect(warmed)
            for round in 1...10 {
                try await cache.set(round, key: "n", in: directory, line: line)
                #expect(try await cache.get(Int.self, key: "n", in: directory, line: line) == round)
                let computed = try await cache.value(key: "n", in: directory, line: line) { -1 }
                #expect(computed == round)
            }
            try await cache.remove(key: "n", in: directory, line: line)
            #expect(try await cache.get(Int.self, key: "n", in: directory, line: line) == nil)
            try await cache.set(11, key: "n", in: directory, line: line)
            #expect(try await cache.get(Int.self, key: "n", in: directory, line: line) == 11)
            try await cache.clean(directory, line: line)
            #expect(try await cache.get(Int.self, key: "n", in: directory, line: line) == nil)
            try await cache.set(12, key: "n", in: directory, line: line)
            #expect(try await cache.get(Int.self, key: "n", in: directory, line: line) == 12)
            try await cache.clean(directory)
            #expect(try await cache.get(Int.self, key: "n", in: directory, line: line) == nil)
            // The same entry read as another type is decoded again (a miss when it is not one).
            try await cache.set(13, key: "n", in: directory, line: line)
            #expect(try await cache.get(Int.self, key: "n", in: directory, line: line) == 13)
            #expect(try await cache.get(Double.self, key: "n", in: directory, line: line) == 13.0)
            #expect(try await cache.get([String].self, key: "n", in: directory, line: line) == nil)
            // A status write of this process cleans the connector-info directory at once.
            try await cache.set("info", key: "i", in: .infoConnectorsLine, line: line)
            #expect(try await cache.get(String.self, key: "i", in: .infoConnectorsLine, line: line) == "info")
            try await reader.store.update(try connector("bot"), line: line, .bringUp)
            #expect(try await cache.get(String.self, key: "i", in: .infoConnectorsLine, line: line) == nil)
        }
    }

    @Test func aNearCachedEntryIsNeverServedPastItsTimeToLive() async throws {
        try await Self.withWriterAndReader { writer, reader in
            let line = try line(39)
            let directory = CacheDirectory(name: "/short/", defaultTTL: .seconds(4))
            let writerCache = LineCache(
                redis: writer.pool, keys: writer.keys, options: LineCacheOptions(ttlJitter: 0),
                logger: Logger(label: "test"))
            // The line proven first (a status read until it hits; up to 30 s in a loaded TSan run),
            // so the entry is served from memory as soon as it is read once.
            let bot = try connector("bot")
            try await writer.store.update(bot, line: line, .bringUp)
            #expect(try await reader.warm(bot, line: line))
            try await writerCache.set("brief", key: "k", in: directory, line: line)
            let written = ContinuousClock.now
            var hits = 0
            while ContinuousClock.now < written + .seconds(3), hits < 100 {
                let before = reader.near.state.hits
                _ = try await reader.lineCache.get(String.self, key: "k", in: directory, line: line)
                if reader.near.state.hits > before { hits += 1 }
            }
            #expect(hits > 0)  // served from memory before it expired
            // Expired in Redis without any event: the copy in memory goes with it.
            try await Task.sleep(until: written + .milliseconds(4_100))
            for _ in 0..<200 {
                #expect(try await reader.lineCache.get(String.self, key: "k", in: directory, line: line) == nil)
            }
        }
    }

    @Test func aCacheThatIsNotRunningServesNothing() async throws {
        let writer = try StatusFixture()
        let near = try NearCache(redis: writer.pool, keys: writer.keys, logger: Logger(label: "test.near"))
        let store = StatusStore(redis: writer.pool, keys: writer.keys, nearCache: near, logger: Logger(label: "test"))
        let telegram = try connector("telegram")
        let line = try line(36)
        try await writer.store.update(telegram, line: line, .bringUp)
        #expect(try await store.isReady(telegram, line: line))
        try await writer.store.update(telegram, line: line, StatusChange(error: true))
        #expect(try await store.isReady(telegram, line: line) == false)
        #expect(near.state.entries == 0)
        #expect(near.state.running == false)
        await writer.close()
    }

    @Test func theCacheStaysWithinItsEntryBound() async throws {
        try await Self.withWriterAndReader(NearCacheOptions(maxEntries: 64, maxStaleness: .seconds(3))) {
            writer, reader in
            let telegram = try connector("telegram")
            #expect(await eventually(timeout: .seconds(30)) { reader.near.state.subscribed })
            let lines = try (1...400).map { try LineID(Int64(1_000 + $0)) }
            for line in lines { try await writer.store.update(telegram, line: line, .bringUp) }
            for line in lines { #expect(try await reader.store.isReady(telegram, line: line)) }
            let state = reader.near.state
            #expect(state.entries <= 64)
            #expect(state.entries > 0)
        }
    }

    @Test func invalidOptionsAreRefused() async throws {
        let pool = try StatusFixture.makeClient()
        defer { Task { await pool.close() } }
        #expect(throws: ConnectorStatusError.self) {
            try NearCache(redis: pool, options: NearCacheOptions(maxEntries: 0), logger: Logger(label: "test"))
        }
        #expect(throws: ConnectorStatusError.self) {
            try NearCache(
                redis: pool, options: NearCacheOptions(maxStaleness: .milliseconds(100)), logger: Logger(label: "test"))
        }
        #expect(throws: ConnectorStatusError.self) {
            try NearCache(
                redis: pool, options: NearCacheOptions(reconcileInterval: .zero), logger: Logger(label: "test"))
        }
    }

    /// Runs `body` with a writer (a plain store) and a reader (a store with a running near cache) on
    /// one fresh namespace, and closes both whatever happens.
    static func withWriterAndReader(
        _ options: NearCacheOptions = Reader.testOptions, _ body: (StatusFixture, Reader) async throws -> Void
    ) async throws {
        let writer = try StatusFixture()
        let reader = try Reader(keys: writer.keys, options: options)
        do {
            try await body(writer, reader)
        } catch {
            await reader.close()
            await writer.close()
            throw error
        }
        await reader.close()
        await writer.close()
    }

    /// Runs `commands` in one `MULTI`/`EXEC` (an edit made outside the library, publishing
    /// nothing), retrying while a young cluster still redirects; fails the test when it cannot.
    static func outOfBand(_ writer: StatusFixture, _ commands: [RedisCommand]) async throws {
        for _ in 0..<50 {
            let results = try await writer.pool.transaction(commands)
            if results.allSatisfy({ (try? $0.get()) != nil }) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("the out-of-band edit failed 50 times")
    }

    /// `CLIENT KILL ID` of every subscribed connection named `name` on every master; how many went.
    static func killSubscriptions(named name: String, via pool: any RedisCommandClient) async throws -> Int {
        var killed = 0
        for (_, result) in await pool.sendToEveryMaster(RedisCommand("CLIENT", "LIST", "TYPE", "pubsub")) {
            guard let text = try result.get().string else { continue }
            for entry in text.split(separator: "\n") where entry.contains(" name=\(name) ") {
                guard let id = entry.split(separator: " ").first(where: { $0.hasPrefix("id=") })?.dropFirst(3) else {
                    continue
                }
                for (_, kill) in await pool.sendToEveryMaster(RedisCommand("CLIENT", "KILL", "ID", String(id))) {
                    if (try? kill.get())?.int == 1 { killed += 1 }
                }
            }
        }
        return killed
    }
}
