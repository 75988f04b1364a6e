import ConnectorStatus
import EmbeddedRedis
import Foundation
import Logging
import RedisClient
import Testing

/// The line cache against a real Redis: clean semantics, reclaim, stampede protection, bad data.
@Suite("Line cache", .timeLimit(.minutes(1)))
struct LineCacheTests {
    struct Info: Codable, Equatable, Sendable {
        var name: String
        var connectors: [String]
    }

    static let widgets = CacheDirectory(name: "/app/widgets/", defaultTTL: .seconds(60))

    func makeCache(_ fixture: StatusFixture, options: LineCacheOptions = LineCacheOptions()) -> LineCache {
        LineCache(redis: fixture.pool, keys: fixture.keys, options: options, logger: Logger(label: "test"))
    }

    @Test func setGetRemoveAndTTL() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(fixture)
        let five = try line(5)
        let info = Info(name: "line five", connectors: ["telegram"])
        #expect(try await cache.get(Info.self, key: "info", in: .infoConnectorsLine, line: five) == nil)
        #expect(try await cache.set(info, key: "info", in: .infoConnectorsLine, line: five))
        #expect(try await cache.get(Info.self, key: "info", in: .infoConnectorsLine, line: five) == info)
        // The default TTL of the directory (86,400 s ± 10%) is on the key.
        let entry = fixture.keys.cacheEntry(directory: CacheDirectory.infoConnectorsLine.name, line: five, key: "info")
        let ttl = try await fixture.pool.send("PTTL", entry).int ?? -1
        #expect(ttl > 77_000_000 && ttl <= 95_040_000)
        try await cache.set(info, key: "short", in: .infoConnectorsLine, line: five, ttl: .milliseconds(200))
        #expect(
            try await fixture.pool.send(
                "PTTL",
                fixture.keys.cacheEntry(
                    directory: CacheDirectory.infoConnectorsLine.name, line: five, key: "short")
            ).int ?? 0 <= 220)
        #expect(try await cache.remove(key: "info", in: .infoConnectorsLine, line: five))
        #expect(try await cache.get(Info.self, key: "info", in: .infoConnectorsLine, line: five) == nil)
        await fixture.close()
    }

    @Test func cleanHidesEveryEntryOfTheLineDirectoryOnly() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(fixture)
        let one = try line(1)
        let two = try line(2)
        for key in ["a", "b", "c"] {
            try await cache.set(key, key: key, in: .component, line: one)
            try await cache.set(key, key: key, in: .component, line: two)
            try await cache.set(key, key: key, in: .status, line: one)
        }
        try await cache.clean(.component, line: one)
        for key in ["a", "b", "c"] {
            #expect(try await cache.get(String.self, key: key, in: .component, line: one) == nil)
            #expect(try await cache.get(String.self, key: key, in: .component, line: two) == key)
            #expect(try await cache.get(String.self, key: key, in: .status, line: one) == key)
        }
        // Writing again after the clean works under the new generation.
        try await cache.set("new", key: "a", in: .component, line: one)
        #expect(try await cache.get(String.self, key: "a", in: .component, line: one) == "new")
        await fixture.close()
    }

    @Test func cleanAcrossAllLines() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(fixture)
        for number in 1...20 {
            try await cache.set(number, key: "n", in: Self.widgets, line: line(Int64(number)))
            try await cache.set(number, key: "n", in: .status, line: line(Int64(number)))
        }
        #expect(try await cache.clean(Self.widgets) == 20)
        for number in 1...20 {
            #expect(try await cache.get(Int.self, key: "n", in: Self.widgets, line: line(Int64(number))) == nil)
            #expect(try await cache.get(Int.self, key: "n", in: .status, line: line(Int64(number))) == number)
        }
        await fixture.close()
    }

    @Test func racingWriterThatReadBeforeACleanIsNeverSeen() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(fixture)
        let three = try line(3)
        try await cache.set("old", key: "k", in: .component, line: three)
        // The writer reads (and would compute from the state it saw)…
        let seen = try await cache.lookup(String.self, key: "k", in: .component, line: three)
        #expect(seen.value == "old")
        // …another instance cleans after a config change…
        try await cache.clean(.component, line: three)
        // …and the writer's late write is refused, so the stale value never comes back.
        let stored = try await cache.set("stale", key: "k", in: .component, line: three, ifGeneration: seen.generation)
        #expect(!stored)
        #expect(try await cache.get(String.self, key: "k", in: .component, line: three) == nil)
        // Concurrently, many times: no write started before a clean survives it.
        for round in 0..<50 {
            let before = try await cache.lookup(String.self, key: "r", in: .component, line: three)
            async let clean = cache.clean(.component, line: three)
            async let write = cache.set(
                "v\(round)", key: "r", in: .component, line: three, ifGeneration: before.generation)
            _ = try await (clean, write)
            #expect(try await cache.get(String.self, key: "r", in: .component, line: three) == nil)
        }
        await fixture.close()
    }

    @Test func statusChangesCleanTheLineConnectorInfoDirectory() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(fixture)
        let four = try line(4)
        let bot = try connector("bot")
        try await fixture.store.bringUp(bot, line: four)
        try await cache.set("cached", key: "info", in: .infoConnectorsLine, line: four)
        try await fixture.store.setData("{\"x\":1}", connector: bot, line: four)  // DATA only: kept
        #expect(try await cache.get(String.self, key: "info", in: .infoConnectorsLine, line: four) == "cached")
        try await fixture.store.setError(true, connector: bot, line: four)  // a flag: cleaned
        #expect(try await cache.get(String.self, key: "info", in: .infoConnectorsLine, line: four) == nil)
        try await cache.set("again", key: "info", in: .infoConnectorsLine, line: four)
        try await fixture.store.delete(bot, line: four)  // a delete: cleaned
        #expect(try await cache.get(String.self, key: "info", in: .infoConnectorsLine, line: four) == nil)
        await fixture.close()
    }

    @Test func getOrComputeRunsOnceForConcurrentCallers() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(fixture)
        let six = try line(6)
        let counter = Counter()
        let values = try await withThrowingTaskGroup(of: Info.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    try await cache.value(key: "expensive", in: .infoConnectorsLine, line: six) {
                        counter.increment()
                        try await Task.sleep(for: .milliseconds(100))
                        return Info(name: "computed", connectors: ["a", "b"])
                    }
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(counter.value == 1)
        #expect(values.count == 50)
        #expect(values.allSatisfy { $0 == Info(name: "computed", connectors: ["a", "b"]) })
        #expect(
            try await cache.get(Info.self, key: "expensive", in: .infoConnectorsLine, line: six)?.name == "computed")
        await fixture.close()
    }

    /// A caller cancelled while a computation runs returns at once, leader or not; the
    /// computation goes on for the caller still waiting and fills the cache.
    @Test func aCancelledCallerStopsWaitingWhileTheComputationGoesOn() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(fixture)
        let fourteen = try line(14)
        let (started, signal) = AsyncStream.makeStream(of: Void.self)
        let compute: @Sendable () async throws -> String = {
            signal.yield()
            try await Task.sleep(for: .seconds(6))
            return "computed"
        }
        let leader = Task { try await cache.value(key: "slow", in: .component, line: fourteen, compute: compute) }
        var iterator = started.makeAsyncIterator()
        _ = await iterator.next()
        let joiner = Task { try await cache.value(key: "slow", in: .component, line: fourteen, compute: compute) }
        let patient = Task { try await cache.value(key: "slow", in: .component, line: fourteen, compute: compute) }
        try await Task.sleep(for: .milliseconds(200))  // both have joined the leader's computation
        let cancelledAt = ContinuousClock.now
        leader.cancel()
        joiner.cancel()
        for task in [leader, joiner] {
            await #expect(throws: CancellationError.self) { _ = try await task.value }
        }
        // Well before the computation's 6 s end (slack for a loaded machine: 2.26 s seen in a TSan
        // pass beside every other suite).
        #expect(ContinuousClock.now - cancelledAt < .seconds(4))
        #expect(try await patient.value == "computed")
        #expect(try await cache.get(String.self, key: "slow", in: .component, line: fourteen) == "computed")
        await fixture.close()
    }

    @Test func aCallerJoiningAComputationOvertakenByACleanGetsANewValue() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(fixture)
        let thirteen = try line(13)
        // The leader's computation has certainly begun (so its read came before the clean) when
        // `started` yields; it then takes 400 ms more.
        let (started, signal) = AsyncStream.makeStream(of: Void.self)
        async let leader: String = cache.value(key: "k", in: .component, line: thirteen) {
            signal.yield()
            try await Task.sleep(for: .milliseconds(400))
            return "computed before the clean"
        }
        var iterator = started.makeAsyncIterator()
        _ = await iterator.next()
        try await cache.clean(.component, line: thirteen)  // the clean completes…
        // …so a read that starts now must not get the value the leader computed before it.
        let joiner: String = try await cache.value(key: "k", in: .component, line: thirteen) {
            "computed after the clean"
        }
        #expect(joiner == "computed after the clean")
        #expect(try await leader == "computed before the clean")  // its read began before the clean
        #expect(
            try await cache.get(String.self, key: "k", in: .component, line: thirteen) == "computed after the clean")
        await fixture.close()
    }

    @Test func failedComputationStoresNothingAndReleasesTheLease() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(fixture)
        let seven = try line(7)
        struct Boom: Error {}
        await #expect(throws: Boom.self) {
            let _: String = try await cache.value(key: "k", in: .component, line: seven) { throw Boom() }
        }
        let lease = fixture.keys.cacheLease(directory: CacheDirectory.component.name, line: seven, key: "k")
        #expect(try await fixture.pool.send("EXISTS", lease).int == 0)
        let value: String = try await cache.value(key: "k", in: .component, line: seven) { "ok" }
        #expect(value == "ok")
        await fixture.close()
    }

    @Test func staleWhileComputingGivesWaitersThePreviousValue() async throws {
        let fixture = try StatusFixture()
        // The previous generation's entries must outlive the clean to be served.
        let cache = makeCache(fixture, options: LineCacheOptions(freeOnClean: false))
        let eight = try line(8)
        try await cache.set("previous", key: "k", in: .component, line: eight)
        try await cache.clean(.component, line: eight)
        // Another instance holds the lease (simulated by taking it directly), long enough that a
        // stalled test process cannot outlive it (5 s once expired under TSan before the read).
        let lease = fixture.keys.cacheLease(directory: CacheDirectory.component.name, line: eight, key: "k")
        try await fixture.pool.send("SET", lease, "someone-else", "PX", 120_000)
        let value: String = try await cache.value(key: "k", in: .component, line: eight, staleWhileComputing: true) {
            Issue.record("must not compute while another instance holds the lease")
            return "computed"
        }
        #expect(value == "previous")
        await fixture.close()
    }

    @Test func reclaimRemovesOnlyTheCleanedNamespace() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(
            fixture, options: LineCacheOptions(reclaimScanCount: 50, reclaimPause: .zero, freeOnClean: false))
        let nine = try line(9)
        let cleaned = CacheDirectory(name: "dir*", defaultTTL: .seconds(60))
        let neighbours = [
            CacheDirectory(name: "dir*x", defaultTTL: .seconds(60)),  // shares the prefix
            CacheDirectory(name: "dir", defaultTTL: .seconds(60)),
            CacheDirectory(name: "di?[r]\\", defaultTTL: .seconds(60)),  // glob characters
            CacheDirectory(name: "dir*:e:x", defaultTTL: .seconds(60)),  // our separator inside
        ]
        for index in 0..<200 {
            try await cache.set(index, key: "k\(index)", in: cleaned, line: nine)
            for neighbour in neighbours { try await cache.set(index, key: "k\(index)", in: neighbour, line: nine) }
        }
        try await cache.set(1, key: "k0", in: cleaned, line: line(10))  // another line, not cleaned
        try await cache.clean(cleaned, line: nine)
        try await cache.set(-1, key: "fresh", in: cleaned, line: nine)  // written after the clean

        let progress = try await cache.reclaim(cleaned, line: nine)
        #expect(progress.isComplete)
        #expect(progress.reclaimed == 200)
        #expect(try await cache.get(Int.self, key: "fresh", in: cleaned, line: nine) == -1)
        #expect(try await cache.get(Int.self, key: "k0", in: cleaned, line: line(10)) == 1)
        for neighbour in neighbours {
            for index in [0, 99, 199] {
                #expect(try await cache.get(Int.self, key: "k\(index)", in: neighbour, line: nine) == index)
            }
        }
        // Nothing of the cleaned generation is left in Redis.
        let pattern = fixture.keys.cacheEntryScanPattern(directory: cleaned.name, line: nine)
        var cursor = "0"
        var left: [String] = []
        repeat {
            let page = try await fixture.pool.scan(cursor: cursor, matching: pattern, count: 1000, type: nil)
            cursor = page.cursor
            left += page.keys
        } while cursor != "0"
        #expect(left.count == 1)
        await fixture.close()
    }

    @Test func reclaimIsResumable() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(
            fixture, options: LineCacheOptions(reclaimScanCount: 20, reclaimPause: .zero, freeOnClean: false))
        let eleven = try line(11)
        for index in 0..<300 { try await cache.set(index, key: "k\(index)", in: Self.widgets, line: eleven) }
        try await cache.clean(Self.widgets, line: eleven)
        var progress = try await cache.reclaim(Self.widgets, line: eleven, maxBatches: 2)
        var total = progress.reclaimed
        var passes = 1
        while !progress.isComplete {
            progress = try await cache.reclaim(Self.widgets, line: eleven, from: progress.cursor, maxBatches: 2)
            total += progress.reclaimed
            passes += 1
        }
        #expect(passes > 1)
        #expect(total == 300)
        await fixture.close()
    }

    @Test func badDataIsAMissOrAClearErrorNeverACrash() async throws {
        let fixture = try StatusFixture()
        let cache = makeCache(fixture, options: LineCacheOptions(maxValueBytes: 64))
        let twelve = try line(12)
        let directory = CacheDirectory.component.name
        // No generation prefix: removed, a miss.
        let raw = fixture.keys.cacheEntry(directory: directory, line: twelve, key: "raw")
        try await fixture.pool.send("SET", raw, "garbage without prefix")
        #expect(try await cache.get(String.self, key: "raw", in: .component, line: twelve) == nil)
        #expect(try await fixture.pool.send("EXISTS", raw).int == 0)
        // Right form, not the expected type: a miss, kept (another coder or type may own it).
        let wrongShape = fixture.keys.cacheEntry(directory: directory, line: twelve, key: "shape")
        let generation = try await cache.lookup(Int.self, key: "shape", in: .component, line: twelve).generation
        try await fixture.pool.send("SET", wrongShape, "\(generation):{\"not\":\"an int\"}")
        #expect(try await cache.get(Int.self, key: "shape", in: .component, line: twelve) == nil)
        #expect(try await fixture.pool.send("EXISTS", wrongShape).int == 1)
        // Oversize: refused before anything is sent.
        await #expect(throws: ConnectorStatusError.valueTooLarge(size: 102, limit: 64)) {
            try await cache.set(String(repeating: "x", count: 100), key: "big", in: .component, line: twelve)
        }
        #expect(
            try await fixture.pool.send(
                "EXISTS",
                fixture.keys.cacheEntry(
                    directory: directory, line: twelve, key: "big")
            ).int == 0)
        // Another type at our key: a read is a miss (MGET cannot tell), a write is a typed error,
        // and nothing is overwritten.
        let hash = fixture.keys.cacheEntry(directory: directory, line: twelve, key: "hash")
        try await fixture.pool.send("HSET", hash, "field", "value")
        #expect(try await cache.get(String.self, key: "hash", in: .component, line: twelve) == nil)
        await #expect {
            try await cache.set("mine", key: "hash", in: .component, line: twelve)
        } throws: { error in
            if case .wrongType = error as? ConnectorStatusError { return true }
            return false
        }
        await #expect {
            let _: String = try await cache.value(key: "hash", in: .component, line: twelve) { "computed" }
        } throws: { error in
            if case .wrongType = error as? ConnectorStatusError { return true }
            return false
        }
        #expect(try await fixture.pool.send("HGET", hash, "field").string == "value")
        await fixture.close()
    }

    @Test func acknowledgedWritesSurviveARedisRestart() async throws {
        // A server that persists every write, restarted between calls.
        let server = try await EmbeddedRedisServer.start(arguments: ["--appendonly", "yes", "--appendfsync", "always"])
        defer { server.stop() }
        let pool = try RedisConnectionPool(configuration: RedisConfiguration(url: server.url))
        let cache = LineCache(redis: pool, logger: Logger(label: "test"))
        let one = try line(1)
        #expect(try await cache.set("kept", key: "k", in: .component, line: one))
        server.kill()
        await #expect(throws: ConnectorStatusError.self) {
            try await cache.get(String.self, key: "k", in: .component, line: one)
        }
        try await server.restart()
        #expect(try await cache.get(String.self, key: "k", in: .component, line: one) == "kept")
        await pool.close()
    }

    /// A counter safe to bump from concurrent tasks.
    final class Counter: @unchecked Sendable {
        private let lock = NSLock()
        private var count = 0
        func increment() { lock.withLock { count += 1 } }
        var value: Int { lock.withLock { count } }
    }
}
